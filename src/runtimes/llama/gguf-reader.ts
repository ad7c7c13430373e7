// inspectGguf: checks a GGUF model file before llama.cpp is given it. llama.cpp abort()s the whole
// process on some bad files (a missing llama.feed_forward_length, say), so the llama runner loads
// nothing this refuses. Reads the header, metadata and tensor infos through a bounded window of the
// file (never the tensor data, never the whole file) and checks the tensor data lies inside it.

import { type FileHandle, open } from "node:fs/promises";
import {
  alignUp,
  GgufValueType,
  ggmlTypeTraits,
  ggufDefaultAlignment,
  ggufMagic,
  ggufScalarSize,
  ggufValueTypeName,
} from "./gguf-format.js";

/** A metadata value as reported: scalars and short strings as they are, arrays and long strings summarized. */
export type GgufMetadataSummary =
  | number
  | bigint
  | boolean
  | string
  | { readonly kind: "array"; readonly elementType: string; readonly length: number }
  | { readonly kind: "long-string"; readonly length: number };

export interface GgufInfo {
  readonly version: number;
  /** `general.architecture`, e.g. `llama`, `qwen2`. */
  readonly architecture: string;
  /** `<arch>.context_length`: the context the model was trained for. */
  readonly contextLength: number;
  readonly embeddingLength: number;
  readonly blockCount: number;
  /** Entries of `tokenizer.ggml.tokens`. */
  readonly vocabSize: number;
  /** Whether `tokenizer.chat_template` is a non-empty string. */
  readonly hasChatTemplate: boolean;
  readonly tensorCount: number;
  /** `general.file_type` (llama.cpp's `llama_ftype`) when present. */
  readonly fileType?: number;
  readonly fileBytes: number;
  /** Every metadata key; arrays and strings over 256 bytes are summarized, not copied. */
  readonly metadata: Readonly<Record<string, GgufMetadataSummary>>;
}

export type GgufInspection =
  | { readonly ok: true; readonly info: GgufInfo }
  | { readonly ok: false; readonly reason: string };

/** Limits that keep a corrupt length from turning into a huge allocation or a long scan. */
export const ggufLimits = {
  maxTensors: 1_000_000,
  maxMetadataEntries: 1_000_000,
  maxArrayLength: 100_000_000,
  maxKeyBytes: 65_536,
  maxStringBytes: 64 * 1024 * 1024,
  /** ggml's GGML_MAX_NAME less the terminating NUL. */
  maxTensorNameBytes: 63,
  /** ggml's GGML_MAX_DIMS. */
  maxDimensions: 4,
} as const;

const shortStringBytes = 256;
const windowBytes = 64 * 1024;

/** Keys every llama-architecture model needs; llama.cpp aborts or fails without them. */
const llamaRequiredKeys = [
  "llama.context_length",
  "llama.embedding_length",
  "llama.block_count",
  "llama.feed_forward_length",
  "llama.attention.head_count",
  "llama.attention.layer_norm_rms_epsilon",
] as const;

/** Checks the GGUF file at `path`; never throws for a bad or missing file. */
export async function inspectGguf(path: string): Promise<GgufInspection> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, reason: `model file not found: ${path}` };
    return { ok: false, reason: `cannot read model file ${path}: ${code ?? (error as Error).message}` };
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { ok: false, reason: `model file ${path} is not a regular file` };
    const info = await parse(new WindowReader(handle, stats.size));
    return { ok: true, info };
  } catch (error) {
    if (error instanceof GgufProblem)
      return { ok: false, reason: `invalid GGUF file ${path}: ${error.message}` };
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, reason: `cannot read model file ${path}: ${code ?? (error as Error).message}` };
  } finally {
    await handle.close().catch(() => {});
  }
}

/** A refusal, with the reason shown to the operator. */
class GgufProblem extends Error {}

