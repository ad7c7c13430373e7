import { describe, expect, it } from "vitest";
import { chatTurnEnd, chatTurnStart, generatedVocabulary } from "./generated-vocabulary.js";
import { TokenType } from "./gguf-format.js";
import { modelSizes } from "./random-llama-model.js";

describe("generatedVocabulary", () => {
  it.each(Object.entries(modelSizes))(
    "has exactly the %s model's vocabulary size, without duplicates",
    (_, dims) => {
      const vocabulary = generatedVocabulary(dims.vocabulary);
      expect(vocabulary.tokens).toHaveLength(dims.vocabulary);
      expect(vocabulary.scores).toHaveLength(dims.vocabulary);
      expect(vocabulary.types).toHaveLength(dims.vocabulary);
      expect(new Set(vocabulary.tokens).size).toBe(dims.vocabulary);
    },
  );

  it("lays out <unk>, <s>, </s>, the 256 byte tokens and the ChatML markers as llama.cpp expects", () => {
    const { tokens, types, unknownId, bosId, eosId } = generatedVocabulary(1024);
    expect([tokens[unknownId], tokens[bosId], tokens[eosId]]).toEqual(["<unk>", "<s>", "</s>"]);
    expect(types.slice(0, 3)).toEqual([TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]);
    expect(tokens[3]).toBe("<0x00>");
    expect(tokens[3 + 0x0a]).toBe("<0x0A>");
    expect(tokens[258]).toBe("<0xFF>");
    expect(types.slice(3, 259).every((type) => type === TokenType.BYTE)).toBe(true);
    expect(tokens.slice(259, 261)).toEqual([chatTurnStart, chatTurnEnd]);
    expect(types.slice(259, 261)).toEqual([TokenType.CONTROL, TokenType.CONTROL]);
  });

  it("gives the normal pieces descending scores, ▁ and printable ASCII first, then whole words", () => {
    const { tokens, scores, types } = generatedVocabulary(4096);
    const normal = types.flatMap((type, id) => (type === TokenType.NORMAL ? [id] : []));
    expect(normal[0]).toBe(261);
    expect(tokens[261]).toBe("\u2581");
    const descending = normal.every((id, i) => i === 0 || scores[id]! < scores[normal[i - 1]!]!);
    expect(descending).toBe(true);
    for (const piece of ["a", "Z", "~", "\u2581the", "\u2581Hello", "\u2581model", "ing"])
      expect(tokens).toContain(piece);
  });

  it("refuses a size too small for the fixed tokens", () => {
    expect(() => generatedVocabulary(300)).toThrow(RangeError);
  });
});
