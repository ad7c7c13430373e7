// TokenChunks: which commit a response (docs/architecture.md, request rules), and how Tokens aggregates a generation for
// unary responses (text, refusal, tool calls, the final finish reason and usage).

import { describe, expect, it } from "vitest";
import { commitsResponse, Tokens } from "./token-chunk.js";

describe("commitsResponse", () => {
  it("content, a refusal or a tool-call delta commits", () => {
    expect(commitsResponse({ text: "a" })).toBe(true);
    expect(commitsResponse({ text: "", refusal: "I can't help with that." })).toBe(true);
    expect(commitsResponse({ text: "", toolCalls: [{ index: 0, id: "c" }] })).toBe(true);
    expect(commitsResponse({ text: "", reasoning: "Let me think" })).toBe(true);
  });

  it("an empty chunk, an empty refusal or a final chunk alone does not", () => {
    expect(commitsResponse({ text: "" })).toBe(false);
    expect(commitsResponse({ text: "", refusal: "" })).toBe(false);
    expect(commitsResponse({ text: "", reasoning: "" })).toBe(false);
    expect(commitsResponse({ text: "", toolCalls: [] })).toBe(false);
    expect(
      commitsResponse({ text: "", finishReason: "stop", usage: { inputTokens: 1, outputTokens: 0 } }),
    ).toBe(false);
  });
});

describe("Tokens", () => {
  it("joins refusal pieces apart from the text", () => {
    const tokens = new Tokens();
    tokens.append({ text: "", refusal: "I'm sorry, " });
    tokens.append({ text: "", refusal: "I can't." });
    tokens.append({ text: "", finishReason: "stop", usage: { inputTokens: 3, outputTokens: 2 } });
    expect(tokens.text).toBe("");
    expect(tokens.refusal).toBe("I'm sorry, I can't.");
    expect(tokens.finishReason).toBe("stop");
  });

  it("joins reasoning pieces apart from the text", () => {
    const tokens = new Tokens();
    tokens.append({ text: "", reasoning: "First " });
    tokens.append({ text: "Answer", reasoning: "then." });
    expect(tokens.text).toBe("Answer");
    expect(tokens.reasoning).toBe("First then.");
    expect(new Tokens().reasoning).toBeUndefined();
  });

  it("has no refusal when the model did not refuse", () => {
    const tokens = new Tokens();
    tokens.append({ text: "Hello" });
    tokens.append({ text: "", finishReason: "stop" });
    expect(tokens.text).toBe("Hello");
    expect(tokens.refusal).toBeUndefined();
  });
});
