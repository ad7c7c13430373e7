// The Responses API dialect end to end without HTTP: the stream's events checked against the
// openai SDK's own event types and replayed through its `ResponseStream` helper, unary Responses,
// storing before the answer, and `previous_response_id` / `item_reference` read from the store.

import type OpenAI from "openai";
import { ResponseStream } from "openai/lib/responses/ResponseStream";
import { describe, expect, it } from "vitest";
import type { CompletionResult, DialectParse, ServiceRequest } from "../../../core/dialect.js";
import { errors, type InferenceError } from "../../../core/inference-error.js";
import { MemoryResponseStore } from "../../../core/stores/memory-response-store.js";
import type { ResponseStore, StoredResponse } from "../../../core/stores/response-store.js";
import type { FinishReason, TokenChunk, TokenUsage } from "../../../core/token-chunk.js";
import { ManualClock } from "../../../testkit/manual-clock.js";
import { type ResponsesState, responsesDialect } from "./responses-dialect.js";
import { decodeEnvelope } from "./responses-items.js";
import type { ResponseJson } from "./responses-wire.js";

type Event = OpenAI.Responses.ResponseStreamEvent;
/** A Response as it goes over the wire: `output_text` is the SDK's own convenience. */
type WireResponse = Omit<OpenAI.Responses.Response, "output_text"> & { store: boolean };

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const TTL_MS = 3_600_000;

/** A store whose calls can be made to fail. */
class FlakyStore implements ResponseStore {
  readonly inner = new MemoryResponseStore({ maxStored: 100 });
  failing = false;
  put(record: StoredResponse, ttlMs: number, nowMs: number) {
    return this.failing ? Promise.reject(new Error("redis down")) : this.inner.put(record, ttlMs, nowMs);
  }
  get(id: string, clientId: string, nowMs: number) {
    return this.failing ? Promise.reject(new Error("redis down")) : this.inner.get(id, clientId, nowMs);
  }
  delete(id: string, clientId: string, nowMs: number) {
    return this.failing ? Promise.reject(new Error("redis down")) : this.inner.delete(id, clientId, nowMs);
  }
}

function setup() {
  const clock = new ManualClock(NOW);
  const store = new FlakyStore();
  const dialect = responsesDialect({ store, ttlMs: TTL_MS, clock });
  const parse = async (body: Record<string, unknown>, clientId = "client-1") => {
    const parsed: DialectParse<ResponsesState> = await dialect.parse(body, { clientId, nowMs: clock.now() });
    return parsed;
  };
  const accepted = async (body: Record<string, unknown>, clientId = "client-1") => {
    const parsed = await parse(body, clientId);
    if (!parsed.ok) throw new Error(`refused: ${parsed.error.message}`);
    return parsed;
  };
  /** Runs a stream through the encoder: its events, parsed back from the framed text. */
  const stream = async (
    state: ResponsesState,
    chunks: readonly TokenChunk[],
    end: { finish: FinishReason; usage?: TokenUsage } | { fail: InferenceError; status: number },
    requestId = "r-1-abc",
  ) => {
    const encoder = dialect.streamEncoder({ requestId, model: "gpt", nowMs: clock.now() }, state);
    let text = encoder.start();
    for (const chunk of chunks) text += encoder.chunk(chunk) ?? "";
    text += "fail" in end ? encoder.fail(end.fail, end.status) : await encoder.finish(end.finish, end.usage);
    return { text, events: sseEvents(text) };
  };
  const unary = async (state: ResponsesState, result: Partial<CompletionResult>, requestId = "r-2-abc") =>
    (await dialect.unaryBody(
      {
        requestId,
        deployment: "gpt",
        text: "",
        toolCalls: [],
        finishReason: "stop",
        usage: { inputTokens: 5, outputTokens: 3 },
        ...result,
      },
      { requestId, model: "gpt", nowMs: clock.now() },
      state,
    )) as ResponseJson;
  return { clock, store, dialect, parse, accepted, stream, unary };
}

