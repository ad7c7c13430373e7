// Gemini SSE payloads → TokenChunks: text, thought parts as reasoning, whole function calls with
// signature-carrying ids, finish reasons, usage (the last one wins), and the failures (blocked
// prompt, error event, malformed event, a stream without a finish reason, a broken tool call).

import { describe, expect, it } from "vitest";
import { InferenceError } from "../../../core/inference-error.js";
import { commitsResponse, type TokenChunk, Tokens } from "../../../core/token-chunk.js";
import { finishReasonOf, GeminiStreamDecoder } from "./gemini-stream-decoder.js";
import { signatureFromToolCallId } from "./gemini-tool-call-id.js";

const NOW = Date.UTC(2026, 0, 1);
const decoder = () =>
  new GeminiStreamDecoder(
    () => 0,
    () => NOW,
  );

const event = (
  parts: unknown[],
  extra: Record<string, unknown> = {},
  candidate: Record<string, unknown> = {},
) =>
  JSON.stringify({
    candidates: [{ content: { parts, role: "model" }, index: 0, ...candidate }],
    modelVersion: "gemini-2.5-flash",
    responseId: "resp-1",
    ...extra,
  });
const finishing = (parts: unknown[], reason: string, usage?: Record<string, unknown>) =>
  event(parts, usage === undefined ? {} : { usageMetadata: usage }, { finishReason: reason });

function decodeAll(d: GeminiStreamDecoder, events: readonly string[]): TokenChunk[] {
  return events.flatMap((data) => d.onData(data));
}

function thrown(fn: () => unknown): InferenceError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InferenceError);
    return error as InferenceError;
  }
  throw new Error("expected a throw");
}

