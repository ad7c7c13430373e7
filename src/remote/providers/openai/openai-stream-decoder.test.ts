// OpenAI SSE `data:` payloads → TokenChunks: content and tool-call deltas, the finish reason held to
// the end with the usage chunk's numbers, and the failures (early end, malformed event, error event).

import { describe, expect, it } from "vitest";
import { InferenceError } from "../../../core/inference-error.js";
import { commitsResponse, type TokenChunk } from "../../../core/token-chunk.js";
import { OpenAiStreamDecoder } from "./openai-stream-decoder.js";

const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", model: "gpt-4o", choices, ...extra });
const delta = (d: Record<string, unknown>, finishReason: string | null = null) =>
  event([{ index: 0, delta: d, logprobs: null, finish_reason: finishReason }]);
const usageEvent = (usage: Record<string, unknown>) => event([], { usage });

function decodeAll(decoder: OpenAiStreamDecoder, events: readonly string[]): TokenChunk[] {
  return events.flatMap((data) => decoder.onData(data));
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

describe("OpenAiStreamDecoder", () => {
  it("turns content deltas into chunks; the role-only first chunk produces nothing", () => {
    const decoder = new OpenAiStreamDecoder();
    expect(decoder.onData(delta({ role: "assistant", content: "", refusal: null }))).toEqual([]);
    expect(decoder.onData(delta({ content: "Hello" }))).toEqual([{ text: "Hello" }]);
    expect(decoder.onData(delta({ content: " world" }))).toEqual([{ text: " world" }]);
  });

  it("a role chunk that also carries content produces that content", () => {
    const decoder = new OpenAiStreamDecoder();
    expect(decoder.onData(delta({ role: "assistant", content: "Hi" }))).toEqual([{ text: "Hi" }]);
  });

  it("holds the finish reason until the end and reports usage from the usage chunk", () => {
    const decoder = new OpenAiStreamDecoder();
    const chunks = decodeAll(decoder, [
      delta({ role: "assistant", content: "" }),
      delta({ content: "Hi" }),
      delta({}, "stop"),
      usageEvent({ prompt_tokens: 7, completion_tokens: 1, total_tokens: 8 }),
      "[DONE]",
    ]);
    expect(chunks).toEqual([{ text: "Hi" }]);
    expect(chunks.some((chunk) => chunk.finishReason !== undefined)).toBe(false);
    expect(decoder.finish()).toEqual({
      text: "",
      finishReason: "stop",
      usage: { inputTokens: 7, outputTokens: 1 },
    });
  });

  it("keeps cached and reasoning tokens", () => {
    const decoder = new OpenAiStreamDecoder();
    decodeAll(decoder, [
      delta({ content: "x" }, "length"),
      usageEvent({
        prompt_tokens: 1200,
        completion_tokens: 300,
        total_tokens: 1500,
        prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 256, audio_tokens: 0 },
      }),
      "[DONE]",
    ]);
    expect(decoder.finish()).toEqual({
      text: "",
      finishReason: "length",
      usage: { inputTokens: 1200, outputTokens: 300, cachedInputTokens: 1024, reasoningTokens: 256 },
    });
  });

  it("leaves zero cached / reasoning counts out", () => {
    const decoder = new OpenAiStreamDecoder();
    decodeAll(decoder, [
      delta({ content: "x" }, "stop"),
      usageEvent({
        prompt_tokens: 3,
        completion_tokens: 1,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      }),
    ]);
    expect(decoder.finish().usage).toEqual({ inputTokens: 3, outputTokens: 1 });
  });

  it("ignores the `usage: null` every chunk carries with include_usage", () => {
    const decoder = new OpenAiStreamDecoder();
    decodeAll(decoder, [
      event([{ index: 0, delta: { content: "a" }, finish_reason: null }], { usage: null }),
      event([{ index: 0, delta: {}, finish_reason: "stop" }], { usage: null }),
      usageEvent({ prompt_tokens: 2, completion_tokens: 1 }),
    ]);
    expect(decoder.finish().usage).toEqual({ inputTokens: 2, outputTokens: 1 });
  });

  it("without a usage chunk, the final usage is an estimate counted from the chunks", () => {
    const decoder = new OpenAiStreamDecoder();
    decodeAll(decoder, [delta({ content: "a" }), delta({ content: "b" }), delta({}, "stop"), "[DONE]"]);
    expect(decoder.finish().usage).toEqual({ inputTokens: 0, outputTokens: 2, estimated: true });
  });

  it("passes tool-call deltas with index, id, type, name and arguments", () => {
    const decoder = new OpenAiStreamDecoder();
    const chunks = decodeAll(decoder, [
      delta({ role: "assistant", content: null }),
      delta({
        tool_calls: [
          { index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } },
        ],
      }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      delta({
        tool_calls: [
          { index: 1, id: "call_b", type: "function", function: { name: "get_time", arguments: "{}" } },
        ],
      }),
      delta({}, "tool_calls"),
      usageEvent({ prompt_tokens: 10, completion_tokens: 12 }),
      "[DONE]",
    ]);
    expect(chunks).toEqual([
      {
        text: "",
        toolCalls: [
          { index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } },
        ],
      },
      { text: "", toolCalls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { text: "", toolCalls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
      {
        text: "",
        toolCalls: [
          { index: 1, id: "call_b", type: "function", function: { name: "get_time", arguments: "{}" } },
        ],
      },
    ]);
    expect(decoder.finish().finishReason).toBe("tool_calls");
  });

  it("a delta with content and tool calls keeps both", () => {
    const decoder = new OpenAiStreamDecoder();
    expect(
      decoder.onData(
        delta({ content: "Let me check.", tool_calls: [{ index: 0, id: "c", function: { name: "f" } }] }),
      ),
    ).toEqual([{ text: "Let me check.", toolCalls: [{ index: 0, id: "c", function: { name: "f" } }] }]);
  });

  it("passes reasoning_content deltas (vLLM, DeepSeek) apart from the content; null or empty ones produce nothing", () => {
    const decoder = new OpenAiStreamDecoder();
    const chunks = decodeAll(decoder, [
      delta({ role: "assistant", content: "", reasoning_content: null }),
      delta({ reasoning_content: "The user " }),
      delta({ reasoning_content: "greets.", content: null }),
      delta({ content: "Hello", reasoning_content: "" }),
      delta({}, "stop"),
      "[DONE]",
    ]);
    expect(chunks).toEqual([
      { text: "", reasoning: "The user " },
      { text: "", reasoning: "greets." },
      { text: "Hello" },
    ]);
    expect(chunks.every(commitsResponse)).toBe(true);
  });

  it("keeps LiteLLM's signed thinking blocks and a call's extra_content signature; unsigned blocks are dropped", () => {
    const decoder = new OpenAiStreamDecoder();
    const chunks = decodeAll(decoder, [
      delta({ reasoning_content: "Oslo.", thinking_blocks: [{ type: "thinking", thinking: "Oslo." }] }),
      delta({
        thinking_blocks: [
          { type: "thinking", thinking: "Oslo.", signature: "EqQB" },
          { type: "redacted_thinking", data: "Emw" },
        ],
      }),
      delta({
        tool_calls: [
          {
            index: 0,
            id: "call_1",
            type: "function",
            function: { name: "f", arguments: "" },
            extra_content: { google: { thought_signature: "c2ln" } },
          },
        ],
      }),
      delta({}, "tool_calls"),
      "[DONE]",
    ]);
    expect(chunks).toEqual([
      { text: "", reasoning: "Oslo." },
      {
        text: "",
        reasoningBlocks: [
          { type: "thinking", thinking: "Oslo.", signature: "EqQB" },
          { type: "redacted_thinking", data: "Emw" },
        ],
      },
      {
        text: "",
        toolCalls: [
          {
            index: 0,
            id: "call_1",
            type: "function",
            function: { name: "f", arguments: "" },
            signature: "c2ln",
          },
        ],
      },
    ]);
  });

  it("passes refusal deltas; a null or empty refusal produces nothing", () => {
    const decoder = new OpenAiStreamDecoder();
    const chunks = decodeAll(decoder, [
      delta({ role: "assistant", content: null, refusal: "" }),
      delta({ refusal: "I'm sorry, " }),
      delta({ refusal: "I can't help with that." }),
      delta({ content: null, refusal: null }),
      delta({}, "stop"),
      usageEvent({ prompt_tokens: 9, completion_tokens: 8 }),
      "[DONE]",
    ]);
    expect(chunks).toEqual([
      { text: "", refusal: "I'm sorry, " },
      { text: "", refusal: "I can't help with that." },
    ]);
    expect(chunks.every(commitsResponse)).toBe(true);
    expect(decoder.finish()).toEqual({
      text: "",
      finishReason: "stop",
      usage: { inputTokens: 9, outputTokens: 8 },
    });
  });

  it("refusal chunks count toward the estimated output without a usage chunk", () => {
    const decoder = new OpenAiStreamDecoder();
    decodeAll(decoder, [delta({ refusal: "No." }), delta({}, "stop")]);
    expect(decoder.finish().usage).toEqual({ inputTokens: 0, outputTokens: 1, estimated: true });
  });

  it("an empty tool_calls array produces nothing", () => {
    expect(new OpenAiStreamDecoder().onData(delta({ tool_calls: [] }))).toEqual([]);
  });

  it("only reads choice 0", () => {
    const decoder = new OpenAiStreamDecoder();
    expect(
      decoder.onData(
        event([
          { index: 1, delta: { content: "other" }, finish_reason: null },
          { index: 0, delta: { content: "mine" }, finish_reason: null },
        ]),
      ),
    ).toEqual([{ text: "mine" }]);
  });

  it("[DONE] produces nothing", () => {
    expect(new OpenAiStreamDecoder().onData("[DONE]")).toEqual([]);
  });

  it("a stream that ends before a finish reason is a network_error", () => {
    const decoder = new OpenAiStreamDecoder();
    decodeAll(decoder, [delta({ role: "assistant", content: "" }), delta({ content: "partial" })]);
    const error = thrown(() => decoder.finish());
    expect(error.kind).toBe("network_error");
    expect(error.message).toContain("ended early");
  });

  it("an empty stream is a network_error", () => {
    expect(thrown(() => new OpenAiStreamDecoder().finish()).kind).toBe("network_error");
  });

  it("[DONE] without a finish reason is a network_error", () => {
    const decoder = new OpenAiStreamDecoder();
    decodeAll(decoder, [delta({ content: "partial" }), "[DONE]"]);
    const error = thrown(() => decoder.finish());
    expect(error.kind).toBe("network_error");
    expect(error.message).toContain("without a finish reason");
  });

  it("a finish reason without [DONE] or usage still finishes (usage estimated)", () => {
    const decoder = new OpenAiStreamDecoder();
    decodeAll(decoder, [delta({ content: "a" }), delta({}, "stop")]);
    expect(decoder.finish()).toEqual({
      text: "",
      finishReason: "stop",
      usage: { inputTokens: 0, outputTokens: 1, estimated: true },
    });
  });

  it("an unknown finish reason is not a finish", () => {
    const decoder = new OpenAiStreamDecoder();
    decodeAll(decoder, [delta({ content: "a" }, "function_call_weird")]);
    expect(thrown(() => decoder.finish()).kind).toBe("network_error");
  });

  it("a malformed event is a server_error naming the event", () => {
    const decoder = new OpenAiStreamDecoder();
    const error = thrown(() => decoder.onData("{not json"));
    expect(error.kind).toBe("server_error");
    expect(error.details).toEqual({ kind: "server_error", status: 502 });
    expect(error.message).toContain("malformed stream event: {not json");
  });

  it("an `error` object in the stream is a server_error with the provider's message", () => {
    const decoder = new OpenAiStreamDecoder();
    decodeAll(decoder, [delta({ content: "a" })]);
    const error = thrown(() =>
      decoder.onData(JSON.stringify({ error: { message: "The server had an error", type: "server_error" } })),
    );
    expect(error.kind).toBe("server_error");
    expect(error.message).toContain("The server had an error");
  });

  it("each decoder holds its own stream's state", () => {
    const first = new OpenAiStreamDecoder();
    first.onData(delta({ content: "a" }, "stop"));
    const second = new OpenAiStreamDecoder();
    expect(thrown(() => second.finish()).kind).toBe("network_error");
    expect(first.finish().finishReason).toBe("stop");
  });
});