/** The events of framed SSE text; each frame's `event:` line must name its data's type. */
function sseEvents(text: string): Array<Record<string, unknown> & { type: string; sequence_number: number }> {
  const frames = text.split("\n\n").filter((frame) => frame !== "");
  return frames.map((frame) => {
    const [eventLine, dataLine, ...rest] = frame.split("\n");
    expect(rest).toEqual([]);
    const data = JSON.parse((dataLine as string).slice("data: ".length));
    expect(eventLine).toBe(`event: ${data.type}`);
    return data;
  });
}

/** Replays events through the openai SDK's own stream helper, as `responses.stream()` would. */
async function sdkFinalResponse(events: readonly object[]) {
  const body = `${events.map((event) => JSON.stringify(event)).join("\n")}\n`;
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(body));
      controller.close();
    },
  });
  const helper = ResponseStream.fromReadableStream(readable);
  const seen: string[] = [];
  helper.on("response.output_text.delta", (event) => seen.push(event.snapshot));
  return { response: await helper.finalResponse(), snapshots: seen };
}

const baseResponse = (overrides: Partial<WireResponse>): WireResponse => ({
  id: "resp_r-1-abc",
  object: "response",
  created_at: NOW / 1000,
  status: "in_progress",
  background: false,
  completed_at: null,
  error: null,
  incomplete_details: null,
  instructions: null,
  max_output_tokens: null,
  model: "gpt",
  output: [],
  parallel_tool_calls: true,
  previous_response_id: null,
  reasoning: { effort: null, summary: null },
  store: true,
  temperature: null,
  text: { format: { type: "text" } },
  tool_choice: "auto",
  tools: [],
  top_p: null,
  truncation: "disabled",
  metadata: {},
  ...overrides,
});

