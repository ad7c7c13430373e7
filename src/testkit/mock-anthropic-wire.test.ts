// The mock's Anthropic wire (src/testkit/mock-anthropic-wire.ts): its route and key, its named
// SSE events and unary Message, error bodies and statuses per kind; then, through the official
// @anthropic-ai/sdk against startMockProvider({ wires: [anthropicWire] }), that the SDK reads it
// as it reads Anthropic: text, tool_use input, thinking with its signature, usage, errors.

import Anthropic from "@anthropic-ai/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ANTHROPIC_PROMPT_TOO_LONG, anthropicWire } from "./mock-anthropic-wire.js";
import {
  complete,
  errorMidStream,
  errorResponse,
  type MockProvider,
  overloaded,
  type ReceivedRequest,
  rateLimited,
  startMockProvider,
} from "./mock-provider.js";
import type { MockAnswerContext, MockSseEvent } from "./mock-wire.js";

const MODEL = "claude-sonnet-4-6";

function contextOf(body: Record<string, unknown> = {}): MockAnswerContext {
  const request: ReceivedRequest = {
    method: "POST",
    path: "/v1/messages",
    query: {},
    headers: {},
    body: {
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: "user", content: "say hello to me" }],
      ...body,
    },
    rawBody: "",
    arrivedAt: 3,
    authorization: undefined,
    apiKey: undefined,
    deployment: undefined,
    wire: "anthropic",
  };
  return {
    route: { wire: "anthropic", endpoint: "messages" },
    request,
    id: "msg_mock_3",
    model: MODEL,
    stream: true,
  };
}

const types = (events: readonly MockSseEvent[]) => events.map((event) => event.event);