async function parse(reader: WindowReader): Promise<GgufInfo> {
  reader.section = "header";
  await reader.need(4);
  const magic = reader.u32();
  if (magic !== ggufMagic) {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE(magic);
    throw new GgufProblem(
      `not a GGUF file (starts with ${JSON.stringify(bytes.toString("latin1"))}, not "GGUF")`,
    );
  }
  await reader.need(4);
  const version = reader.u32();
  if (version !== 2 && version !== 3) {
    const hint = (version & 0xffff) === 0 ? " (a big-endian file?)" : "";
    throw new GgufProblem(`unsupported GGUF version ${version}${hint}; llama.cpp reads versions 2 and 3`);
  }
  await reader.need(16);
  const tensorCount = reader.count("tensor count", ggufLimits.maxTensors);
  const entryCount = reader.count("metadata entry count", ggufLimits.maxMetadataEntries);

  // No prototype: a key such as "__proto__" in the file is just a key.
  const metadata: Record<string, GgufMetadataSummary> = Object.create(null);
  const types = new Map<string, number>();
  for (let index = 0; index < entryCount; index++) {
    reader.section = `metadata entry ${index}`;
    const key = await reader.string(ggufLimits.maxKeyBytes);
    reader.section = `metadata entry ${index} (${key})`;
    if (types.has(key)) throw new GgufProblem(`duplicate metadata key ${key}`);
    await reader.need(4);
    const type = reader.u32();
    types.set(key, type);
    metadata[key] = await readValue(reader, type, key);
  }

  const alignment = dataAlignment(metadata["general.alignment"], types.get("general.alignment"));
  const tensors = await readTensorInfos(reader, tensorCount, alignment);
  checkTensorData(tensors, {
    dataStart: alignUp(reader.position, alignment),
    alignment,
    fileBytes: reader.fileBytes,
  });
  return describe(metadata, types, { version, tensorCount, fileBytes: reader.fileBytes });
}

/** `general.alignment` when set (a u32 power of two, as llama.cpp requires), else the default. */
function dataAlignment(value: GgufMetadataSummary | undefined, type: number | undefined): number {
  if (value === undefined) return ggufDefaultAlignment;
  if (type !== GgufValueType.U32 || typeof value !== "number" || value <= 0 || (value & (value - 1)) !== 0)
    throw new GgufProblem(`general.alignment must be a u32 power of two, got ${describeValue(value)}`);
  return value;
}

async function readValue(reader: WindowReader, type: number, key: string): Promise<GgufMetadataSummary> {
  if (type === GgufValueType.STRING) {
    const length = await reader.stringLength(ggufLimits.maxStringBytes);
    if (length > shortStringBytes) {
      await reader.skip(length);
      return { kind: "long-string", length };
    }
    await reader.need(length);
    return reader.utf8(length);
  }
  if (type === GgufValueType.ARRAY) {
    await reader.need(12);
    const elementType = reader.u32();
    const length = reader.count(`length of array ${key}`, ggufLimits.maxArrayLength);
    if (elementType === GgufValueType.STRING) {
      for (let i = 0; i < length; i++) {
        if (!reader.skipStringInWindow(ggufLimits.maxStringBytes))
          await reader.skip(await reader.stringLength(ggufLimits.maxStringBytes));
      }
    } else {
      const size = ggufScalarSize(elementType);
      if (size === undefined)
        throw new GgufProblem(
          `array ${key} has elements of unsupported type ${ggufValueTypeName(elementType)}`,
        );
      await reader.skip(size * length);
    }
    return { kind: "array", elementType: ggufValueTypeName(elementType), length };
  }
  const size = ggufScalarSize(type);
  if (size === undefined) throw new GgufProblem(`key ${key} has unknown value type ${type}`);
  await reader.need(size);
  return reader.scalar(type);
}

interface TensorInfo {
  readonly name: string;
  readonly offset: number;
  /** Bytes of data; undefined for a type whose size this reader does not know. */
  readonly bytes: number | undefined;
}

async function readTensorInfos(
  reader: WindowReader,
  count: number,
  alignment: number,
): Promise<TensorInfo[]> {
  const tensors: TensorInfo[] = [];
  const names = new Set<string>();
  for (let index = 0; index < count; index++) {
    reader.section = `tensor info ${index}`;
    const name = await reader.string(ggufLimits.maxKeyBytes);
    reader.section = `tensor info ${index} (${name})`;
    if (Buffer.byteLength(name) > ggufLimits.maxTensorNameBytes)
      throw new GgufProblem(`tensor name ${name} is longer than ${ggufLimits.maxTensorNameBytes} bytes`);
    if (names.has(name)) throw new GgufProblem(`duplicate tensor ${name}`);
    names.add(name);
    await reader.need(4);
    const dimensions = reader.u32();
    if (dimensions > ggufLimits.maxDimensions)
      throw new GgufProblem(
        `tensor ${name} has ${dimensions} dimensions (ggml allows ${ggufLimits.maxDimensions})`,
      );
    await reader.need(dimensions * 8 + 12);
    const shape: number[] = [];
    let elements = 1;
    for (let d = 0; d < dimensions; d++) {
      const n = reader.count(`dimension ${d} of tensor ${name}`, Number.MAX_SAFE_INTEGER);
      shape.push(n);
      elements *= n;
      if (elements > Number.MAX_SAFE_INTEGER) throw new GgufProblem(`tensor ${name} has too many elements`);
    }
    const type = reader.u32();
    const offset = reader.count(`data offset of tensor ${name}`, Number.MAX_SAFE_INTEGER);
    const traits = ggmlTypeTraits(type);
    if (traits === undefined)
      throw new GgufProblem(`tensor ${name} has unknown or removed ggml type ${type}`);
    if ((shape[0] ?? 1) % traits.blockSize !== 0)
      throw new GgufProblem(
        `tensor ${name} of type ${traits.name} has ne[0]=${shape[0]}, not a multiple of its block size ${traits.blockSize}`,
      );
    if (offset % alignment !== 0)
      throw new GgufProblem(
        `tensor ${name} has data offset ${offset}, not a multiple of the alignment ${alignment}`,
      );
    const bytes = traits.typeSize === undefined ? undefined : (elements / traits.blockSize) * traits.typeSize;
    tensors.push({ name, offset, bytes });
  }
  return tensors;
}

