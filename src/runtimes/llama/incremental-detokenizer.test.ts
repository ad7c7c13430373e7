import { describe, expect, it } from "vitest";
import { IncrementalDetokenizer } from "./incremental-detokenizer.js";

// A byte-level vocabulary: token n is the byte n.
const bytes = (tokens: readonly number[]) => Buffer.from(tokens).toString("utf8");
const tokensOf = (text: string) => [...Buffer.from(text, "utf8")];

describe("IncrementalDetokenizer", () => {
  it("holds a UTF-8 character split across tokens until it is complete", () => {
    const decoder = new IncrementalDetokenizer(bytes);
    const out = tokensOf("aé€😀b").map((token) => decoder.push(token));
    expect(out.join("") + decoder.flush()).toBe("aé€😀b");
    expect(out.some((piece) => piece.includes("\uFFFD"))).toBe(false);
    // é is 2 bytes: nothing after its first byte, the whole character after its second
    expect(out.slice(1, 3)).toEqual(["", "é"]);
    // 😀 is 4 bytes
    expect(out.slice(6, 10)).toEqual(["", "", "", "😀"]);
  });

  it("emits genuinely invalid bytes after maxPending tokens instead of waiting forever", () => {
    const decoder = new IncrementalDetokenizer(bytes, 4);
    const out = [0xe2, 0xe2, 0xe2, 0xe2].map((token) => decoder.push(token));
    expect(out.slice(0, 3)).toEqual(["", "", ""]);
    expect(out[3]).toContain("\uFFFD");
  });

  it("flushes what still waits at the end", () => {
    const decoder = new IncrementalDetokenizer(bytes);
    expect(decoder.push(0xc3)).toBe("");
    expect(decoder.flush()).toBe("\uFFFD");
    expect(decoder.flush()).toBe("");
  });

  it("passes the preceding tokens as context", () => {
    const seen: number[][] = [];
    const decoder = new IncrementalDetokenizer((tokens, last) => {
      seen.push([...last]);
      return bytes(tokens);
    });
    for (const token of tokensOf("abc")) decoder.push(token);
    expect(seen).toEqual([[], [97], [97, 98]]);
  });
});
