// The Messages answers (docs/api.md, "Anthropic Messages API"): the unary Message's blocks, stop
// reasons and usage, and the stream encoder's exact event sequence — block indexes, thinking
// closed by its signature or the next block, tool argument deltas, the real usage at the end, and
// `event: error` with no message_stop after commit.

import { describe, expect, it } from "vitest";
import type { CompletionResult } from "../../../core/dialect.js";
import { errors } from "../../../core/inference-error.js";
import { anthropicMessagesDialect } from "./anthropic-messages-dialect.js";
import {
  anthropicUsage,
  MessagesStreamEncoder,
  messageJson,
  toolInput,
} from "./anthropic-messages-response.js";

const context = { requestId: "r1", model: "claude-local", nowMs: 1_700_000_000_000 };

const base: CompletionResult = {
  requestId: "r1",
  deployment: "claude-local",
  text: "",
  toolCalls: [],
  finishReason: "stop",
  usage: { inputTokens: 10, outputTokens: 4 },
};

/** The `event:` name and parsed `data:` of each framed event. */
function events(framed: string | undefined): Array<{ event: string; data: Record<string, unknown> }> {
  if (framed === undefined) return [];
  expect(framed.endsWith("\n\n")).toBe(true);
  return framed
    .split("\n\n")
    .filter((text) => text !== "")
    .map((text) => {
      const [eventLine, dataLine, ...rest] = text.split("\n");
      expect(rest).toEqual([]);
      expect(eventLine?.startsWith("event: ")).toBe(true);
      expect(dataLine?.startsWith("data: ")).toBe(true);
      const name = (eventLine as string).slice("event: ".length);
      const data = JSON.parse((dataLine as string).slice("data: ".length)) as Record<string, unknown>;
      // every payload names its own type, the same as the event
      expect(data.type).toBe(name);
      return { event: name, data };
    });
}

/** Compact: `event` for block-less events, `event@index:kind` for block events. */
function outline(framed: string): string[] {
  return events(framed).map(({ event, data }) => {
    if (event === "content_block_start")
      return `start@${data.index}:${(data.content_block as { type: string }).type}`;
    if (event === "content_block_delta")
      return `delta@${data.index}:${(data.delta as { type: string }).type}`;
    if (event === "content_block_stop") return `stop@${data.index}`;
    return event;
  });
}

