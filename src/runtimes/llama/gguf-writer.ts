// Writes a GGUF version 3 file from a spec: metadata entries, tensor infos, then each tensor's data
// streamed to disk chunk by chunk (never the whole file in memory). Used by make-model to write the
// generated llama model; tests use it to write deliberately broken variants.

import { open, rename, rm } from "node:fs/promises";
import {
  alignUp,
  type GgmlType,
  GgufValueType,
  ggmlTypeTraits,
  ggufDefaultAlignment,
  ggufMagic,
  ggufVersion,
} from "./gguf-format.js";

/** A metadata value with its GGUF type. */
export type GgufWriteValue =
  | { readonly type: "u32" | "i32" | "f32"; readonly value: number }
  | { readonly type: "u64"; readonly value: number | bigint }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "string[]"; readonly value: readonly string[] }
  | { readonly type: "f32[]" | "i32[]" | "u32[]"; readonly value: readonly number[] };

export interface GgufMetadataEntry {
  readonly key: string;
  readonly value: GgufWriteValue;
}

export interface GgufTensorSpec {
  readonly name: string;
  /** ggml's `ne`: `shape[0]` is the innermost (row) dimension. */
  readonly shape: readonly number[];
  readonly type: GgmlType;
  /**
   * Called once by the writer, in tensor order, when this tensor's data is due: yields its encoded
   * bytes in chunks of any size (the writer awaits each write before asking for the next chunk).
   * The chunks must add up to exactly the tensor's size.
   */
  readonly data: () => Iterable<Uint8Array>;
}

export interface GgufFileSpec {
  readonly metadata: readonly GgufMetadataEntry[];
  readonly tensors: readonly GgufTensorSpec[];
  /** The data section's alignment; must match a `general.alignment` entry when one is present. */
  readonly alignment?: number;
}

/** Bytes of a tensor's data, from its shape and type. */
export function ggufTensorBytes(tensor: Pick<GgufTensorSpec, "name" | "shape" | "type">): number {
  const traits = ggmlTypeTraits(tensor.type);
  if (traits?.typeSize === undefined)
    throw new RangeError(`tensor ${tensor.name}: unknown type ${tensor.type}`);
  const [rowLength = 1] = tensor.shape;
  if (rowLength % traits.blockSize !== 0)
    throw new RangeError(
      `tensor ${tensor.name}: ne[0]=${rowLength} is not a multiple of ${traits.blockSize}`,
    );
  const elements = tensor.shape.reduce((product, n) => product * n, 1);
  return (elements / traits.blockSize) * traits.typeSize;
}

/**
 * Writes `spec` to `path` (through a temporary file renamed into place, so a crash never leaves a
 * half-written model under the final name). Returns the file's size in bytes.
 */
export async function writeGguf(path: string, spec: GgufFileSpec): Promise<number> {
  const alignment = spec.alignment ?? ggufDefaultAlignment;
  const header = new ByteBuilder();
  header.u32(ggufMagic);
  header.u32(ggufVersion);
  header.u64(spec.tensors.length);
  header.u64(spec.metadata.length);
  for (const entry of spec.metadata) {
    header.string(entry.key);
    writeValue(header, entry.value);
  }
  let dataBytes = 0;
  const sizes: number[] = [];
  for (const tensor of spec.tensors) {
    const size = ggufTensorBytes(tensor);
    header.string(tensor.name);
    header.u32(tensor.shape.length);
    for (const n of tensor.shape) header.u64(n);
    header.u32(tensor.type);
    header.u64(dataBytes);
    sizes.push(size);
    dataBytes = alignUp(dataBytes + size, alignment);
  }
  header.zeros(alignUp(header.length, alignment) - header.length);

  const temporaryPath = `${path}.${process.pid}.partial`;
  const handle = await open(temporaryPath, "w");
  let written = 0;
  try {
    const write = async (bytes: Uint8Array): Promise<void> => {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.length - done);
        done += bytesWritten;
      }
      written += bytes.length;
    };
    await write(header.bytes());
    for (const [index, tensor] of spec.tensors.entries()) {
      const start = written;
      for (const chunk of tensor.data()) await write(chunk);
      const size = sizes[index]!;
      if (written - start !== size)
        throw new Error(`tensor ${tensor.name}: data is ${written - start} bytes, expected ${size}`);
      await write(new Uint8Array(alignUp(size, alignment) - size));
    }
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temporaryPath, { force: true });
    throw error;
  }
  await rename(temporaryPath, path);
  return written;
}

function writeValue(out: ByteBuilder, value: GgufWriteValue): void {
  switch (value.type) {
    case "u32":
      out.u32(GgufValueType.U32);
      out.u32(value.value);
      return;
    case "i32":
      out.u32(GgufValueType.I32);
      out.i32(value.value);
      return;
    case "f32":
      out.u32(GgufValueType.F32);
      out.f32(value.value);
      return;
    case "u64":
      out.u32(GgufValueType.U64);
      out.u64(value.value);
      return;
    case "bool":
      out.u32(GgufValueType.BOOL);
      out.u8(value.value ? 1 : 0);
      return;
    case "string":
      out.u32(GgufValueType.STRING);
      out.string(value.value);
      return;
    case "string[]":
      out.u32(GgufValueType.ARRAY);
      out.u32(GgufValueType.STRING);
      out.u64(value.value.length);
      for (const item of value.value) out.string(item);
      return;
    case "f32[]":
    case "i32[]":
    case "u32[]": {
      const elementType = {
        "f32[]": GgufValueType.F32,
        "i32[]": GgufValueType.I32,
        "u32[]": GgufValueType.U32,
      }[value.type];
      out.u32(GgufValueType.ARRAY);
      out.u32(elementType);
      out.u64(value.value.length);
      for (const item of value.value) {
        if (elementType === GgufValueType.F32) out.f32(item);
        else if (elementType === GgufValueType.I32) out.i32(item);
        else out.u32(item);
      }
      return;
    }
  }
}

/**
 * A growable little-endian byte buffer for the header, metadata and tensor infos. Every write
 * reserves first: reserving may replace the buffer and its view.
 */
class ByteBuilder {
  private buffer = new Uint8Array(64 * 1024);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(bytes: number): number {
    const at = this.length;
    if (at + bytes > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, at + bytes));
      grown.set(this.buffer.subarray(0, at));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += bytes;
    return at;
  }

  u8(value: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, value);
  }
  u32(value: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, value, true);
  }
  i32(value: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, value, true);
  }
  f32(value: number): void {
    const at = this.reserve(4);
    this.view.setFloat32(at, value, true);
  }
  u64(value: number | bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(value), true);
  }
  string(value: string): void {
    const encoded = Buffer.from(value, "utf8");
    this.u64(encoded.length);
    const at = this.reserve(encoded.length);
    this.buffer.set(encoded, at);
  }
  zeros(count: number): void {
    this.reserve(count);
  }
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}
