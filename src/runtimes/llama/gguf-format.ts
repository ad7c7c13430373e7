// The GGUF (version 3) file format as far as this runtime writes and checks it: the metadata value
// types and the ggml tensor types with their block sizes. Shared by the writer that generates the
// embedded model and by the reader that checks any model file before llama.cpp is given it.

/** The four bytes every GGUF file starts with ("GGUF" read as a little-endian u32). */
export const ggufMagic = 0x46554747;

/** The one GGUF version this runtime writes; the reader accepts versions 2 and 3 (llama.cpp's set). */
export const ggufVersion = 3;

/** The data section's alignment when a file sets no `general.alignment`. */
export const ggufDefaultAlignment = 32;

/** Metadata value type codes, as stored in a key/value entry. */
export const GgufValueType = {
  U8: 0,
  I8: 1,
  U16: 2,
  I16: 3,
  U32: 4,
  I32: 5,
  F32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  U64: 10,
  I64: 11,
  F64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

const valueTypeNames: Record<number, string> = Object.fromEntries(
  Object.entries(GgufValueType).map(([name, code]) => [code, name.toLowerCase()]),
);

/** `u32`, `string`, ... for a value type code; `type N` for an unknown one. */
export function ggufValueTypeName(type: number): string {
  return valueTypeNames[type] ?? `type ${type}`;
}

/** Bytes of one scalar of a fixed-size value type; undefined for STRING and ARRAY. */
export function ggufScalarSize(type: number): number | undefined {
  switch (type) {
    case GgufValueType.U8:
    case GgufValueType.I8:
    case GgufValueType.BOOL:
      return 1;
    case GgufValueType.U16:
    case GgufValueType.I16:
      return 2;
    case GgufValueType.U32:
    case GgufValueType.I32:
    case GgufValueType.F32:
      return 4;
    case GgufValueType.U64:
    case GgufValueType.I64:
    case GgufValueType.F64:
      return 8;
    default:
      return undefined;
  }
}

/** The ggml tensor types the generated model uses. */
export const GgmlType = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

/** Values per quantization block of Q8_0, and bytes per block (f16 scale + 32 int8). */
export const q8_0BlockValues = 32;
export const q8_0BlockBytes = 34;

export interface GgmlTypeTraits {
  readonly name: string;
  /** Values per block along `ne[0]`; `ne[0]` must be a multiple of it. */
  readonly blockSize: number;
  /** Bytes per block; undefined for a type llama.cpp knows whose size this table does not. */
  readonly typeSize: number | undefined;
}

// ggml's type_traits (ggml.c): [name, block size, bytes per block]. Codes 4, 5, 31–33 and 36–38 are
// types ggml removed and refuses; they are absent here, as are codes above the last one known.
const ggmlTypeTable: Readonly<Record<number, readonly [string, number, number | undefined]>> = {
  0: ["F32", 1, 4],
  1: ["F16", 1, 2],
  2: ["Q4_0", 32, 18],
  3: ["Q4_1", 32, 20],
  6: ["Q5_0", 32, 22],
  7: ["Q5_1", 32, 24],
  8: ["Q8_0", 32, 34],
  9: ["Q8_1", 32, 36],
  10: ["Q2_K", 256, 84],
  11: ["Q3_K", 256, 110],
  12: ["Q4_K", 256, 144],
  13: ["Q5_K", 256, 176],
  14: ["Q6_K", 256, 210],
  15: ["Q8_K", 256, 292],
  16: ["IQ2_XXS", 256, 66],
  17: ["IQ2_XS", 256, 74],
  18: ["IQ3_XXS", 256, 98],
  19: ["IQ1_S", 256, 50],
  20: ["IQ4_NL", 32, 18],
  21: ["IQ3_S", 256, 110],
  22: ["IQ2_S", 256, 82],
  23: ["IQ4_XS", 256, 136],
  24: ["I8", 1, 1],
  25: ["I16", 1, 2],
  26: ["I32", 1, 4],
  27: ["I64", 1, 8],
  28: ["F64", 1, 8],
  29: ["IQ1_M", 256, 56],
  30: ["BF16", 1, 2],
  34: ["TQ1_0", 256, 54],
  35: ["TQ2_0", 256, 66],
  39: ["MXFP4", 32, 17],
  // Newer types of the llama.cpp bundled with node-llama-cpp 3.21.1; their layout is not checked here.
  40: ["NVFP4", 1, undefined],
  41: ["Q1_0", 1, undefined],
  42: ["Q2_0", 1, undefined],
};

/** The traits of a ggml type code, or undefined for a code llama.cpp does not load. */
export function ggmlTypeTraits(type: number): GgmlTypeTraits | undefined {
  const entry = ggmlTypeTable[type];
  return entry === undefined ? undefined : { name: entry[0], blockSize: entry[1], typeSize: entry[2] };
}

/** `general.file_type` values (llama.cpp's `llama_ftype`) for the generated model's quantizations. */
export const LlamaFileType = { ALL_F32: 0, MOSTLY_F16: 1, MOSTLY_Q8_0: 7 } as const;

/** llama.cpp's token types (`tokenizer.ggml.token_type`). */
export const TokenType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type TokenType = (typeof TokenType)[keyof typeof TokenType];

/** Rounds `value` up to a multiple of `alignment`. */
export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}
