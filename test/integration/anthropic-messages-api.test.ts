// The Anthropic Messages API as an inbound dialect (docs/api.md, "Anthropic Messages API"), end to
// end over real HTTP with the official @anthropic-ai/sdk (retries off) on the manual clock: a local
// mock deployment and remote OpenAI-family and Anthropic ones behind the testkit's mock upstream.
// Unary and streamed answers (helper and raw events), the tool round trip, thinking blocks and
// signatures replayed, cache usage, the SDK's error classes, an error after commit, count_tokens.

import Anthropic, {
  APIError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  RateLimitError,
} from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Secret } from "../../src/core/secret.js";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { ManualClock } from "../../src/testkit/manual-clock.js";
import {
  complete,
  errorMidStream,
  type MockProvider,
  rateLimited,
  startMockProvider,
} from "../../src/testkit/mock-provider.js";

const CLIENT_KEY = "client-key";
/** A signature as Anthropic sends them: base64, with `+`, `/` and padding. */
const SIGNATURE = "EqQBCk+gIA/RAA==";

let mock: MockProvider;
let system: InferenceSystem;
let gateway: ListeningGateway;
let client: Anthropic;

beforeAll(async () => {
  mock = await startMockProvider();
  const remote = { retry: { max_retries: 0 }, circuit_breaker: { failure_threshold: 1000 } };
  system = await createInferenceSystem({
    clock: new ManualClock(),
    random: () => 0.5,
    server: { apiKeys: [Secret.inline(CLIENT_KEY)] },
    deployments: [
      { name: "echo", model: "echo-1", runtime: "mock" },
      {
        name: "gpt",
        model: "gpt-4o",
        runtime: "openai",
        runtime_config: { api_key: "sk-test", base_url: `${mock.url}/v1`, ...remote },
      },
      {
        name: "vllm",
        model: "qwen3",
        runtime: "openai-compatible",
        runtime_config: { base_url: `${mock.url}/v1`, ...remote },
      },
      {
        name: "claude",
        model: "claude-sonnet-5",
        runtime: "anthropic",
        runtime_config: { api_key: "sk-ant-test", base_url: mock.url, ...remote },
      },
    ],
  });
  gateway = await system.listen({ bind: "127.0.0.1:0" });
  client = new Anthropic({ apiKey: CLIENT_KEY, baseURL: gateway.url, maxRetries: 0 });
});

afterAll(async () => {
  await system.close({ drainTimeoutMs: 0 });
  await mock.close();
});

beforeEach(() => mock.reset());

const lastBody = () => mock.requests[mock.requests.length - 1]?.body as Record<string, unknown>;

