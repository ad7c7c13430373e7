// Encodes rows of float32 weights as the ggml tensor types the generated model uses: F32, F16 and
// Q8_0 (blocks of 32 values: an f16 scale, then 32 int8). Little-endian, as GGUF requires.

import { GgmlType, q8_0BlockBytes, q8_0BlockValues } from "./gguf-format.js";

const floatView = new Float32Array(1);
const bitsView = new Uint32Array(floatView.buffer);

/** The IEEE half-precision bits of `value`, rounded to nearest even (Node 20 has no Float16Array). */
export function float32ToHalf(value: number): number {
  floatView[0] = value;
  const bits = bitsView[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** The float value of half-precision bits (used by tests to check the encoders). */
export function halfToFloat32(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Bytes one row of `values` values takes in `type`. */
export function encodedRowBytes(type: GgmlType, values: number): number {
  switch (type) {
    case GgmlType.F32:
      return values * 4;
    case GgmlType.F16:
      return values * 2;
    case GgmlType.Q8_0:
      if (values % q8_0BlockValues !== 0)
        throw new RangeError(`Q8_0 needs a row length that is a multiple of 32, got ${values}`);
      return (values / q8_0BlockValues) * q8_0BlockBytes;
  }
}

/** Writes `row` encoded as `type` into `out` at byte `offset`; returns the offset after it. */
export function encodeRow(type: GgmlType, row: Float32Array, out: DataView, offset: number): number {
  switch (type) {
    case GgmlType.F32:
      for (let i = 0; i < row.length; i++) out.setFloat32(offset + i * 4, row[i]!, true);
      return offset + row.length * 4;
    case GgmlType.F16:
      for (let i = 0; i < row.length; i++) out.setUint16(offset + i * 2, float32ToHalf(row[i]!), true);
      return offset + row.length * 2;
    case GgmlType.Q8_0:
      return encodeRowQ8_0(row, out, offset);
  }
}

// ggml's quantize_row_q8_0_ref: d = max|x| / 127 stored as f16, q = round(x / d) (half away from 0).
function encodeRowQ8_0(row: Float32Array, out: DataView, offset: number): number {
  if (row.length % q8_0BlockValues !== 0)
    throw new RangeError(`Q8_0 needs a row length that is a multiple of 32, got ${row.length}`);
  const quants = new Int8Array(out.buffer, out.byteOffset, out.byteLength);
  let at = offset;
  for (let block = 0; block < row.length; block += q8_0BlockValues) {
    let maxAbs = 0;
    for (let i = block; i < block + q8_0BlockValues; i++) {
      const magnitude = Math.abs(row[i]!);
      if (magnitude > maxAbs) maxAbs = magnitude;
    }
    const scale = maxAbs / 127;
    const inverse = scale === 0 ? 0 : 1 / scale;
    out.setUint16(at, float32ToHalf(scale), true);
    at += 2;
    for (let i = 0; i < q8_0BlockValues; i++) {
      const scaled = row[block + i]! * inverse;
      // Truncating after adding ±0.5 rounds half away from zero, like C's roundf.
      quants[at + i] = (scaled + (scaled < 0 ? -0.5 : 0.5)) | 0;
    }
    at += q8_0BlockValues;
  }
  return at;
}
