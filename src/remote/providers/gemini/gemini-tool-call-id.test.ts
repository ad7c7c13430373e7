// Tool call ids that carry a Gemini thoughtSignature (gemini-tool-call-id.ts): `call_<12>` without
// one, `call_<12>__ts__<base64url>` with one, and the signature read back out of such an id.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { randomToolCallId, signatureFromToolCallId, toolCallIdWithSignature } from "./gemini-tool-call-id.js";

/** A deterministic `random`: cycles through the given values. */
function sequence(...values: number[]): () => number {
  let k = 0;
  return () => values[k++ % values.length] ?? 0;
}

describe("gemini tool call ids", () => {
  it("are call_ and 12 characters of [a-z0-9] taken from random", () => {
    expect(randomToolCallId(sequence(0))).toBe("call_aaaaaaaaaaaa");
    expect(randomToolCallId(sequence(0.999_999))).toBe("call_999999999999");
    expect(randomToolCallId(sequence(0, 1 / 36, 26 / 36))).toBe("call_ab0ab0ab0ab0");
    expect(randomToolCallId(Math.random)).toMatch(/^call_[a-z0-9]{12}$/);
  });

  it("carry no signature part when there is none", () => {
    expect(toolCallIdWithSignature(sequence(0), undefined)).toBe("call_aaaaaaaaaaaa");
    expect(toolCallIdWithSignature(sequence(0), "")).toBe("call_aaaaaaaaaaaa");
    expect(signatureFromToolCallId("call_aaaaaaaaaaaa")).toBeUndefined();
    expect(signatureFromToolCallId("call_abc")).toBeUndefined();
  });

  it("carry the signature as base64url without padding", () => {
    const id = toolCallIdWithSignature(sequence(0), "ab+/cd==");
    expect(id).toBe("call_aaaaaaaaaaaa__ts__ab-_cd");
    expect(signatureFromToolCallId(id)).toBe("ab+/cd==");
  });

  it("give back every base64 signature exactly", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
        const signature = Buffer.from(bytes).toString("base64");
        const id = toolCallIdWithSignature(Math.random, signature);
        expect(id).toMatch(/^call_[a-z0-9]{12}__ts__[A-Za-z0-9_-]+$/);
        expect(signatureFromToolCallId(id)).toBe(signature);
      }),
    );
  });
});
