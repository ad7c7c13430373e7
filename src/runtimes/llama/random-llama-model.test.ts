import { describe, expect, it } from "vitest";
import { chatTurnEnd, generatedVocabulary } from "./generated-vocabulary.js";
import { modelSizes, randomLlamaModel } from "./random-llama-model.js";

function tensorBytes(data: Iterable<Uint8Array>): Uint8Array {
  const chunks = [...data].map((chunk) => chunk.slice());
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

describe("randomLlamaModel", () => {
  it("zeroes the output-head rows of the end-of-generation tokens, and only those", () => {
    const dims = modelSizes.tiny;
    expect(dims.tiedEmbeddings).toBe(true); // token_embd is the output head
    const spec = randomLlamaModel({ size: "tiny", seed: 5, quant: "f16" });
    const embeddings = spec.tensors[0];
    expect(embeddings?.name).toBe("token_embd.weight");
    const bytes = tensorBytes(embeddings?.data() ?? []);
    const rowBytes = dims.embedding * 2;
    expect(bytes.length).toBe(rowBytes * dims.vocabulary);
    const vocabulary = generatedVocabulary(dims.vocabulary);
    const zeroRows = new Set([vocabulary.eosId, vocabulary.tokens.indexOf(chatTurnEnd)]);
    expect(zeroRows.size).toBe(2);
    for (let row = 0; row < dims.vocabulary; row++) {
      const zero = bytes.subarray(row * rowBytes, (row + 1) * rowBytes).every((byte) => byte === 0);
      expect(zero, `row ${row}`).toBe(zeroRows.has(row));
    }
  });
});