describe("GeminiStreamDecoder", () => {
  it("turns text parts into chunks and ends with the finish reason and usage", () => {
    const d = decoder();
    const chunks = decodeAll(d, [
      event([{ text: "Hello" }], { usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } }),
      finishing([{ text: " world" }], "STOP", {
        promptTokenCount: 7,
        candidatesTokenCount: 2,
        totalTokenCount: 9,
      }),
    ]);
    expect(chunks).toEqual([{ text: "Hello" }, { text: " world" }]);
    expect(d.finish()).toEqual({
      text: "",
      finishReason: "stop",
      usage: { inputTokens: 7, outputTokens: 2 },
    });
  });

  it("thought parts are reasoning, never text", () => {
    const d = decoder();
    const chunks = decodeAll(d, [
      event([{ text: "Let me think.", thought: true }]),
      event([{ text: "Think more.", thought: true }, { text: "Answer" }]),
      finishing([], "STOP"),
    ]);
    expect(chunks).toEqual([
      { text: "", reasoning: "Let me think." },
      { text: "Answer", reasoning: "Think more." },
    ]);
    expect(chunks.every(commitsResponse)).toBe(true);
  });

  it("each functionCall part is one whole tool call; its id carries the signature", () => {
    const d = decoder();
    const chunks = decodeAll(d, [
      event([{ text: "Checking." }]),
      finishing(
        [
          { functionCall: { name: "weather", args: { city: "Paris" } }, thoughtSignature: "c2ln+/==" },
          { functionCall: { name: "time", args: {} } },
        ],
        "STOP",
      ),
      finishing([{ functionCall: { name: "noargs" } }], "STOP"),
    ]);
    expect(chunks).toEqual([
      { text: "Checking." },
      {
        text: "",
        toolCalls: [
          {
            index: 0,
            id: "call_aaaaaaaaaaaa__ts__c2ln-_",
            type: "function",
            function: { name: "weather", arguments: '{"city":"Paris"}' },
            signature: "c2ln+/==",
          },
          {
            index: 1,
            id: "call_aaaaaaaaaaaa",
            type: "function",
            function: { name: "time", arguments: "{}" },
          },
        ],
      },
      {
        text: "",
        toolCalls: [
          {
            index: 2,
            id: "call_aaaaaaaaaaaa",
            type: "function",
            function: { name: "noargs", arguments: "{}" },
          },
        ],
      },
    ]);
    expect(signatureFromToolCallId(chunks[1]?.toolCalls?.[0]?.id ?? "")).toBe("c2ln+/==");
    expect(d.finish().finishReason).toBe("tool_calls");
    // the aggregate a unary client gets keeps the signature on the call
    const tokens = new Tokens();
    for (const chunk of chunks) tokens.append(chunk);
    expect(tokens.toolCalls[0]?.signature).toBe("c2ln+/==");
  });

  it.each([
    ["STOP", false, "stop"],
    ["STOP", true, "tool_calls"],
    ["MAX_TOKENS", false, "length"],
    ["MAX_TOKENS", true, "length"],
    ["SAFETY", false, "content_filter"],
    ["RECITATION", false, "content_filter"],
    ["BLOCKLIST", false, "content_filter"],
    ["PROHIBITED_CONTENT", false, "content_filter"],
    ["SPII", false, "content_filter"],
    ["IMAGE_SAFETY", false, "content_filter"],
    ["IMAGE_PROHIBITED_CONTENT", false, "content_filter"],
    ["LANGUAGE", false, "stop"],
    ["OTHER", false, "stop"],
    ["FINISH_REASON_UNSPECIFIED", false, "stop"],
    ["SOMETHING_NEW", true, "tool_calls"],
  ] as const)("finish reason %s (tools called: %s) → %s", (reason, calledTools, expected) => {
    expect(finishReasonOf(reason, calledTools)).toBe(expected);
  });

  it.each(["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"])(
    "%s fails the attempt as a retryable 502",
    (reason) => {
      const error = thrown(() => decoder().onData(finishing([], reason)));
      expect(error.details).toEqual({ kind: "server_error", status: 502 });
      expect(error.message).toContain(reason);
      expect(error.retryable).toBe(true);
    },
  );

  it("usage: output counts thoughts, cached input kept, zeros left out, the last report wins", () => {
    const d = decoder();
    decodeAll(d, [
      event([{ text: "a" }], { usageMetadata: { promptTokenCount: 100, totalTokenCount: 100 } }),
      finishing([{ text: "b" }], "STOP", {
        promptTokenCount: 100,
        candidatesTokenCount: 20,
        thoughtsTokenCount: 30,
        cachedContentTokenCount: 40,
        totalTokenCount: 150,
      }),
    ]);
    expect(d.finish().usage).toEqual({
      inputTokens: 100,
      outputTokens: 50,
      reasoningTokens: 30,
      cachedInputTokens: 40,
    });
    const zeros = decoder();
    zeros.onData(
      finishing([{ text: "x" }], "STOP", {
        promptTokenCount: 3,
        candidatesTokenCount: 1,
        thoughtsTokenCount: 0,
        cachedContentTokenCount: 0,
      }),
    );
    expect(zeros.finish().usage).toEqual({ inputTokens: 3, outputTokens: 1 });
  });

  it("a stream that never reported usage gets an estimate", () => {
    const d = decoder();
    decodeAll(d, [event([{ text: "a" }]), finishing([{ text: "b" }], "STOP")]);
    expect(d.finish().usage).toEqual({ inputTokens: 0, outputTokens: 2, estimated: true });
  });

  it("a blocked prompt is content_filtered (400) naming the reason", () => {
    const error = thrown(() =>
      decoder().onData(
        JSON.stringify({
          promptFeedback: { blockReason: "PROHIBITED_CONTENT" },
          usageMetadata: { promptTokenCount: 5 },
        }),
      ),
    );
    expect(error.kind).toBe("content_filtered");
    expect(error.message).toBe("upstream blocked the prompt: PROHIBITED_CONTENT");
  });

  it("an error event throws the mapped error: retryable for UNAVAILABLE and INTERNAL", () => {
    const unavailable = thrown(() =>
      decoder().onData(
        JSON.stringify({ error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } }),
      ),
    );
    expect(unavailable.details).toEqual({ kind: "server_error", status: 503 });
    expect(unavailable.message).toBe("upstream stream error: UNAVAILABLE: The model is overloaded.");
    expect(unavailable.retryable).toBe(true);
    const internal = thrown(() =>
      decoder().onData(
        JSON.stringify({ error: { code: 500, message: "Internal error.", status: "INTERNAL" } }),
      ),
    );
    expect(internal.details).toEqual({ kind: "server_error", status: 500 });
    const limited = thrown(() =>
      decoder().onData(
        JSON.stringify({
          error: {
            code: 429,
            message: "Quota exceeded.",
            status: "RESOURCE_EXHAUSTED",
            details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "2s" }],
          },
        }),
      ),
    );
    expect(limited.details).toEqual({ kind: "rate_limited", retryAfterMs: 2000 });
    const bare = thrown(() => decoder().onData(JSON.stringify({ error: { message: "boom" } })));
    expect(bare.details).toEqual({ kind: "server_error", status: 502 });
  });

  it("a malformed event is a 502 server_error", () => {
    for (const data of ["{not json", "null", "42"]) {
      const error = thrown(() => decoder().onData(data));
      expect(error.details).toEqual({ kind: "server_error", status: 502 });
      expect(error.message).toMatch(/^upstream sent a malformed stream event/);
    }
  });

  it("JSON of the wrong shape is skipped or a 502, never a TypeError (which would read as a network error)", () => {
    const d = decoder();
    const chunks = decodeAll(d, [
      JSON.stringify({ candidates: {} }),
      JSON.stringify({ candidates: [null, { index: 0, content: { parts: {} } }] }),
      event([null, 7, { text: "ok" }], { usageMetadata: { promptTokenCount: "3", candidatesTokenCount: 2 } }),
      finishing([], "STOP"),
    ]);
    expect(chunks).toEqual([{ text: "ok" }]);
    expect(d.finish().usage).toEqual({ inputTokens: 0, outputTokens: 2 });
    // a signature that is not text is not kept (nor thrown over)
    const [unsigned] = decoder().onData(event([{ functionCall: { name: "now" }, thoughtSignature: 42 }]));
    expect(unsigned?.toolCalls?.[0]).toEqual({
      index: 0,
      id: expect.stringMatching(/^call_[a-z0-9]{12}$/),
      type: "function",
      function: { name: "now", arguments: "{}" },
    });
    for (const call of [null, "now", {}, { name: 5 }]) {
      const error = thrown(() => decoder().onData(event([{ functionCall: call }])));
      expect(error.details).toEqual({ kind: "server_error", status: 502 });
      expect(error.message).toMatch(/^upstream sent a malformed function call/);
    }
    const weird = thrown(() =>
      decoder().onData(JSON.stringify({ error: { code: 429, status: "RESOURCE_EXHAUSTED", details: {} } })),
    );
    expect(weird.kind).toBe("rate_limited");
    expect(thrown(() => decoder().onData(JSON.stringify({ error: "boom" }))).kind).toBe("server_error");
  });

  it("a stream that ends without a finish reason is a network_error", () => {
    const d = decoder();
    d.onData(event([{ text: "partial" }]));
    const error = thrown(() => d.finish());
    expect(error.kind).toBe("network_error");
    expect(error.message).toBe("upstream stream ended early");
  });

  it("ignores other candidates, empty chunks and signatures on text parts", () => {
    const d = decoder();
    const chunks = decodeAll(d, [
      JSON.stringify({ candidates: [{ content: { parts: [{ text: "other" }] }, index: 1 }] }),
      JSON.stringify({ usageMetadata: { promptTokenCount: 1 } }),
      finishing([{ text: "", thoughtSignature: "c2ln" }], "STOP"),
    ]);
    expect(chunks).toEqual([]);
    expect(d.finish().finishReason).toBe("stop");
  });
});
