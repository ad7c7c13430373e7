// Anthropic SSE payloads → TokenChunks: text, tool_use argument deltas by the call's own index,
// thinking as reasoning then one signed block, redacted thinking, the forced json tool as content,
// stop reasons, usage in OpenAI's convention, error events, and streams that end early.

import { describe, expect, it } from "vitest";
import { InferenceError } from "../../../core/inference-error.js";
import { type TokenChunk, Tokens } from "../../../core/token-chunk.js";
import { AnthropicStreamDecoder } from "./anthropic-stream-decoder.js";
import type { AnthropicStreamEvent } from "./anthropic-wire.js";

const start = (
  usage: Record<string, number | null> = { input_tokens: 10, output_tokens: 1 },
): AnthropicStreamEvent => ({
  type: "message_start",
  message: {
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-6",
    content: [],
    usage,
  },
});
const blockStart = (index: number, content_block: Record<string, unknown>) =>
  ({ type: "content_block_start", index, content_block }) as AnthropicStreamEvent;
const delta = (index: number, d: Record<string, unknown>) =>
  ({ type: "content_block_delta", index, delta: d }) as AnthropicStreamEvent;
const blockStop = (index: number): AnthropicStreamEvent => ({ type: "content_block_stop", index });
const messageDelta = (stop_reason: string, usage: Record<string, unknown> = { output_tokens: 5 }) =>
  ({ type: "message_delta", delta: { stop_reason, stop_sequence: null }, usage }) as AnthropicStreamEvent;
const stop: AnthropicStreamEvent = { type: "message_stop" };

/** Feeds `events` through a decoder; the chunks, the final chunk, and the aggregate. */
function decode(events: readonly (AnthropicStreamEvent | string)[], jsonTool?: string) {
  const decoder = new AnthropicStreamDecoder(jsonTool === undefined ? {} : { jsonTool });
  const chunks: TokenChunk[] = [];
  for (const event of events)
    chunks.push(...decoder.onData(typeof event === "string" ? event : JSON.stringify(event)));
  const final = decoder.finish();
  const tokens = new Tokens();
  for (const chunk of [...chunks, final]) tokens.append(chunk);
  return { chunks, final, tokens };
}

function thrown(run: () => unknown): InferenceError {
  try {
    run();
  } catch (error) {
    if (error instanceof InferenceError) return error;
    throw error;
  }
  throw new Error("expected an InferenceError");
}