describe("anthropicWire", () => {
  it("serves POST /v1/messages; takes the key from x-api-key or a Bearer token", () => {
    expect(anthropicWire.match("POST", "/v1/messages")).toEqual({ wire: "anthropic", endpoint: "messages" });
    expect(anthropicWire.match("GET", "/v1/messages")).toBeUndefined();
    expect(anthropicWire.match("POST", "/v1/chat/completions")).toBeUndefined();
    expect(anthropicWire.apiKey({ headers: { "x-api-key": "a" }, query: {} })).toBe("a");
    expect(anthropicWire.apiKey({ headers: { authorization: "Bearer b" }, query: {} })).toBe("b");
    expect(anthropicWire.apiKey({ headers: {}, query: {} })).toBeUndefined();
    expect(anthropicWire.streams({ wire: "anthropic", endpoint: "messages" }, { stream: true })).toBe(true);
    expect(anthropicWire.streams({ wire: "anthropic", endpoint: "messages" }, {})).toBe(false);
    expect(anthropicWire.answerId({ wire: "anthropic", endpoint: "messages" }, 4)).toBe("msg_mock_4");
  });

  it("streams named events: start, ping, redacted thinking, thinking, text, tool_use, delta, stop", () => {
    const events = anthropicWire.streamEvents(
      complete({
        redactedReasoning: "opaque",
        reasoning: ["Hmm", "."],
        content: ["Hi"],
        toolCalls: [{ id: "toolu_1", name: "now", arguments: ["{", "}"] }],
      }),
      contextOf(),
    );
    expect(types(events)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    for (const event of events) expect((event.data as { type: string }).type).toBe(event.event);
    expect(events[0]?.data).toMatchObject({
      message: { id: "msg_mock_3", model: MODEL, usage: { input_tokens: 4 } },
    });
    expect(events[7]?.data).toEqual({
      type: "content_block_delta",
      index: 1,
      delta: { type: "signature_delta", signature: "mock-signature" },
    });
    expect(events[16]?.data).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { output_tokens: 3 },
    });
  });

  it("skips the text block when there is no content and there are tool calls", () => {
    const events = anthropicWire.streamEvents(
      complete({ content: [], toolCalls: [{ id: "t", name: "now", arguments: ["{}"] }] }),
      contextOf(),
    );
    const blocks = events.filter((event) => event.event === "content_block_start").map((event) => event.data);
    expect(blocks).toEqual([
      {
        type: "content_block_start",
        index: 0,
        content_block: { type: "tool_use", id: "t", name: "now", input: {} },
      },
    ]);
  });

  it("splits usage as Anthropic does: input excludes cache reads and writes", () => {
    const events = anthropicWire.streamEvents(
      complete({
        usage: {
          prompt_tokens: 100,
          completion_tokens: 9,
          prompt_tokens_details: { cached_tokens: 60 },
          cache_write_tokens: 30,
          completion_tokens_details: { reasoning_tokens: 4 },
        },
      }),
      contextOf(),
    );
    expect(events[0]?.data).toMatchObject({
      message: { usage: { input_tokens: 10, cache_read_input_tokens: 60, cache_creation_input_tokens: 30 } },
    });
    expect(events.at(-2)?.data).toMatchObject({
      usage: { output_tokens: 9, output_tokens_details: { thinking_tokens: 4 } },
    });
  });

  it("maps finish reasons, sends a native one as is, with the stop sequence that matched", () => {
    expect(
      ["stop", "length", "tool_calls", "content_filter"].map((r) => anthropicWire.finishReason(r as "stop")),
    ).toEqual(["end_turn", "max_tokens", "tool_use", "refusal"]);
    const events = anthropicWire.streamEvents(
      complete({ nativeFinishReason: "stop_sequence" }),
      contextOf({ stop_sequences: ["END"] }),
    );
    expect(events.at(-2)?.data).toMatchObject({
      delta: { stop_reason: "stop_sequence", stop_sequence: "END" },
    });
  });

  it("partial events: message_start, a text block's start, then chunk1, chunk2, …", () => {
    const events = anthropicWire.partialEvents(2, contextOf());
    expect(types(events)).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
    ]);
    expect(events.slice(2).map((event) => (event.data as { delta: { text: string } }).delta.text)).toEqual([
      "chunk1",
      " chunk2",
    ]);
  });

  it("a unary answer is a whole Message", () => {
    expect(
      anthropicWire.unaryBody(
        complete({ reasoning: ["Hmm"], toolCalls: [{ id: "t", name: "now", arguments: ['{"a":', "1}"] }] }),
        contextOf(),
      ),
    ).toEqual({
      id: "msg_mock_3",
      type: "message",
      role: "assistant",
      model: MODEL,
      content: [
        { type: "thinking", thinking: "Hmm", signature: "mock-signature" },
        { type: "text", text: "Hello world" },
        { type: "tool_use", id: "t", name: "now", input: { a: 1 } },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: {
        input_tokens: 4,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 4, // two content pieces and two argument pieces
      },
    });
  });

  it("writes Anthropic error bodies per kind; billing refusals are 402; rate limits name the exhausted limit", () => {
    const error = (kind: Parameters<typeof anthropicWire.errorBody>[0]["kind"], status = 400) =>
      anthropicWire.errorBody({ kind, status, message: "m" }) as { error: { type: string; message: string } };
    expect(error("rate_limited").error.type).toBe("rate_limit_error");
    expect(error("overloaded").error.type).toBe("overloaded_error");
    expect(error("server_error").error.type).toBe("api_error");
    expect(error("quota_exhausted").error.type).toBe("billing_error");
    expect(error("unauthorized").error.type).toBe("authentication_error");
    expect(error("forbidden").error.type).toBe("permission_error");
    expect(error("not_found").error.type).toBe("not_found_error");
    expect(error("request_too_large").error.type).toBe("request_too_large");
    expect(error("context_length").error).toEqual({
      type: "invalid_request_error",
      message: ANTHROPIC_PROMPT_TOO_LONG,
    });
    expect(anthropicWire.errorStatus?.({ kind: "quota_exhausted", status: 429, message: "m" })).toBe(402);
    expect(anthropicWire.errorStatus?.({ kind: "overloaded", status: 529, message: "m" })).toBe(529);
    expect(anthropicWire.errorHeaders?.({ kind: "rate_limited", status: 429, message: "m" })).toEqual({
      "anthropic-ratelimit-requests-limit": "50",
      "anthropic-ratelimit-requests-remaining": "0",
    });
    const reset = anthropicWire.errorHeaders?.({
      kind: "rate_limited",
      status: 429,
      message: "m",
      retryAfterSeconds: 5,
    });
    expect(reset?.["anthropic-ratelimit-requests-reset"]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(
      anthropicWire.streamErrorEvent({ kind: "overloaded", status: 529, message: "Overloaded" }),
    ).toEqual({
      event: "error",
      data: {
        type: "error",
        error: { type: "overloaded_error", message: "Overloaded" },
        request_id: "req_mock",
      },
    });
  });
});