describe("messageJson", () => {
  it("text only: one text block, end_turn, usage", () => {
    expect(messageJson({ ...base, text: "Hello" }, context)).toEqual({
      id: "msg_r1",
      type: "message",
      role: "assistant",
      model: "claude-local",
      content: [{ type: "text", text: "Hello" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: {
        input_tokens: 10,
        output_tokens: 4,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    });
  });

  it("signed blocks first, in order, then the text, then tool_use blocks with parsed input", () => {
    const body = messageJson(
      {
        ...base,
        text: "Checking.",
        reasoning: "Oslo first.",
        reasoningBlocks: [
          { type: "redacted_thinking", data: "EmwK" },
          { type: "thinking", thinking: "Oslo first.", signature: "EqQB" },
        ],
        toolCalls: [
          { id: "toolu_1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
          { id: "", type: "function", function: { name: "time", arguments: "" } },
        ],
        finishReason: "tool_calls",
      },
      context,
    );
    expect(body.content).toEqual([
      { type: "redacted_thinking", data: "EmwK" },
      { type: "thinking", thinking: "Oslo first.", signature: "EqQB" },
      { type: "text", text: "Checking." },
      { type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Oslo" } },
      { type: "tool_use", id: "toolu_r1_1", name: "time", input: {} },
    ]);
    expect(body.stop_reason).toBe("tool_use");
  });

  it("reasoning text without a signed block is a thinking block with an empty signature", () => {
    const body = messageJson({ ...base, text: "42", reasoning: "think think" }, context);
    expect(body.content).toEqual([
      { type: "thinking", thinking: "think think", signature: "" },
      { type: "text", text: "42" },
    ]);
  });

  it("an empty answer has no blocks; a refusal is text with stop_reason refusal", () => {
    expect(messageJson({ ...base, finishReason: "length" }, context)).toMatchObject({
      content: [],
      stop_reason: "max_tokens",
    });
    expect(
      messageJson({ ...base, refusal: "I can't help with that.", finishReason: "content_filter" }, context),
    ).toMatchObject({ content: [{ type: "text", text: "I can't help with that." }], stop_reason: "refusal" });
  });

  it("usage: input excludes cache reads and writes; thinking tokens as output_tokens_details", () => {
    expect(
      anthropicUsage({
        inputTokens: 100,
        outputTokens: 20,
        cachedInputTokens: 60,
        cacheWriteInputTokens: 30,
        reasoningTokens: 12,
      }),
    ).toEqual({
      input_tokens: 10,
      output_tokens: 20,
      cache_creation_input_tokens: 30,
      cache_read_input_tokens: 60,
      output_tokens_details: { thinking_tokens: 12 },
    });
    expect(anthropicUsage(undefined)).toEqual({
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
  });

  it("tool input: an object as is, anything else {}", () => {
    expect(toolInput('{"a":[1]}')).toEqual({ a: [1] });
    expect(toolInput("  ")).toEqual({});
    expect(toolInput("[1]")).toEqual({});
    expect(toolInput('{"a":')).toEqual({});
  });
});

describe("MessagesStreamEncoder", () => {
  it("start: message_start with empty content and zero usage, then ping", () => {
    const opening = events(new MessagesStreamEncoder(context).start());
    expect(opening).toEqual([
      {
        event: "message_start",
        data: {
          type: "message_start",
          message: {
            id: "msg_r1",
            type: "message",
            role: "assistant",
            model: "claude-local",
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: {
              input_tokens: 0,
              output_tokens: 0,
              cache_creation_input_tokens: 0,
              cache_read_input_tokens: 0,
            },
          },
        },
      },
      { event: "ping", data: { type: "ping" } },
    ]);
  });

  it("text: one block opened on the first text, closed at the end; message_delta carries stop reason and usage", () => {
    const encoder = new MessagesStreamEncoder(context);
    let wire = encoder.start();
    wire += encoder.chunk({ text: "Hel" }) ?? "";
    expect(encoder.chunk({ text: "" })).toBeUndefined();
    wire += encoder.chunk({ text: "lo" }) ?? "";
    wire += encoder.finish("length", { inputTokens: 12, outputTokens: 2, cachedInputTokens: 5 });
    expect(outline(wire)).toEqual([
      "message_start",
      "ping",
      "start@0:text",
      "delta@0:text_delta",
      "delta@0:text_delta",
      "stop@0",
      "message_delta",
      "message_stop",
    ]);
    const all = events(wire);
    expect(all[2]?.data).toEqual({
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" },
    });
    expect(all[3]?.data).toEqual({
      type: "content_block_delta",
      index: 0,
      delta: { type: "text_delta", text: "Hel" },
    });
    expect(all[6]?.data).toEqual({
      type: "message_delta",
      delta: { stop_reason: "max_tokens", stop_sequence: null },
      usage: {
        input_tokens: 7,
        output_tokens: 2,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 5,
      },
    });
  });

  it("thinking (Anthropic): opens on reasoning text, its signed block closes it with a signature_delta", () => {
    const encoder = new MessagesStreamEncoder(context);
    let wire = "";
    wire += encoder.chunk({ text: "", reasoningBlocks: [{ type: "redacted_thinking", data: "EmwK" }] }) ?? "";
    wire += encoder.chunk({ text: "", reasoning: "Oslo " }) ?? "";
    wire += encoder.chunk({ text: "", reasoning: "first." }) ?? "";
    wire +=
      encoder.chunk({
        text: "",
        reasoningBlocks: [{ type: "thinking", thinking: "Oslo first.", signature: "EqQB" }],
      }) ?? "";
    wire += encoder.chunk({ text: "Sunny." }) ?? "";
    wire += encoder.finish("stop", { inputTokens: 3, outputTokens: 9 });
    expect(outline(wire)).toEqual([
      "start@0:redacted_thinking",
      "stop@0",
      "start@1:thinking",
      "delta@1:thinking_delta",
      "delta@1:thinking_delta",
      "delta@1:signature_delta",
      "stop@1",
      "start@2:text",
      "delta@2:text_delta",
      "stop@2",
      "message_delta",
      "message_stop",
    ]);
    const all = events(wire);
    expect(all[0]?.data.content_block).toEqual({ type: "redacted_thinking", data: "EmwK" });
    expect(all[2]?.data.content_block).toEqual({ type: "thinking", thinking: "", signature: "" });
    expect(all[3]?.data.delta).toEqual({ type: "thinking_delta", thinking: "Oslo " });
    expect(all[5]?.data.delta).toEqual({ type: "signature_delta", signature: "EqQB" });
  });

  it("thinking without a signature (vLLM, Gemini) closes when the text starts", () => {
    const encoder = new MessagesStreamEncoder(context);
    const wire = [
      encoder.chunk({ text: "", reasoning: "hmm" }),
      encoder.chunk({ text: "Answer" }),
      encoder.finish("stop", undefined),
    ].join("");
    expect(outline(wire)).toEqual([
      "start@0:thinking",
      "delta@0:thinking_delta",
      "stop@0",
      "start@1:text",
      "delta@1:text_delta",
      "stop@1",
      "message_delta",
      "message_stop",
    ]);
  });

  it("a signed block whose text never streamed is sent whole", () => {
    const encoder = new MessagesStreamEncoder(context);
    const wire =
      encoder.chunk({
        text: "",
        reasoningBlocks: [{ type: "thinking", thinking: "All of it.", signature: "Sig" }],
      }) ?? "";
    expect(events(wire).map(({ data }) => data)).toEqual([
      {
        type: "content_block_start",
        index: 0,
        content_block: { type: "thinking", thinking: "", signature: "" },
      },
      { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "All of it." } },
      { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "Sig" } },
      { type: "content_block_stop", index: 0 },
    ]);
  });

  it("tool calls: a tool_use block per call (id and name), argument pieces as input_json_delta", () => {
    const encoder = new MessagesStreamEncoder(context);
    const wire = [
      encoder.chunk({ text: "Let me check." }),
      encoder.chunk({
        text: "",
        toolCalls: [
          { index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: "" } },
        ],
      }),
      encoder.chunk({ text: "", toolCalls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      encoder.chunk({ text: "", toolCalls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
      // a whole call in one delta (Gemini)
      encoder.chunk({
        text: "",
        toolCalls: [
          { index: 1, id: "call_2", type: "function", function: { name: "time", arguments: "{}" } },
        ],
      }),
      encoder.finish("tool_calls", { inputTokens: 5, outputTokens: 7 }),
    ].join("");
    expect(outline(wire)).toEqual([
      "start@0:text",
      "delta@0:text_delta",
      "stop@0",
      "start@1:tool_use",
      "delta@1:input_json_delta",
      "delta@1:input_json_delta",
      "stop@1",
      "start@2:tool_use",
      "delta@2:input_json_delta",
      "stop@2",
      "message_delta",
      "message_stop",
    ]);
    const all = events(wire);
    expect(all[3]?.data.content_block).toEqual({
      type: "tool_use",
      id: "call_1",
      name: "weather",
      input: {},
    });
    expect(all[4]?.data.delta).toEqual({ type: "input_json_delta", partial_json: '{"city":' });
    expect(all[7]?.data.content_block).toEqual({ type: "tool_use", id: "call_2", name: "time", input: {} });
    expect(all[10]?.data.delta).toEqual({ stop_reason: "tool_use", stop_sequence: null });
  });

  it("a turn that calls tools ends with tool_use even when the runtime said stop (OpenAI's forced function)", () => {
    const call = { id: "call_1", type: "function" as const, function: { name: "weather", arguments: "{}" } };
    expect(messageJson({ ...base, toolCalls: [call], finishReason: "stop" }, context).stop_reason).toBe(
      "tool_use",
    );
    expect(messageJson({ ...base, toolCalls: [call], finishReason: "length" }, context).stop_reason).toBe(
      "max_tokens",
    );
    const encoder = new MessagesStreamEncoder(context);
    const wire = [
      encoder.chunk({ text: "", toolCalls: [{ index: 0, ...call }] }),
      encoder.finish("stop", { inputTokens: 5, outputTokens: 7 }),
    ].join("");
    const delta = events(wire).find((event) => event.event === "message_delta");
    expect(delta?.data.delta).toEqual({ stop_reason: "tool_use", stop_sequence: null });
    const plain = new MessagesStreamEncoder(context);
    const text = [plain.chunk({ text: "hi" }), plain.finish("stop", undefined)].join("");
    expect(events(text).find((event) => event.event === "message_delta")?.data.delta).toEqual({
      stop_reason: "end_turn",
      stop_sequence: null,
    });
  });

  it("a refusal is streamed as text", () => {
    const encoder = new MessagesStreamEncoder(context);
    expect(events(encoder.chunk({ text: "", refusal: "No." })).map(({ data }) => data)).toEqual([
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "No." } },
    ]);
  });

  it("a failure after commit is one error event: no block stop, no message_stop", () => {
    const encoder = new MessagesStreamEncoder(context);
    encoder.chunk({ text: "partial" });
    expect(events(encoder.fail(errors.serverError("upstream 500: boom", 500), 502))).toEqual([
      {
        event: "error",
        data: { type: "error", error: { type: "api_error", message: "upstream 500: boom" } },
      },
    ]);
  });
});

describe("anthropicMessagesDialect", () => {
  it("errors: the type from the gateway's status", () => {
    const body = (status: number) =>
      (anthropicMessagesDialect.errorBody(errors.internal("x"), status) as { error: { type: string } }).error
        .type;
    expect(body(400)).toBe("invalid_request_error");
    expect(body(401)).toBe("authentication_error");
    expect(body(403)).toBe("permission_error");
    expect(body(404)).toBe("not_found_error");
    expect(body(408)).toBe("invalid_request_error");
    expect(body(429)).toBe("rate_limit_error");
    expect(body(500)).toBe("api_error");
    expect(body(502)).toBe("api_error");
    expect(body(503)).toBe("overloaded_error");
    expect(body(504)).toBe("api_error");
  });

  it("parse: a refusal names the field, a valid body has no state", () => {
    const refused = anthropicMessagesDialect.parse({
      model: "m",
      messages: [{ role: "user", content: "x" }],
    });
    expect(refused).toMatchObject({ ok: false, error: { message: "max_tokens: is required" } });
    const parsed = anthropicMessagesDialect.parse({
      model: "m",
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }],
    });
    expect(parsed).toMatchObject({ ok: true, state: undefined, request: { model: "m" } });
  });

  it("unaryBody names the client's model", () => {
    expect(
      anthropicMessagesDialect.unaryBody({ ...base, text: "x" }, { ...context, model: "asked-for" }),
    ).toMatchObject({
      model: "asked-for",
      id: "msg_r1",
    });
  });
});
