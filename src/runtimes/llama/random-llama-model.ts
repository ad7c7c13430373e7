// The generated model (docs/architecture.md): a real llama-architecture GGUF spec with seeded random weights
// (normal, std 1/√fan_in; norms are ones in F32) and the generated vocabulary with a ChatML chat
// template. Its output is arbitrary tokens, but llama.cpp loads and runs it like any llama model.
// The output-head rows of its end-of-generation tokens (`</s>`, `<|im_end|>`) are zero, so their
// logit is always 0, below the top-k of the random logits: a reply ends at max_tokens or a stop
// string, never by chance on its first token.

import { chatTurnEnd, generatedVocabulary } from "./generated-vocabulary.js";
import { GgmlType, LlamaFileType } from "./gguf-format.js";
import type { GgufFileSpec, GgufMetadataEntry, GgufTensorSpec } from "./gguf-writer.js";
import { SeededRandom } from "./seeded-random.js";
import { encodedRowBytes, encodeRow } from "./tensor-encoding.js";

export type ModelSize = "tiny" | "small" | "medium";
export type ModelQuant = "f16" | "q8_0";

export const modelSizeNames: readonly ModelSize[] = ["tiny", "small", "medium"];
export const modelQuantNames: readonly ModelQuant[] = ["f16", "q8_0"];

export interface ModelDimensions {
  readonly embedding: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly feedForward: number;
  readonly vocabulary: number;
  /** No `output.weight`: llama.cpp reuses the token embedding as the output head. */
  readonly tiedEmbeddings: boolean;
}

/**
 * The sizes `rakka make-model` writes. File sizes (Q8_0 / F16): tiny 0.7 / 1.3 MB, small 40 / 76 MB,
 * medium 134 / 252 MB.
 */
export const modelSizes: Readonly<Record<ModelSize, ModelDimensions>> = {
  tiny: {
    embedding: 128,
    layers: 2,
    heads: 4,
    kvHeads: 4,
    feedForward: 512,
    vocabulary: 1024,
    tiedEmbeddings: true,
  },
  small: {
    embedding: 512,
    layers: 8,
    heads: 8,
    kvHeads: 8,
    feedForward: 2048,
    vocabulary: 4096,
    tiedEmbeddings: false,
  },
  medium: {
    embedding: 768,
    layers: 12,
    heads: 12,
    kvHeads: 12,
    feedForward: 3072,
    vocabulary: 8192,
    tiedEmbeddings: false,
  },
};

/** The context length the generated model declares (`llama.context_length`). */
export const generatedContextLength = 2048;

/** ChatML, which node-llama-cpp recognizes as its ChatMLChatWrapper. */
export const generatedChatTemplate =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface RandomLlamaModelOptions {
  readonly size: ModelSize;
  readonly seed: number;
  readonly quant: ModelQuant;
}

const noRows: ReadonlySet<number> = new Set();

/** Rows generated per data chunk: about 1 MiB of encoded bytes. */
const chunkTargetBytes = 1 << 20;