describe("anthropicWire with @anthropic-ai/sdk", () => {
  let provider: MockProvider;

  beforeEach(async () => {
    provider = await startMockProvider({ wires: [anthropicWire] });
  });

  afterEach(async () => {
    await provider.close();
  });

  const client = () => new Anthropic({ apiKey: "k", baseURL: provider.url, maxRetries: 0, logLevel: "off" });
  const ask = {
    model: MODEL,
    max_tokens: 100,
    messages: [{ role: "user" as const, content: "say hello to me" }],
  };

  it("messages.create: a unary Message with text, stop reason and usage", async () => {
    provider.script(
      complete({
        usage: {
          prompt_tokens: 50,
          completion_tokens: 2,
          prompt_tokens_details: { cached_tokens: 20 },
          cache_write_tokens: 10,
        },
      }),
    );
    const message = await client().messages.create(ask);
    expect(message.id).toBe("msg_mock_0");
    expect(message.content).toEqual([{ type: "text", text: "Hello world" }]);
    expect(message.stop_reason).toBe("end_turn");
    expect(message.usage).toEqual({
      input_tokens: 20,
      cache_creation_input_tokens: 10,
      cache_read_input_tokens: 20,
      output_tokens: 2,
    });
    const request = provider.requests[0] as ReceivedRequest;
    expect(request.wire).toBe("anthropic");
    expect(request.apiKey).toBe("k");
    expect(request.headers["anthropic-version"]).toBeDefined();
  });

  it("messages.stream().finalMessage(): text pieces, tool_use input reassembled, usage", async () => {
    provider.script(
      complete({
        content: ["The", " answer"],
        toolCalls: [{ id: "toolu_01", name: "get_weather", arguments: ['{"city"', ':"Paris"', "}"] }],
      }),
    );
    const stream = client().messages.stream(ask);
    const texts: string[] = [];
    stream.on("text", (text) => texts.push(text));
    const message = await stream.finalMessage();
    expect(texts).toEqual(["The", " answer"]);
    expect(message.content).toEqual([
      { type: "text", text: "The answer" },
      { type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } },
    ]);
    expect(message.stop_reason).toBe("tool_use");
    expect(message.usage).toMatchObject({ input_tokens: 4, output_tokens: 5 });
    expect(provider.requests[0]?.body).toMatchObject({ stream: true });
  });

  it("thinking with its signature and redacted thinking, before the text", async () => {
    provider.script(
      complete({
        redactedReasoning: "EmwKAhgB",
        reasoning: ["Let me", " think."],
        reasoningSignature: "sig-xyz",
        content: ["42"],
      }),
    );
    const message = await client().messages.stream(ask).finalMessage();
    expect(message.content).toEqual([
      { type: "redacted_thinking", data: "EmwKAhgB" },
      { type: "thinking", thinking: "Let me think.", signature: "sig-xyz" },
      { type: "text", text: "42" },
    ]);
  });

  it("a native stop reason as is, with the stop sequence", async () => {
    provider.script(complete({ nativeFinishReason: "stop_sequence" }));
    const message = await client()
      .messages.stream({ ...ask, stop_sequences: ["END"] })
      .finalMessage();
    expect(message.stop_reason).toBe("stop_sequence");
    expect(message.stop_sequence).toBe("END");
  });

  it("the key sent as x-api-key is read too", async () => {
    const response = await fetch(`${provider.url}/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-api-key": "ant-key",
        "anthropic-version": "2023-06-01",
      },
      body: JSON.stringify(ask),
    });
    expect(response.status).toBe(200);
    expect(provider.requests[0]?.apiKey).toBe("ant-key");
  });

  it("a 429 is the SDK's RateLimitError with Anthropic's type, a 529 its OverloadedError", async () => {
    provider.script(rateLimited(3), overloaded());
    const limited = await client()
      .messages.create(ask)
      .catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).type).toBe("rate_limit_error");
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).headers.get("retry-after")).toBe("3");
    expect(
      (limited as InstanceType<typeof Anthropic.RateLimitError>).headers.get(
        "anthropic-ratelimit-requests-remaining",
      ),
    ).toBe("0");
    const busy = await client()
      .messages.create(ask)
      .catch((error: unknown) => error);
    expect(busy).toBeInstanceOf(Anthropic.OverloadedError);
    expect((busy as InstanceType<typeof Anthropic.OverloadedError>).status).toBe(529);
  });

  it("a billing refusal is a 402 billing_error; a context overflow Anthropic's invalid_request_error", async () => {
    provider.script(
      errorResponse(429, { kind: "quota_exhausted", message: "Your credit balance is too low." }),
      errorResponse(400, { kind: "context_length" }),
    );
    const billing = await client()
      .messages.create(ask)
      .catch((error: unknown) => error);
    expect(billing).toBeInstanceOf(Anthropic.APIError);
    expect((billing as InstanceType<typeof Anthropic.APIError>).status).toBe(402);
    expect((billing as InstanceType<typeof Anthropic.APIError>).type).toBe("billing_error");
    const overflow = await client()
      .messages.create(ask)
      .catch((error: unknown) => error);
    expect(overflow).toBeInstanceOf(Anthropic.BadRequestError);
    expect((overflow as InstanceType<typeof Anthropic.BadRequestError>).message).toContain(
      "prompt is too long",
    );
  });

  it("an error event mid-stream is thrown by the SDK with its type", async () => {
    provider.script(errorMidStream(2, { kind: "overloaded", message: "Overloaded" }));
    const stream = client().messages.stream(ask);
    const texts: string[] = [];
    stream.on("text", (text) => texts.push(text));
    const error = await stream.finalMessage().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe("overloaded_error");
    expect(texts).toEqual(["chunk1", " chunk2"]);
  });
});
