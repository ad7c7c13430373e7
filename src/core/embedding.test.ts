import { describe, expect, it } from "vitest";
import {
  base64ToFloat32,
  estimateEmbeddingTokens,
  float32ToBase64,
  isTokenInput,
  toFloat32,
} from "./embedding.js";

describe("embedding helpers", () => {
  it("base64 is the little-endian float32 bytes, and decodes back bit for bit", () => {
    const vector = new Float32Array([1, -0.5, 3.25e-7, -0, Number.MAX_VALUE]);
    const text = float32ToBase64(vector);
    const bytes = Buffer.from(text, "base64");
    expect(bytes.length).toBe(20);
    expect(bytes.readFloatLE(0)).toBe(1);
    expect(bytes.readFloatLE(4)).toBe(-0.5);
    expect([...new Uint8Array(base64ToFloat32(text)?.buffer ?? new ArrayBuffer(0))]).toEqual([
      ...new Uint8Array(vector.buffer),
    ]);
    expect(float32ToBase64(new Float32Array(0))).toBe("");
    expect(base64ToFloat32("")).toEqual(new Float32Array(0));
  });

  it("refuses base64 that is not whole float32 values", () => {
    expect(base64ToFloat32("AAA=")).toBeUndefined();
    expect(base64ToFloat32("not base64!")).toBeUndefined();
  });

  it("estimates a text as ceil(characters / 4) and a token array by its ids, at least 1 each", () => {
    expect(estimateEmbeddingTokens(["abcd", "abcde", "a"])).toBe(1 + 2 + 1);
    expect(estimateEmbeddingTokens([[1, 2, 3], [7]])).toBe(4);
    expect(estimateEmbeddingTokens([""])).toBe(1);
  });

  it("tells token arrays from texts", () => {
    expect(isTokenInput([[1, 2]])).toBe(true);
    expect(isTokenInput(["a"])).toBe(false);
    expect(isTokenInput([])).toBe(false);
  });

  it("takes finite numbers into a Float32Array and refuses anything else", () => {
    expect(toFloat32([0.5, -1, 2])).toEqual(new Float32Array([0.5, -1, 2]));
    expect(toFloat32([1, "2"])).toBeUndefined();
    expect(toFloat32([Number.NaN])).toBeUndefined();
    expect(toFloat32([Number.POSITIVE_INFINITY])).toBeUndefined();
  });
});
