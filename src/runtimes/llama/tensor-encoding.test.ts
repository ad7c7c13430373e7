import { describe, expect, it } from "vitest";
import { GgmlType } from "./gguf-format.js";
import { encodedRowBytes, encodeRow, float32ToHalf, halfToFloat32 } from "./tensor-encoding.js";

describe("float32ToHalf", () => {
  it("encodes exact values, infinities and NaN", () => {
    expect(float32ToHalf(0)).toBe(0x0000);
    expect(float32ToHalf(-0)).toBe(0x8000);
    expect(float32ToHalf(1)).toBe(0x3c00);
    expect(float32ToHalf(-2)).toBe(0xc000);
    expect(float32ToHalf(65504)).toBe(0x7bff);
    expect(float32ToHalf(2 ** -24)).toBe(0x0001);
    expect(float32ToHalf(2 ** -14)).toBe(0x0400);
    expect(float32ToHalf(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(float32ToHalf(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(float32ToHalf(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToHalf(Number.NaN) & 0x3ff).not.toBe(0);
  });

  it("rounds to nearest, ties to even, overflowing to infinity and underflowing to zero", () => {
    expect(float32ToHalf(0.1)).toBe(0x2e66);
    expect(float32ToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie, even stays
    expect(float32ToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, odd rounds up
    expect(float32ToHalf(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(float32ToHalf(65520)).toBe(0x7c00);
    expect(float32ToHalf(2 ** -26)).toBe(0x0000);
    expect(float32ToHalf(3 * 2 ** -26)).toBe(0x0001); // subnormal, above the tie
  });

  it("round-trips every finite half value", () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue;
      if (float32ToHalf(halfToFloat32(bits)) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });
});

describe("encodeRow", () => {
  it("writes Q8_0 blocks as an f16 scale max|x|/127 and 32 rounded int8", () => {
    const row = new Float32Array(64).map((_, i) => (i < 32 ? (i - 16) / 8 : 0));
    const out = new DataView(new ArrayBuffer(encodedRowBytes(GgmlType.Q8_0, 64)));
    expect(encodeRow(GgmlType.Q8_0, row, out, 0)).toBe(68);
    const scale = halfToFloat32(out.getUint16(0, true));
    expect(scale).toBeCloseTo(2 / 127, 4);
    for (let i = 0; i < 32; i++) {
      const quantized = out.getInt8(2 + i);
      expect(Math.abs(quantized * scale - row[i]!)).toBeLessThanOrEqual(scale / 2 + 1e-6);
    }
    expect(out.getInt8(2)).toBe(-127);
    expect(out.getUint16(34, true)).toBe(0); // an all-zero block has scale 0
  });

  it("writes F16 and F32 little-endian", () => {
    const row = new Float32Array([1, -2]);
    const half = new DataView(new ArrayBuffer(4));
    encodeRow(GgmlType.F16, row, half, 0);
    expect([half.getUint16(0, true), half.getUint16(2, true)]).toEqual([0x3c00, 0xc000]);
    const single = new DataView(new ArrayBuffer(8));
    encodeRow(GgmlType.F32, row, single, 0);
    expect([single.getFloat32(0, true), single.getFloat32(4, true)]).toEqual([1, -2]);
  });

  it("refuses Q8_0 rows whose length is not a multiple of 32", () => {
    expect(() => encodedRowBytes(GgmlType.Q8_0, 48)).toThrow(/multiple of 32/);
  });
});