describe("the stream", () => {
  it("a text answer: exactly the events of the openai SDK's types, numbered from 0, stored before the last", async () => {
    const t = setup();
    const parsed = await t.accepted({ model: "gpt", input: "hi", stream: true });
    const { events } = await t.stream(
      parsed.state,
      [{ text: "Hel" }, { text: "lo" }, { text: "", finishReason: "stop" }],
      { finish: "stop", usage: { inputTokens: 2, outputTokens: 2, cachedInputTokens: 1 } },
    );
    const item = { id: "msg_0_r-1-abc", type: "message" as const, role: "assistant" as const };
    const done: OpenAI.Responses.ResponseOutputMessage = {
      ...item,
      status: "completed",
      content: [{ type: "output_text", text: "Hello", annotations: [], logprobs: [] }],
    };
    const where = { item_id: "msg_0_r-1-abc", output_index: 0, content_index: 0 };
    const completed = baseResponse({
      status: "completed",
      completed_at: NOW / 1000,
      output: [done],
      usage: {
        input_tokens: 2,
        input_tokens_details: { cached_tokens: 1, cache_write_tokens: 0 },
        output_tokens: 2,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 4,
      },
    });
    const expected: Array<Event | { type: string; sequence_number: number; response: WireResponse }> = [
      { type: "response.created", sequence_number: 0, response: baseResponse({}) },
      { type: "response.in_progress", sequence_number: 1, response: baseResponse({}) },
      {
        type: "response.output_item.added",
        sequence_number: 2,
        output_index: 0,
        item: { ...item, status: "in_progress", content: [] },
      },
      {
        type: "response.content_part.added",
        sequence_number: 3,
        ...where,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      },
      { type: "response.output_text.delta", sequence_number: 4, ...where, delta: "Hel", logprobs: [] },
      { type: "response.output_text.delta", sequence_number: 5, ...where, delta: "lo", logprobs: [] },
      { type: "response.output_text.done", sequence_number: 6, ...where, text: "Hello", logprobs: [] },
      {
        type: "response.content_part.done",
        sequence_number: 7,
        ...where,
        part: { type: "output_text", text: "Hello", annotations: [], logprobs: [] },
      },
      { type: "response.output_item.done", sequence_number: 8, output_index: 0, item: done },
      { type: "response.completed", sequence_number: 9, response: completed },
    ];
    expect(events).toEqual(expected);
    const stored = await t.store.get("resp_r-1-abc", "client-1", t.clock.now());
    expect(stored?.response).toEqual(completed);
    expect(stored?.history).toEqual([{ role: "user", content: "hi" }]);

    const sdk = await sdkFinalResponse(events);
    expect(sdk.response.output_text).toBe("Hello");
    expect(sdk.response.status).toBe("completed");
    expect(sdk.snapshots).toEqual(["Hel", "Hello"]);
  });

  it("reasoning as a summary, then parallel tool calls: each its own item; the envelope only in the store", async () => {
    const t = setup();
    const parsed = await t.accepted({
      model: "gpt",
      input: "weather?",
      stream: true,
      tools: [{ type: "function", name: "weather", parameters: { type: "object" } }],
    });
    const block = { type: "thinking" as const, thinking: "need weather", signature: "sig-a" };
    const { events } = await t.stream(
      parsed.state,
      [
        { text: "", reasoning: "need " },
        { text: "", reasoning: "weather", reasoningBlocks: [block] },
        {
          text: "",
          toolCalls: [
            {
              index: 0,
              id: "call_a",
              type: "function",
              function: { name: "weather", arguments: '{"ci' },
              signature: "g",
            },
          ],
        },
        {
          text: "",
          toolCalls: [
            { index: 1, id: "call_b", function: { name: "weather", arguments: '{"city":"Rome"}' } },
          ],
        },
        { text: "", toolCalls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] },
      ],
      { finish: "tool_calls", usage: { inputTokens: 4, outputTokens: 9, reasoningTokens: 2 } },
    );
    expect(events.map((event) => event.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.reasoning_summary_part.added",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.done",
      "response.reasoning_summary_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const reasoningDone: OpenAI.Responses.ResponseReasoningItem = {
      id: "rs_0_r-1-abc",
      type: "reasoning",
      summary: [{ type: "summary_text", text: "need weather" }],
    };
    const summaryDelta: Event = {
      type: "response.reasoning_summary_text.delta",
      sequence_number: 4,
      item_id: "rs_0_r-1-abc",
      output_index: 0,
      summary_index: 0,
      delta: "need ",
    };
    expect(events[4]).toEqual(summaryDelta);
    expect(events[8]).toEqual({
      type: "response.output_item.done",
      sequence_number: 8,
      output_index: 0,
      item: reasoningDone,
    });
    const callAdded: Event = {
      type: "response.output_item.added",
      sequence_number: 9,
      output_index: 1,
      item: {
        id: "fc_1_r-1-abc",
        type: "function_call",
        status: "in_progress",
        call_id: "call_a",
        name: "weather",
        arguments: "",
      },
    };
    expect(events[9]).toEqual(callAdded);
    const argsDone: Event = {
      type: "response.function_call_arguments.done",
      sequence_number: 14,
      item_id: "fc_1_r-1-abc",
      output_index: 1,
      name: "weather",
      arguments: '{"city":"Oslo"}',
    };
    expect(events[14]).toEqual(argsDone);
    const completed = events[18] as unknown as { response: ResponseJson };
    expect(completed.response.output).toEqual([
      reasoningDone,
      {
        id: "fc_1_r-1-abc",
        type: "function_call",
        status: "completed",
        call_id: "call_a",
        name: "weather",
        arguments: '{"city":"Oslo"}',
      },
      {
        id: "fc_2_r-1-abc",
        type: "function_call",
        status: "completed",
        call_id: "call_b",
        name: "weather",
        arguments: '{"city":"Rome"}',
      },
    ]);
    expect(completed.response.usage?.output_tokens_details.reasoning_tokens).toBe(2);

    const stored = (await t.store.get("resp_r-1-abc", "client-1", t.clock.now())) as StoredResponse;
    const storedReasoning = (stored.response as ResponseJson).output[0] as { encrypted_content?: string };
    expect(decodeEnvelope(storedReasoning.encrypted_content as string)).toEqual({
      blocks: [block],
      signatures: { call_a: "g" },
    });

    const sdk = await sdkFinalResponse(events);
    expect(sdk.response.output.map((item) => item.type)).toEqual([
      "reasoning",
      "function_call",
      "function_call",
    ]);
  });

  it("with include reasoning.encrypted_content the client is shown the envelope", async () => {
    const t = setup();
    const parsed = await t.accepted({
      model: "gpt",
      input: "x",
      stream: true,
      include: ["reasoning.encrypted_content"],
    });
    const { events } = await t.stream(
      parsed.state,
      [{ text: "", reasoningBlocks: [{ type: "redacted_thinking", data: "opaque" }] }, { text: "ok" }],
      { finish: "stop" },
    );
    const done = events.find((event) => event.type === "response.output_item.done") as unknown as {
      item: { encrypted_content?: string };
    };
    expect(decodeEnvelope(done.item.encrypted_content as string)?.blocks).toEqual([
      { type: "redacted_thinking", data: "opaque" },
    ]);
  });

  it("a refusal is a refusal part of the message", async () => {
    const t = setup();
    const parsed = await t.accepted({ model: "gpt", input: "x", stream: true });
    const { events } = await t.stream(
      parsed.state,
      [
        { text: "", refusal: "I can't" },
        { text: "", refusal: " help" },
      ],
      {
        finish: "stop",
      },
    );
    const delta: Event = {
      type: "response.refusal.delta",
      sequence_number: 4,
      item_id: "msg_0_r-1-abc",
      output_index: 0,
      content_index: 0,
      delta: "I can't",
    };
    expect(events[4]).toEqual(delta);
    const done: Event = {
      type: "response.refusal.done",
      sequence_number: 6,
      item_id: "msg_0_r-1-abc",
      output_index: 0,
      content_index: 0,
      refusal: "I can't help",
    };
    expect(events[6]).toEqual(done);
    const sdk = await sdkFinalResponse(events);
    expect(sdk.response.output[0]).toMatchObject({ content: [{ type: "refusal", refusal: "I can't help" }] });
  });

  it("cut by max_output_tokens: the open items are incomplete and the stream ends with response.incomplete", async () => {
    const t = setup();
    const parsed = await t.accepted({ model: "gpt", input: "x", stream: true, max_output_tokens: 2 });
    const { events } = await t.stream(parsed.state, [{ text: "a b" }], { finish: "length" });
    const last = events.at(-1) as unknown as { type: string; response: ResponseJson };
    expect(last.type).toBe("response.incomplete");
    expect(last.response).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      max_output_tokens: 2,
      output: [{ type: "message", status: "incomplete" }],
    });
    expect((await sdkFinalResponse(events)).response.status).toBe("incomplete");
  });

  it("an answer with no output still ends with one (empty) message", async () => {
    const t = setup();
    const parsed = await t.accepted({ model: "gpt", input: "x", stream: true });
    const { events } = await t.stream(parsed.state, [], { finish: "stop" });
    expect(events.map((event) => event.type).slice(2)).toEqual([
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect((await sdkFinalResponse(events)).response.output_text).toBe("");
  });

  it("a failure after commit: an error event, then response.failed; never completed, nothing stored", async () => {
    const t = setup();
    const parsed = await t.accepted({ model: "gpt", input: "x", stream: true });
    const { events } = await t.stream(parsed.state, [{ text: "par" }], {
      fail: errors.serverError("upstream broke", 502),
      status: 502,
    });
    const error = events.at(-2) as unknown as Record<string, unknown>;
    const flat: OpenAI.Responses.ResponseErrorEvent = {
      type: "error",
      sequence_number: 5,
      code: "server_error",
      message: "upstream broke",
      param: null,
    };
    expect(error).toEqual({
      ...flat,
      error: { type: "upstream_error", code: "server_error", message: "upstream broke", param: null },
    });
    const failed = events.at(-1) as unknown as { type: string; response: ResponseJson };
    expect(failed.type).toBe("response.failed");
    expect(failed.response).toMatchObject({
      status: "failed",
      error: { code: "server_error", message: "upstream broke" },
    });
    expect(events.some((event) => event.type === "response.completed")).toBe(false);
    expect(await t.store.get("resp_r-1-abc", "client-1", t.clock.now())).toBeUndefined();
  });

  it("store: false keeps nothing", async () => {
    const t = setup();
    const parsed = await t.accepted({ model: "gpt", input: "x", stream: true, store: false });
    const { events } = await t.stream(parsed.state, [{ text: "a" }], { finish: "stop" });
    expect((events.at(-1) as unknown as { response: ResponseJson }).response.store).toBe(false);
    expect(await t.store.get("resp_r-1-abc", "client-1", t.clock.now())).toBeUndefined();
  });

  it("a store that fails to keep it: the answer still ends, saying store false", async () => {
    const t = setup();
    const parsed = await t.accepted({ model: "gpt", input: "x", stream: true });
    t.store.failing = true;
    const { events } = await t.stream(parsed.state, [{ text: "a" }], { finish: "stop" });
    const last = events.at(-1) as unknown as { type: string; response: ResponseJson };
    expect(last.type).toBe("response.completed");
    expect(last.response.store).toBe(false);
  });
});