/** A single-use spec: its tensors draw from one seeded PRNG as the writer asks for them in order. */
export function randomLlamaModel(options: RandomLlamaModelOptions): GgufFileSpec {
  const dims = modelSizes[options.size];
  const headDim = dims.embedding / dims.heads;
  const vocabulary = generatedVocabulary(dims.vocabulary);
  const weightType = options.quant === "q8_0" ? GgmlType.Q8_0 : GgmlType.F16;
  const metadata: GgufMetadataEntry[] = [
    { key: "general.architecture", value: { type: "string", value: "llama" } },
    { key: "general.name", value: { type: "string", value: `rakka generated ${options.size}` } },
    { key: "general.description", value: { type: "string", value: `random weights, seed ${options.seed}` } },
    {
      key: "general.file_type",
      value: {
        type: "u32",
        value: options.quant === "q8_0" ? LlamaFileType.MOSTLY_Q8_0 : LlamaFileType.MOSTLY_F16,
      },
    },
    { key: "general.alignment", value: { type: "u32", value: 32 } },
    { key: "llama.context_length", value: { type: "u32", value: generatedContextLength } },
    { key: "llama.embedding_length", value: { type: "u32", value: dims.embedding } },
    { key: "llama.block_count", value: { type: "u32", value: dims.layers } },
    { key: "llama.feed_forward_length", value: { type: "u32", value: dims.feedForward } },
    { key: "llama.attention.head_count", value: { type: "u32", value: dims.heads } },
    { key: "llama.attention.head_count_kv", value: { type: "u32", value: dims.kvHeads } },
    { key: "llama.attention.layer_norm_rms_epsilon", value: { type: "f32", value: 1e-5 } },
    { key: "llama.rope.dimension_count", value: { type: "u32", value: headDim } },
    { key: "llama.rope.freq_base", value: { type: "f32", value: 10000 } },
    { key: "llama.vocab_size", value: { type: "u32", value: dims.vocabulary } },
    { key: "tokenizer.ggml.model", value: { type: "string", value: "llama" } },
    { key: "tokenizer.ggml.tokens", value: { type: "string[]", value: vocabulary.tokens } },
    { key: "tokenizer.ggml.scores", value: { type: "f32[]", value: vocabulary.scores } },
    { key: "tokenizer.ggml.token_type", value: { type: "i32[]", value: vocabulary.types } },
    { key: "tokenizer.ggml.bos_token_id", value: { type: "u32", value: vocabulary.bosId } },
    { key: "tokenizer.ggml.eos_token_id", value: { type: "u32", value: vocabulary.eosId } },
    { key: "tokenizer.ggml.unknown_token_id", value: { type: "u32", value: vocabulary.unknownId } },
    { key: "tokenizer.ggml.add_bos_token", value: { type: "bool", value: true } },
    { key: "tokenizer.ggml.add_eos_token", value: { type: "bool", value: false } },
    { key: "tokenizer.chat_template", value: { type: "string", value: generatedChatTemplate } },
  ];

  // One PRNG for the whole file, consumed in tensor order when the writer asks for each tensor, and
  // one chunk buffer, refilled per chunk: the writer has written a chunk before it asks for the next.
  const random = new SeededRandom(options.seed);
  const scratch = new Uint8Array(chunkTargetBytes);
  const norm = (name: string): GgufTensorSpec => ({
    name,
    shape: [dims.embedding],
    type: GgmlType.F32,
    data: () => onesF32(dims.embedding),
  });
  const weight = (
    name: string,
    inputs: number,
    outputs: number,
    zeroRows: ReadonlySet<number> = noRows,
  ): GgufTensorSpec => ({
    name,
    shape: [inputs, outputs],
    type: weightType,
    data: () => randomRows(random, scratch, weightType, inputs, outputs, zeroRows),
  });
  const endRows = new Set([vocabulary.eosId, vocabulary.tokens.indexOf(chatTurnEnd)]);
  const kvWidth = headDim * dims.kvHeads;
  const tensors: GgufTensorSpec[] = [
    weight("token_embd.weight", dims.embedding, dims.vocabulary, dims.tiedEmbeddings ? endRows : noRows),
  ];
  for (let layer = 0; layer < dims.layers; layer++) {
    const block = `blk.${layer}`;
    tensors.push(
      norm(`${block}.attn_norm.weight`),
      weight(`${block}.attn_q.weight`, dims.embedding, dims.embedding),
      weight(`${block}.attn_k.weight`, dims.embedding, kvWidth),
      weight(`${block}.attn_v.weight`, dims.embedding, kvWidth),
      weight(`${block}.attn_output.weight`, dims.embedding, dims.embedding),
      norm(`${block}.ffn_norm.weight`),
      weight(`${block}.ffn_gate.weight`, dims.embedding, dims.feedForward),
      weight(`${block}.ffn_up.weight`, dims.embedding, dims.feedForward),
      weight(`${block}.ffn_down.weight`, dims.feedForward, dims.embedding),
    );
  }
  tensors.push(norm("output_norm.weight"));
  if (!dims.tiedEmbeddings) tensors.push(weight("output.weight", dims.embedding, dims.vocabulary, endRows));
  return { metadata, tensors, alignment: 32 };
}

function* onesF32(length: number): Iterable<Uint8Array> {
  const bytes = new Uint8Array(length * 4);
  encodeRow(GgmlType.F32, new Float32Array(length).fill(1), new DataView(bytes.buffer), 0);
  yield bytes;
}

function* randomRows(
  random: SeededRandom,
  scratch: Uint8Array,
  type: GgmlType,
  inputs: number,
  outputs: number,
  zeroRows: ReadonlySet<number>,
): Iterable<Uint8Array> {
  const std = 1 / Math.sqrt(inputs);
  const rowBytes = encodedRowBytes(type, inputs);
  const rowsPerChunk = Math.max(1, Math.floor(chunkTargetBytes / rowBytes));
  const row = new Float32Array(inputs);
  const buffer =
    scratch.length >= rowsPerChunk * rowBytes ? scratch : new Uint8Array(rowsPerChunk * rowBytes);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  for (let first = 0; first < outputs; first += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, outputs - first);
    for (let r = 0; r < rows; r++) {
      random.fillNormal(row, std); // drawn for zero rows too, so the other weights stay the same
      if (zeroRows.has(first + r)) row.fill(0);
      encodeRow(type, row, view, r * rowBytes);
    }
    yield buffer.subarray(0, rows * rowBytes);
  }
}