/** The `event:` names and parsed data of a raw SSE body. */
function sseEvents(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((line) => line.startsWith("event: "))?.slice("event: ".length) ?? "";
      const data = lines.find((line) => line.startsWith("data: "))?.slice("data: ".length) ?? "null";
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

/** POSTs a Messages body as an older Anthropic client does: x-api-key and the 2023 API version. */
function rawPost(path: string, body: unknown): Promise<Response> {
  return fetch(`${gateway.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-api-key": CLIENT_KEY,
      "anthropic-version": "2023-06-01",
    },
    body: JSON.stringify(body),
  });
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the request to fail");
}

const weatherTool: Anthropic.Tool = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

describe("POST /v1/messages over a local mock deployment", () => {
  it("unary: the echoed text, end_turn on a stop sequence, max_tokens at the limit, usage", async () => {
    const stopped = await client.messages.create({
      model: "echo",
      max_tokens: 16,
      stop_sequences: ["world"],
      messages: [{ role: "user", content: "hello there world" }],
    });
    expect(stopped).toMatchObject({
      type: "message",
      role: "assistant",
      model: "echo",
      content: [{ type: "text", text: "hello there " }],
      stop_reason: "end_turn",
      stop_sequence: null,
    });
    expect(stopped.id).toMatch(/^msg_/);
    expect(stopped.usage.input_tokens).toBe(3);

    const cut = await client.messages.create({
      model: "echo",
      max_tokens: 2,
      system: "ignored by the echo",
      messages: [{ role: "user", content: "hello there world" }],
    });
    expect(cut.content).toEqual([{ type: "text", text: "hello there" }]);
    expect(cut.stop_reason).toBe("max_tokens");
    expect(cut.usage).toMatchObject({
      output_tokens: 2,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
  });

  it("the SDK's stream helper: text events and the final message with the real usage", async () => {
    const stream = client.messages.stream({
      model: "echo",
      max_tokens: 3,
      messages: [{ role: "user", content: "one two three" }],
    });
    const pieces: string[] = [];
    stream.on("text", (text) => pieces.push(text));
    const final = await stream.finalMessage();
    expect(pieces.join("")).toBe("one two three");
    expect(final.content).toEqual([{ type: "text", text: "one two three" }]);
    expect(final.stop_reason).toBe("max_tokens");
    // message_start says 0: the counts are only known at the end, in message_delta
    expect(final.usage).toMatchObject({ input_tokens: 3, output_tokens: 3 });
  });

  it("the raw event sequence, for a client sending x-api-key and anthropic-version 2023-06-01", async () => {
    const response = await rawPost("/v1/messages", {
      model: "echo",
      max_tokens: 2,
      stream: true,
      messages: [{ role: "user", content: "alpha beta" }],
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const events = sseEvents(await response.text());
    expect(events.map(({ event }) => event)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(events[0]?.data).toMatchObject({
      type: "message_start",
      message: { type: "message", role: "assistant", model: "echo", content: [], stop_reason: null },
    });
    expect(events[2]?.data).toEqual({
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" },
    });
    expect(events[3]?.data).toEqual({
      type: "content_block_delta",
      index: 0,
      delta: { type: "text_delta", text: "alpha" },
    });
    expect(events[6]?.data).toMatchObject({
      type: "message_delta",
      delta: { stop_reason: "max_tokens", stop_sequence: null },
      usage: { input_tokens: 2, output_tokens: 2 },
    });
  });
  it("the beta client (Claude Code's path, /v1/messages?beta=true with anthropic-beta) is served the same", async () => {
    const message = await client.beta.messages.create({
      model: "echo",
      max_tokens: 2,
      betas: ["interleaved-thinking-2025-05-14"],
      messages: [{ role: "user", content: "beta path" }],
    });
    expect(message.content).toEqual([{ type: "text", text: "beta path" }]);
  });

  it("errors before parsing are Anthropic's too: invalid JSON", async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": CLIENT_KEY },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });
});

describe("POST /v1/messages over remote deployments", () => {
  it("tools over an OpenAI deployment: tool_use with parsed input, then the tool_result round trip", async () => {
    mock.script(
      complete({
        content: [],
        toolCalls: [{ id: "call_abc", name: "get_weather", arguments: ['{"city":', '"Oslo"}'] }],
      }),
      complete({ content: ["3 °C in Oslo."] }),
    );
    const question: Anthropic.MessageParam = { role: "user", content: "Weather in Oslo?" };
    const first = await client.messages.create({
      model: "gpt",
      max_tokens: 256,
      messages: [question],
      tools: [weatherTool],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
    });
    expect(first.content).toEqual([
      { type: "tool_use", id: "call_abc", name: "get_weather", input: { city: "Oslo" } },
    ]);
    expect(first.stop_reason).toBe("tool_use");
    expect(lastBody()).toMatchObject({
      tools: [{ type: "function", function: { name: "get_weather", parameters: weatherTool.input_schema } }],
      tool_choice: "required",
      parallel_tool_calls: false,
      max_completion_tokens: 256,
    });

    const second = await client.messages.create({
      model: "gpt",
      max_tokens: 256,
      tools: [weatherTool],
      messages: [
        question,
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_abc", content: "3 °C" }] },
      ],
    });
    expect(second.content).toEqual([{ type: "text", text: "3 °C in Oslo." }]);
    expect(second.stop_reason).toBe("end_turn");
    const messages = lastBody().messages as Array<Record<string, unknown>>;
    expect(messages.slice(1)).toMatchObject([
      {
        role: "assistant",
        tool_calls: [
          {
            id: "call_abc",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_abc", content: "3 °C" },
    ]);
  });

  it("tools, streamed: the SDK reassembles input_json_delta into the tool_use input", async () => {
    mock.script(
      complete({
        content: ["Checking."],
        toolCalls: [{ id: "call_1", name: "get_weather", arguments: ['{"ci', 'ty": "Bergen"}'] }],
      }),
    );
    const final = await client.messages
      .stream({
        model: "gpt",
        max_tokens: 64,
        tools: [weatherTool],
        messages: [{ role: "user", content: "Bergen?" }],
      })
      .finalMessage();
    expect(final.content).toEqual([
      { type: "text", text: "Checking." },
      { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Bergen" } },
    ]);
    expect(final.stop_reason).toBe("tool_use");
  });

  it("reasoning from a provider that signs nothing: shown as a thinking block with an empty signature, never replayed", async () => {
    mock.script(
      complete({ reasoning: ["Six ", "times seven."], content: ["42"] }),
      complete({ content: ["Yes."] }),
    );
    const first = await client.messages.create({
      model: "vllm",
      max_tokens: 64,
      messages: [{ role: "user", content: "6 x 7?" }],
    });
    expect(first.content).toEqual([
      { type: "thinking", thinking: "Six times seven.", signature: "" },
      { type: "text", text: "42" },
    ]);
    await client.messages.create({
      model: "vllm",
      max_tokens: 64,
      messages: [
        { role: "user", content: "6 x 7?" },
        { role: "assistant", content: first.content },
        { role: "user", content: "Sure?" },
      ],
    });
    const replayed = (lastBody().messages as Array<Record<string, unknown>>)[1];
    expect(replayed).toMatchObject({ role: "assistant", content: [{ type: "text", text: "42" }] });
    expect(replayed).not.toHaveProperty("thinking_blocks");
  });

  it("thinking over an Anthropic deployment: signed and redacted blocks come back whole and are replayed upstream", async () => {
    const thinkingAnswer = complete({
      redactedReasoning: "EmwKAhgBEgy3",
      reasoning: ["Oslo ", "first."],
      reasoningSignature: SIGNATURE,
      content: ["Sunny."],
    });
    mock.script(thinkingAnswer, thinkingAnswer, complete({ content: ["Still sunny."] }));
    const request = {
      model: "claude",
      max_tokens: 4096,
      thinking: { type: "enabled" as const, budget_tokens: 2048 },
      messages: [{ role: "user" as const, content: "Weather?" }],
    };
    const expected = [
      { type: "redacted_thinking", data: "EmwKAhgBEgy3" },
      { type: "thinking", thinking: "Oslo first.", signature: SIGNATURE },
      { type: "text", text: "Sunny." },
    ];
    const unary = await client.messages.create(request);
    expect(unary.content).toEqual(expected);
    // budget 2048 is a low effort: the adaptive model gets adaptive thinking at low effort
    expect(lastBody()).toMatchObject({ thinking: { type: "adaptive" }, output_config: { effort: "low" } });

    const signatures: string[] = [];
    const stream = client.messages.stream(request);
    stream.on("signature", (signature) => signatures.push(signature));
    const streamed = await stream.finalMessage();
    expect(streamed.content).toEqual(expected);
    expect(signatures).toEqual([SIGNATURE]);

    await client.messages.create({
      ...request,
      messages: [
        ...request.messages,
        { role: "assistant", content: streamed.content },
        { role: "user", content: "And tomorrow?" },
      ],
    });
    const replayed = (lastBody().messages as Array<{ role: string; content: unknown[] }>)[1];
    expect(replayed).toEqual({
      role: "assistant",
      content: [
        { type: "redacted_thinking", data: "EmwKAhgBEgy3" },
        { type: "thinking", thinking: "Oslo first.", signature: SIGNATURE },
        { type: "text", text: "Sunny." },
      ],
    });
  });

  it("cache usage over an Anthropic deployment: reads and writes as Anthropic reports them, input without them", async () => {
    const usage = {
      prompt_tokens: 100,
      completion_tokens: 5,
      prompt_tokens_details: { cached_tokens: 60 },
      cache_write_tokens: 30,
    };
    mock.script(complete({ content: ["ok"], usage }), complete({ content: ["ok"], usage }));
    const expected = {
      input_tokens: 10,
      output_tokens: 5,
      cache_read_input_tokens: 60,
      cache_creation_input_tokens: 30,
    };
    const body = {
      model: "claude",
      max_tokens: 32,
      messages: [{ role: "user" as const, content: "cached?" }],
    };
    expect((await client.messages.create(body)).usage).toMatchObject(expected);
    expect((await client.messages.stream(body).finalMessage()).usage).toMatchObject(expected);
  });

  it("a failure after commit: event error with Anthropic's body, no message_stop; the SDK throws an APIError", async () => {
    mock.script(errorMidStream(2));
    const response = await rawPost("/v1/messages", {
      model: "gpt",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "go" }],
    });
    expect(response.status).toBe(200);
    const events = sseEvents(await response.text());
    const names = events.map(({ event }) => event);
    expect(names.slice(0, 3)).toEqual(["message_start", "ping", "content_block_start"]);
    expect(names.at(-1)).toBe("error");
    expect(names).not.toContain("message_stop");
    expect(names).not.toContain("message_delta");
    expect(events.at(-1)?.data).toMatchObject({ type: "error", error: { type: "api_error" } });

    mock.script(errorMidStream(2));
    const failure = await failureOf(
      client.messages
        .stream({ model: "gpt", max_tokens: 64, messages: [{ role: "user", content: "go" }] })
        .finalMessage(),
    );
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).error).toMatchObject({ type: "error", error: { type: "api_error" } });
  });
});

describe("errors as the SDK's error classes", () => {
  it("400 naming max_tokens when it is missing", async () => {
    const failure = await failureOf(
      client.messages.create({ model: "echo", messages: [{ role: "user", content: "hi" }] } as never),
    );
    expect(failure).toBeInstanceOf(BadRequestError);
    expect((failure as BadRequestError).error).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "max_tokens: is required" },
    });
  });

  it("400 naming a server tool", async () => {
    const failure = await failureOf(
      client.messages.create({
        model: "gpt",
        max_tokens: 16,
        messages: [{ role: "user", content: "search" }],
        tools: [{ type: "web_search_20250305", name: "web_search" }],
      }),
    );
    expect(failure).toBeInstanceOf(BadRequestError);
    expect((failure as BadRequestError).error).toMatchObject({
      error: {
        type: "invalid_request_error",
        message: expect.stringContaining(
          'tools[0]: the server tool "web_search" (type "web_search_20250305")',
        ),
      },
    });
  });

  it("404 for an unknown model", async () => {
    const failure = await failureOf(
      client.messages.create({ model: "nope", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
    );
    expect(failure).toBeInstanceOf(NotFoundError);
    expect((failure as NotFoundError).error).toMatchObject({
      type: "error",
      error: { type: "not_found_error" },
    });
  });

  it("429 with retry-after, unary and streamed", async () => {
    mock.script(rateLimited(7), rateLimited(7));
    const body = { model: "gpt", max_tokens: 16, messages: [{ role: "user" as const, content: "hi" }] };
    for (const attempt of [client.messages.create(body), client.messages.stream(body).finalMessage()]) {
      const failure = await failureOf(attempt);
      expect(failure).toBeInstanceOf(RateLimitError);
      expect((failure as RateLimitError).headers?.get("retry-after")).toBe("7");
      expect((failure as RateLimitError).error).toMatchObject({ error: { type: "rate_limit_error" } });
    }
  });

  it("401 for a wrong x-api-key (and a wrong bearer key)", async () => {
    const byHeader = new Anthropic({
      apiKey: null,
      authToken: null,
      baseURL: gateway.url,
      maxRetries: 0,
      defaultHeaders: { "x-api-key": "wrong" },
    });
    const bearer = new Anthropic({ apiKey: "wrong", baseURL: gateway.url, maxRetries: 0 });
    for (const wrong of [byHeader, bearer]) {
      const failure = await failureOf(
        wrong.messages.create({ model: "echo", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
      );
      expect(failure).toBeInstanceOf(AuthenticationError);
      expect((failure as AuthenticationError).error).toEqual({
        type: "error",
        error: { type: "authentication_error", message: "invalid API key" },
      });
    }
  });
});

describe("POST /v1/messages/count_tokens", () => {
  const body = {
    system: "Be brief.",
    messages: [{ role: "user" as const, content: "how many tokens here" }],
  };

  it("a local deployment counts with its own tokenizer: exact, no estimate header", async () => {
    const { data, response } = await client.messages.countTokens({ model: "echo", ...body }).withResponse();
    // the mock runtime counts the words of every message, as its generations report input tokens
    expect(data).toEqual({ input_tokens: 6 });
    expect(response.headers.get("x-rakka-token-count")).toBeNull();
  });

  it("a provider without a count endpoint answers an estimate, flagged x-rakka-token-count: estimated", async () => {
    const { data, response } = await client.messages.countTokens({ model: "gpt", ...body }).withResponse();
    expect(data.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-rakka-token-count")).toBe("estimated");
    expect(mock.requests).toEqual([]);
  });

  it("refusals and an unknown model are the SDK's error classes", async () => {
    const refused = await failureOf(
      client.messages.countTokens({ model: "echo", messages: [{ role: "robot", content: "x" }] } as never),
    );
    expect(refused).toBeInstanceOf(BadRequestError);
    expect((refused as BadRequestError).error).toMatchObject({
      error: { type: "invalid_request_error", message: expect.stringMatching(/^messages\[0\]\.role: /) },
    });
    const unknown = await failureOf(client.messages.countTokens({ model: "nope", ...body }));
    expect(unknown).toBeInstanceOf(NotFoundError);
  });
});