describe("unary", () => {
  it("a Response with the request's echo, usage, and the output items; stored", async () => {
    const t = setup();
    const parsed = await t.accepted({
      model: "gpt",
      input: "x",
      instructions: "be brief",
      metadata: { a: "b" },
      temperature: 0.2,
    });
    await t.clock.advance(2_000);
    const response = await t.unary(parsed.state, {
      text: "Hi!",
      reasoning: "short",
      toolCalls: [
        { id: "call_1", type: "function", function: { name: "f", arguments: "{}" }, signature: "s" },
      ],
      finishReason: "tool_calls",
    });
    const expected: WireResponse = baseResponse({
      id: "resp_r-2-abc",
      status: "completed",
      completed_at: (NOW + 2_000) / 1000,
      instructions: "be brief",
      metadata: { a: "b" },
      temperature: 0.2,
      output: [
        { id: "rs_0_r-2-abc", type: "reasoning", summary: [{ type: "summary_text", text: "short" }] },
        {
          id: "msg_1_r-2-abc",
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "Hi!", annotations: [], logprobs: [] }],
        },
        {
          id: "fc_2_r-2-abc",
          type: "function_call",
          status: "completed",
          call_id: "call_1",
          name: "f",
          arguments: "{}",
        },
      ],
      usage: {
        input_tokens: 5,
        input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
        output_tokens: 3,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 8,
      },
    });
    expect(response).toEqual(expected);
    const stored = (await t.store.get("resp_r-2-abc", "client-1", t.clock.now())) as StoredResponse;
    const reasoning = (stored.response as ResponseJson).output[0] as { encrypted_content?: string };
    expect(decodeEnvelope(reasoning.encrypted_content as string)).toEqual({
      blocks: [],
      signatures: { call_1: "s" },
    });
    expect(stored.history).toEqual([{ role: "user", content: "x" }]);
  });

  it("a content filter or max_output_tokens makes it incomplete, with the reason", async () => {
    const t = setup();
    const parsed = await t.accepted({ model: "gpt", input: "x" });
    expect(await t.unary(parsed.state, { text: "a", finishReason: "length" })).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
    });
    expect(await t.unary(parsed.state, { text: "a", finishReason: "content_filter" })).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "content_filter" },
    });
  });

  it("a store that fails: the Response is answered, saying store false", async () => {
    const t = setup();
    const parsed = await t.accepted({ model: "gpt", input: "x" });
    t.store.failing = true;
    expect((await t.unary(parsed.state, { text: "a" })).store).toBe(false);
  });
});