/** The data of every tensor must follow the previous one's (as llama.cpp requires) and end inside the file. */
function checkTensorData(
  tensors: readonly TensorInfo[],
  file: { dataStart: number; alignment: number; fileBytes: number },
): void {
  let expected: number | undefined = 0;
  for (const tensor of tensors) {
    if (expected !== undefined && tensor.offset !== expected)
      throw new GgufProblem(`tensor ${tensor.name} has data offset ${tensor.offset}, expected ${expected}`);
    const end = file.dataStart + tensor.offset + (tensor.bytes ?? 0);
    if (end > file.fileBytes)
      throw new GgufProblem(
        `truncated: the data of tensor ${tensor.name} ends at byte ${end}, but the file has ${file.fileBytes} bytes`,
      );
    expected = tensor.bytes === undefined ? undefined : alignUp(tensor.offset + tensor.bytes, file.alignment);
  }
}

function describe(
  metadata: Readonly<Record<string, GgufMetadataSummary>>,
  types: ReadonlyMap<string, number>,
  facts: { version: number; tensorCount: number; fileBytes: number },
): GgufInfo {
  const architecture = metadata["general.architecture"];
  if (architecture === undefined) throw new GgufProblem("missing required key general.architecture");
  if (typeof architecture !== "string" || architecture.length === 0)
    throw new GgufProblem("general.architecture must be a non-empty string");

  const required =
    architecture === "llama"
      ? llamaRequiredKeys
      : [`${architecture}.context_length`, `${architecture}.embedding_length`, `${architecture}.block_count`];
  for (const key of required) {
    if (!types.has(key)) throw new GgufProblem(`missing required key ${key}`);
    checkRequiredValue(key, metadata[key]);
  }

  const tokenizerModel = metadata["tokenizer.ggml.model"];
  if (tokenizerModel === undefined) throw new GgufProblem("missing required key tokenizer.ggml.model");
  if (typeof tokenizerModel !== "string") throw new GgufProblem("tokenizer.ggml.model must be a string");
  const tokens = metadata["tokenizer.ggml.tokens"];
  if (tokens === undefined) throw new GgufProblem("missing required key tokenizer.ggml.tokens");
  if (typeof tokens !== "object" || tokens.kind !== "array" || tokens.elementType !== "string")
    throw new GgufProblem("tokenizer.ggml.tokens must be an array of strings");
  if (tokens.length === 0) throw new GgufProblem("tokenizer.ggml.tokens is empty");

  const template = metadata["tokenizer.chat_template"];
  const fileType = metadata["general.file_type"];
  return {
    version: facts.version,
    architecture,
    contextLength: metadata[`${architecture}.context_length`] as number,
    embeddingLength: metadata[`${architecture}.embedding_length`] as number,
    blockCount: metadata[`${architecture}.block_count`] as number,
    vocabSize: tokens.length,
    hasChatTemplate:
      (typeof template === "string" && template.trim().length > 0) ||
      (typeof template === "object" && template.kind === "long-string"),
    tensorCount: facts.tensorCount,
    ...(typeof fileType === "number" ? { fileType } : {}),
    fileBytes: facts.fileBytes,
    metadata,
  };
}

/** head_count and feed_forward_length may also be per-layer arrays (llama.cpp's get_key_or_arr). */
const perLayerKeys = new Set(["llama.feed_forward_length", "llama.attention.head_count"]);
const integerTypes = new Set(["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"]);