describe("AnthropicStreamDecoder", () => {
  it("turns text deltas into content and ends with the stop reason and usage", () => {
    const { chunks, final } = decode([
      start(),
      { type: "ping" },
      blockStart(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "Hello" }),
      delta(0, { type: "text_delta", text: " world" }),
      blockStop(0),
      messageDelta("end_turn", { output_tokens: 12 }),
      stop,
    ]);
    expect(chunks).toEqual([{ text: "Hello" }, { text: " world" }]);
    expect(final).toEqual({ text: "", finishReason: "stop", usage: { inputTokens: 10, outputTokens: 12 } });
  });

  it("streams tool_use blocks as tool-call deltas indexed by the call, not the block", () => {
    const { chunks, final, tokens } = decode([
      start(),
      blockStart(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "Checking." }),
      blockStop(0),
      blockStart(1, { type: "tool_use", id: "toolu_a", name: "get_weather", input: {} }),
      delta(1, { type: "input_json_delta", partial_json: "" }),
      delta(1, { type: "input_json_delta", partial_json: '{"city":' }),
      delta(1, { type: "input_json_delta", partial_json: '"Paris"}' }),
      blockStop(1),
      blockStart(2, { type: "tool_use", id: "toolu_b", name: "now", input: {} }),
      delta(2, { type: "input_json_delta", partial_json: "{}" }),
      blockStop(2),
      messageDelta("tool_use"),
      stop,
    ]);
    expect(chunks[1]).toEqual({
      text: "",
      toolCalls: [
        { index: 0, id: "toolu_a", type: "function", function: { name: "get_weather", arguments: "" } },
      ],
    });
    expect(chunks[2]).toEqual({ text: "", toolCalls: [{ index: 0, function: { arguments: '{"city":' } }] });
    expect(final.finishReason).toBe("tool_calls");
    expect(tokens.text).toBe("Checking.");
    expect(tokens.toolCalls).toEqual([
      { id: "toolu_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { id: "toolu_b", type: "function", function: { name: "now", arguments: "{}" } },
    ]);
  });

  it("a call without arguments (no delta, or only an empty one) gets {} as OpenAI sends, once", () => {
    const { chunks, tokens } = decode([
      start(),
      blockStart(0, { type: "tool_use", id: "toolu_a", name: "now", input: {} }),
      delta(0, { type: "input_json_delta", partial_json: "" }),
      blockStop(0),
      blockStart(1, { type: "tool_use", id: "toolu_b", name: "today", input: {} }),
      blockStop(1),
      messageDelta("tool_use"),
      stop,
    ]);
    expect(chunks[1]).toEqual({ text: "", toolCalls: [{ index: 0, function: { arguments: "{}" } }] });
    expect(tokens.toolCalls.map((call) => call.function)).toEqual([
      { name: "now", arguments: "{}" },
      { name: "today", arguments: "{}" },
    ]);
  });

  it("reads events whose fields are not what the API sends without throwing or taking prototype keys", () => {
    const { chunks, final } = decode([
      start(),
      blockStart(0, { type: "text", text: 7 }),
      delta(0, { type: "text_delta", text: 5 }),
      delta(0, { type: "text_delta", text: "ok" }),
      blockStop(0),
      messageDelta("constructor"),
      stop,
    ]);
    expect(chunks).toEqual([{ text: "ok" }]);
    expect(final.finishReason).toBe("stop");
    const error = thrown(() =>
      new AnthropicStreamDecoder().onData(JSON.stringify({ type: "error", error: { type: "toString" } })),
    );
    expect(error.details).toEqual({ kind: "server_error", status: 502 });
  });

  it("streams thinking as reasoning (never content) and emits the signed block at its end", () => {
    const { chunks, tokens } = decode([
      start(),
      blockStart(0, { type: "redacted_thinking", data: "EmwKAhgB" }),
      blockStop(0),
      blockStart(1, { type: "thinking", thinking: "", signature: "" }),
      delta(1, { type: "thinking_delta", thinking: "Let me " }),
      delta(1, { type: "thinking_delta", thinking: "think." }),
      delta(1, { type: "signature_delta", signature: "sig-abc" }),
      blockStop(1),
      blockStart(2, { type: "text", text: "" }),
      delta(2, { type: "text_delta", text: "42" }),
      delta(2, { type: "citations_delta", citation: { type: "char_location", cited_text: "x" } }),
      blockStop(2),
      messageDelta("end_turn"),
      stop,
    ]);
    expect(chunks).toEqual([
      { text: "", reasoningBlocks: [{ type: "redacted_thinking", data: "EmwKAhgB" }] },
      { text: "", reasoning: "Let me " },
      { text: "", reasoning: "think." },
      { text: "", reasoningBlocks: [{ type: "thinking", thinking: "Let me think.", signature: "sig-abc" }] },
      { text: "42" },
    ]);
    expect(tokens.text).toBe("42");
    expect(tokens.reasoning).toBe("Let me think.");
    expect(tokens.reasoningBlocks).toEqual([
      { type: "redacted_thinking", data: "EmwKAhgB" },
      { type: "thinking", thinking: "Let me think.", signature: "sig-abc" },
    ]);
  });

  it("a thinking block that never got its signature streams its text but is not kept (it cannot be replayed)", () => {
    const { chunks, tokens } = decode([
      start(),
      blockStart(0, { type: "thinking", thinking: "", signature: "" }),
      delta(0, { type: "thinking_delta", thinking: "Hmm." }),
      blockStop(0),
      blockStart(1, { type: "text", text: "" }),
      delta(1, { type: "text_delta", text: "ok" }),
      blockStop(1),
      messageDelta("end_turn"),
      stop,
    ]);
    expect(chunks).toEqual([{ text: "", reasoning: "Hmm." }, { text: "ok" }]);
    expect(tokens.reasoningBlocks).toEqual([]);
  });

  it("turns the forced json tool's input into content, finishing with stop", () => {
    const { chunks, final, tokens } = decode(
      [
        start(),
        blockStart(0, { type: "tool_use", id: "toolu_j", name: "json_response", input: {} }),
        delta(0, { type: "input_json_delta", partial_json: '{"answer":' }),
        delta(0, { type: "input_json_delta", partial_json: '"yes"}' }),
        blockStop(0),
        messageDelta("tool_use"),
        stop,
      ],
      "json_response",
    );
    expect(chunks).toEqual([{ text: '{"answer":' }, { text: '"yes"}' }]);
    expect(tokens.toolCalls).toEqual([]);
    expect(final.finishReason).toBe("stop");
    // cut by max_tokens it is still "length"
    expect(
      decode(
        [
          start(),
          blockStart(0, { type: "tool_use", id: "t", name: "json_response", input: {} }),
          messageDelta("max_tokens"),
          stop,
        ],
        "json_response",
      ).final.finishReason,
    ).toBe("length");
  });

  it("a forced json tool with no input streamed is the empty object; text beside it is not content", () => {
    const { tokens } = decode(
      [
        start(),
        blockStart(0, { type: "text", text: "" }),
        delta(0, { type: "text_delta", text: "Here you go:" }),
        blockStop(0),
        blockStart(1, { type: "tool_use", id: "toolu_j", name: "json_response", input: {} }),
        blockStop(1),
        messageDelta("tool_use"),
        stop,
      ],
      "json_response",
    );
    expect(tokens.text).toBe("{}");
  });

  it("a second (parallel) call of the forced json tool is not appended to the content", () => {
    const { tokens } = decode(
      [
        start(),
        blockStart(0, { type: "tool_use", id: "toolu_1", name: "json_response", input: {} }),
        delta(0, { type: "input_json_delta", partial_json: '{"a":1}' }),
        blockStop(0),
        blockStart(1, { type: "tool_use", id: "toolu_2", name: "json_response", input: {} }),
        delta(1, { type: "input_json_delta", partial_json: '{"a":2}' }),
        blockStop(1),
        messageDelta("tool_use"),
        stop,
      ],
      "json_response",
    );
    expect(JSON.parse(tokens.text)).toEqual({ a: 1 });
    expect(tokens.toolCalls).toEqual([]);
    expect(tokens.finishReason).toBe("stop");
  });

  it("maps every stop reason", () => {
    const cases: Array<[string, string]> = [
      ["end_turn", "stop"],
      ["stop_sequence", "stop"],
      ["pause_turn", "stop"],
      ["max_tokens", "length"],
      ["model_context_window_exceeded", "length"],
      ["tool_use", "tool_calls"],
      ["refusal", "content_filter"],
      ["a_reason_added_later", "stop"],
    ];
    for (const [reason, expected] of cases) {
      expect([reason, decode([start(), messageDelta(reason), stop]).final.finishReason]).toEqual([
        reason,
        expected,
      ]);
    }
  });

  it("reports usage in OpenAI's convention: cache reads and writes counted in input and reported apart", () => {
    const { final } = decode([
      start({
        input_tokens: 20,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 30,
        output_tokens: 1,
      }),
      messageDelta("end_turn", { output_tokens: 50, output_tokens_details: { thinking_tokens: 20 } }),
      stop,
    ]);
    expect(final.usage).toEqual({
      inputTokens: 150,
      outputTokens: 50,
      cachedInputTokens: 100,
      cacheWriteInputTokens: 30,
      reasoningTokens: 20,
    });
    // zero and null cache fields are left out
    expect(
      decode([
        start({
          input_tokens: 5,
          cache_read_input_tokens: 0,
          cache_creation_input_tokens: null,
          output_tokens: 1,
        }),
        messageDelta("end_turn"),
        stop,
      ]).final.usage,
    ).toEqual({ inputTokens: 5, outputTokens: 5 });
  });

  it("takes the input fields message_delta repeats (newer API versions), output_tokens being cumulative", () => {
    const { final } = decode([
      start({ input_tokens: 1, output_tokens: 1 }),
      messageDelta("end_turn", { input_tokens: 40, cache_read_input_tokens: 10, output_tokens: 7 }),
      stop,
    ]);
    expect(final.usage).toEqual({ inputTokens: 50, outputTokens: 7, cachedInputTokens: 10 });
  });

  it("estimates usage when the upstream sent none", () => {
    const { final } = decode([
      { type: "message_start", message: { id: "m" } } as AnthropicStreamEvent,
      blockStart(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "a" }),
      delta(0, { type: "text_delta", text: "b" }),
      { type: "message_delta", delta: { stop_reason: "end_turn" } } as AnthropicStreamEvent,
      stop,
    ]);
    expect(final.usage).toEqual({ inputTokens: 0, outputTokens: 2, estimated: true });
  });

  it("passes over unknown block types, deltas of unknown blocks, and unknown events", () => {
    const { chunks } = decode([
      start(),
      blockStart(0, { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: {} }),
      delta(0, { type: "input_json_delta", partial_json: '{"q":"x"}' }),
      blockStop(0),
      delta(7, { type: "text_delta", text: "orphan" }),
      { type: "message_annotation", note: "later" } as unknown as AnthropicStreamEvent,
      messageDelta("end_turn"),
      stop,
    ]);
    expect(chunks).toEqual([]);
  });

  it("throws the mapped error of an `error` event: overloaded and api errors are retryable server errors", () => {
    const event = (type: string, message: string) =>
      JSON.stringify({ type: "error", error: { type, message } });
    const overloaded = thrown(() =>
      new AnthropicStreamDecoder().onData(event("overloaded_error", "Overloaded")),
    );
    expect(overloaded.details).toEqual({ kind: "server_error", status: 529 });
    expect(overloaded.retryable).toBe(true);
    expect(overloaded.message).toBe("upstream stream error: Overloaded");
    expect(thrown(() => new AnthropicStreamDecoder().onData(event("api_error", "Internal"))).details).toEqual(
      {
        kind: "server_error",
        status: 500,
      },
    );
    expect(
      thrown(() => new AnthropicStreamDecoder().onData(event("rate_limit_error", "slow down"))).kind,
    ).toBe("rate_limited");
    expect(
      thrown(() => new AnthropicStreamDecoder().onData(event("invalid_request_error", "bad"))).kind,
    ).toBe("bad_request");
    expect(thrown(() => new AnthropicStreamDecoder().onData(event("something_new", "?"))).details).toEqual({
      kind: "server_error",
      status: 502,
    });
  });

  it("refuses a malformed event as a 502 server error", () => {
    for (const data of ["{not json", "[DONE]", "42"]) {
      const error = thrown(() => new AnthropicStreamDecoder().onData(data));
      expect(error.details).toEqual({ kind: "server_error", status: 502 });
      expect(error.message).toContain("malformed stream event");
    }
  });

  it("a stream that ended before its stop reason is a network error", () => {
    const early = new AnthropicStreamDecoder();
    early.onData(JSON.stringify(start()));
    expect(thrown(() => early.finish())).toMatchObject({
      kind: "network_error",
      message: "upstream stream ended early",
    });
    const noReason = new AnthropicStreamDecoder();
    noReason.onData(JSON.stringify(start()));
    noReason.onData(JSON.stringify(stop));
    expect(thrown(() => noReason.finish())).toMatchObject({
      kind: "network_error",
      message: "upstream stream ended without a stop reason",
    });
  });
});