describe("stored state in parse", () => {
  async function storedTurn(t: ReturnType<typeof setup>, clientId = "client-1") {
    const first = await t.accepted(
      { model: "gpt", input: "what is 2+2?", instructions: "first rules" },
      clientId,
    );
    return t.unary(
      first.state,
      {
        text: "4",
        reasoningBlocks: [{ type: "thinking", thinking: "add", signature: "sig" }],
        toolCalls: [
          { id: "call_9", type: "function", function: { name: "calc", arguments: "{}" }, signature: "g" },
        ],
      },
      "r-7-xyz",
    );
  }

  it("previous_response_id prepends the stored conversation, its instructions not carried over", async () => {
    const t = setup();
    await storedTurn(t);
    const next = await t.accepted({
      model: "gpt",
      previous_response_id: "resp_r-7-xyz",
      instructions: "second rules",
      input: [{ type: "function_call_output", call_id: "call_9", output: "4" }],
    });
    const request: ServiceRequest = next.request;
    expect(request.messages).toEqual([
      { role: "system", content: "second rules" },
      { role: "user", content: "what is 2+2?" },
      {
        role: "assistant",
        content: "4",
        toolCalls: [
          { id: "call_9", type: "function", function: { name: "calc", arguments: "{}" }, signature: "g" },
        ],
        reasoningBlocks: [{ type: "thinking", thinking: "add", signature: "sig" }],
      },
      { role: "tool", toolCallId: "call_9", content: "4" },
    ]);
    expect(next.state.history).toEqual(request.messages.slice(1));
    expect(next.state.body.echo.previous_response_id).toBe("resp_r-7-xyz");
  });

  it("an unknown previous response, another client's, or an expired one: 404 not_found", async () => {
    const t = setup();
    await storedTurn(t);
    for (const [id, clientId] of [
      ["resp_nope", "client-1"],
      ["resp_r-7-xyz", "client-2"],
      ["resp_r-7-xyz", ""],
    ] as const) {
      const parsed = await t.parse({ model: "gpt", input: "x", previous_response_id: id }, clientId);
      expect(parsed.ok).toBe(false);
      if (parsed.ok) continue;
      expect(parsed.error.kind).toBe("not_found");
      expect(parsed.error.message).toBe(`response ${id} not found`);
    }
    await t.clock.advance(TTL_MS);
    const expired = await t.parse({ model: "gpt", input: "x", previous_response_id: "resp_r-7-xyz" });
    expect(expired.ok ? undefined : expired.error.kind).toBe("not_found");
  });

  it("item_reference items read the stored output items, with their signatures", async () => {
    const t = setup();
    await storedTurn(t);
    const next = await t.accepted({
      model: "gpt",
      input: [
        { role: "user", content: "what is 2+2?" },
        { type: "item_reference", id: "rs_0_r-7-xyz" },
        { type: "item_reference", id: "msg_1_r-7-xyz" },
        { type: "function_call", call_id: "call_9", name: "calc", arguments: "{}" },
        { type: "function_call_output", call_id: "call_9", output: "4" },
      ],
    });
    expect(next.request.messages[1]).toEqual({
      role: "assistant",
      content: "4",
      toolCalls: [
        { id: "call_9", type: "function", function: { name: "calc", arguments: "{}" }, signature: "g" },
      ],
      reasoningBlocks: [{ type: "thinking", thinking: "add", signature: "sig" }],
    });
  });

  it("a reference to an unknown item, or to another client's: 404 naming the input item", async () => {
    const t = setup();
    await storedTurn(t);
    for (const [id, clientId] of [
      ["msg_9_r-7-xyz", "client-1"],
      ["msg_1_r-7-xyz", "client-2"],
      ["not-ours", "client-1"],
    ] as const) {
      const parsed = await t.parse({ model: "gpt", input: [{ type: "item_reference", id }] }, clientId);
      expect(parsed.ok ? undefined : parsed.error.message).toBe(`input[0].id: item ${id} not found`);
    }
  });

  it("a store that fails while reading: 503 unavailable", async () => {
    const t = setup();
    t.store.failing = true;
    const parsed = await t.parse({ model: "gpt", input: "x", previous_response_id: "resp_x" });
    expect(parsed.ok ? undefined : parsed.error.kind).toBe("unavailable");
  });

  it("input that holds no message (only reasoning that cannot be replayed) is refused", async () => {
    const t = setup();
    const parsed = await t.parse({ model: "gpt", input: [{ type: "reasoning", summary: [] }] });
    expect(parsed.ok ? undefined : parsed.error.message).toBe("input: holds no message to answer");
  });
});