function checkRequiredValue(key: string, value: GgufMetadataSummary | undefined): void {
  if (key.endsWith(".layer_norm_rms_epsilon")) {
    if (typeof value !== "number" || !(value > 0))
      throw new GgufProblem(`${key} must be a positive float, got ${describeValue(value)}`);
    return;
  }
  if (perLayerKeys.has(key) && typeof value === "object" && value.kind === "array") {
    if (!integerTypes.has(value.elementType) || value.length === 0)
      throw new GgufProblem(`${key} must be a positive integer or an array of integers`);
    return;
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0)
    throw new GgufProblem(`${key} must be a positive integer, got ${describeValue(value)}`);
}

function describeValue(value: GgufMetadataSummary | undefined): string {
  if (typeof value === "object")
    return value.kind === "array" ? `an array of ${value.elementType}` : "a long string";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** Sequential little-endian reads through a window of the file, refilled on demand. */
class WindowReader {
  /** What is being read, for the truncation message. */
  section = "header";
  position = 0;
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly fileBytes: number,
  ) {}

  /** Makes the next `bytes` bytes readable, or refuses the file as truncated. */
  async need(bytes: number): Promise<void> {
    const end = this.position + bytes;
    if (end <= this.windowStart + this.window.length) return;
    if (end > this.fileBytes)
      throw new GgufProblem(
        `truncated: ${this.section} runs past the end of the file (needs byte ${end}, the file has ${this.fileBytes})`,
      );
    const size = Math.min(Math.max(windowBytes, bytes), this.fileBytes - this.position);
    const window = size <= this.window.length ? this.window : Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await this.handle.read(window, filled, size - filled, this.position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < bytes) throw new GgufProblem(`truncated: the file shrank while ${this.section} was read`);
    this.window = window.subarray(0, filled);
    this.windowStart = this.position;
  }

  /** Moves past `bytes` bytes without reading them, or refuses the file as truncated. */
  async skip(bytes: number): Promise<void> {
    if (this.position + bytes > this.fileBytes) await this.need(bytes);
    this.position += bytes;
  }

  private at(bytes: number): number {
    const offset = this.position - this.windowStart;
    this.position += bytes;
    return offset;
  }

  u32(): number {
    return this.window.readUInt32LE(this.at(4));
  }

  /** A u64 that must be at most `max`. */
  count(what: string, max: number): number {
    const value = this.window.readBigUInt64LE(this.at(8));
    if (value > BigInt(max))
      throw new GgufProblem(`${what} is ${value}, more than the ${max} this reader accepts`);
    return Number(value);
  }

  async stringLength(max: number): Promise<number> {
    await this.need(8);
    const length = this.count(`length of a string in ${this.section}`, max);
    if (this.position + length > this.fileBytes) await this.need(length);
    return length;
  }

  /** Skips a string that lies wholly in the window, without awaiting; false (nothing read) if it does not. */
  skipStringInWindow(max: number): boolean {
    const offset = this.position - this.windowStart;
    if (offset + 8 > this.window.length) return false;
    const length = this.window.readBigUInt64LE(offset);
    if (length > BigInt(max) || offset + 8 + Number(length) > this.window.length) return false;
    this.position += 8 + Number(length);
    return true;
  }

  async string(max: number): Promise<string> {
    const length = await this.stringLength(max);
    await this.need(length);
    return this.utf8(length);
  }

  utf8(length: number): string {
    const start = this.at(length);
    return this.window.toString("utf8", start, start + length);
  }

  scalar(type: number): number | bigint | boolean {
    switch (type) {
      case GgufValueType.U8:
        return this.window.readUInt8(this.at(1));
      case GgufValueType.I8:
        return this.window.readInt8(this.at(1));
      case GgufValueType.BOOL:
        return this.window.readUInt8(this.at(1)) !== 0;
      case GgufValueType.U16:
        return this.window.readUInt16LE(this.at(2));
      case GgufValueType.I16:
        return this.window.readInt16LE(this.at(2));
      case GgufValueType.U32:
        return this.window.readUInt32LE(this.at(4));
      case GgufValueType.I32:
        return this.window.readInt32LE(this.at(4));
      case GgufValueType.F32:
        return this.window.readFloatLE(this.at(4));
      case GgufValueType.F64:
        return this.window.readDoubleLE(this.at(8));
      case GgufValueType.U64:
        return safeNumber(this.window.readBigUInt64LE(this.at(8)));
      default:
        return safeNumber(this.window.readBigInt64LE(this.at(8)));
    }
  }
}

function safeNumber(value: bigint): number | bigint {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(value)
    : value;
}
