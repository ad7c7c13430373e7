// The OpenAI wire of the mock upstream (src/testkit/mock-openai-wire.ts): the bytes of chat and
// legacy completions, streamed and unary, the error body of every error kind, errors mid-stream,
// keys from Bearer or Azure's api-key, checked with the openai client where it has a say
// (docs/providers.md).

import OpenAI, { type APIError, AzureOpenAI } from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openAiUnknownUrlBody, openAiWire } from "./mock-openai-wire.js";
import {
  badRequest,
  complete,
  contentFiltered,
  contextLengthExceeded,
  errorMidStream,
  errorResponse,
  forbidden,
  type MockBehaviour,
  type MockErrorKind,
  type MockProvider,
  overloaded,
  rateLimited,
  serverError,
  startMockProvider,
  unauthorized,
  unauthorizedUnlessKey,
} from "./mock-provider.js";

type ErrorClass = new (...args: never[]) => APIError;

let provider: MockProvider;

beforeEach(async () => {
  provider = await startMockProvider();
});

afterEach(async () => {
  await provider.close();
});

function client(): OpenAI {
  return new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "k", maxRetries: 0, logLevel: "off" });
}

function post(path: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${provider.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer k" },
    body: JSON.stringify(body),
  });
}

function chatRequest(body: Record<string, unknown> = {}): Promise<Response> {
  return post("/v1/chat/completions", {
    model: "gpt-test",
    messages: [{ role: "user", content: "say hello to me" }],
    ...body,
  });
}

/** The `data:` payloads of an SSE body, in order. */
function dataEvents(text: string): string[] {
  return text
    .split("\n\n")
    .filter((event) => event.startsWith("data: "))
    .map((event) => event.slice("data: ".length));
}

interface Chunk {
  object: string;
  choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>;
  usage?: Record<string, unknown> | null;
}

async function streamedChunks(body: Record<string, unknown>): Promise<{ chunks: Chunk[]; last: string }> {
  const response = await chatRequest({ stream: true, ...body });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const events = dataEvents(await response.text());
  return {
    chunks: events.slice(0, -1).map((event) => JSON.parse(event) as Chunk),
    last: events.at(-1) ?? "",
  };
}

const CREATED = Date.UTC(2026, 0, 1) / 1000;

describe("complete", () => {
  it("streams exactly OpenAI's chunk bytes", async () => {
    const response = await chatRequest({
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "hi there" }],
    });
    const head = { id: "chatcmpl-mock-0", object: "chat.completion.chunk", created: CREATED };
    const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
      ...head,
      model: "gpt-test",
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      usage: null,
    });
    const usage = { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 };
    const expected = [
      chunk({ role: "assistant", content: "", refusal: null }, null),
      chunk({ content: "Hello" }, null),
      chunk({ content: " world" }, null),
      chunk({}, "stop"),
      { ...head, model: "gpt-test", system_fingerprint: null, choices: [], usage },
    ]
      .map((payload) => `data: ${JSON.stringify(payload)}\n\n`)
      .join("");
    expect(await response.text()).toBe(`${expected}data: [DONE]\n\n`);
    expect(response.headers.get("x-request-id")).toBe("mock-request-0");
    expect(response.headers.get("cache-control")).toBe("no-cache");
  });

  it("streams a role chunk, content deltas, a finish chunk and [DONE]", async () => {
    const { chunks, last } = await streamedChunks({});
    expect(last).toBe("[DONE]");
    expect(chunks.map((chunk) => chunk.object)).toEqual(Array(4).fill("chat.completion.chunk"));
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: "assistant", content: "" });
    expect(chunks.slice(1, 3).map((chunk) => chunk.choices[0]?.delta.content)).toEqual(["Hello", " world"]);
    expect(chunks[3]?.choices[0]).toMatchObject({ delta: {}, finish_reason: "stop" });
    expect(chunks.every((chunk) => !("usage" in chunk))).toBe(true);
  });

  it("ends with a usage chunk when the request asks for usage", async () => {
    const { chunks, last } = await streamedChunks({ stream_options: { include_usage: true } });
    expect(last).toBe("[DONE]");
    const usageChunk = chunks.at(-1);
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage).toEqual({ prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it("lets the behaviour override whether usage is sent", async () => {
    provider.script(complete({ includeUsage: false }), complete({ includeUsage: true }));
    const without = await streamedChunks({ stream_options: { include_usage: true } });
    expect(without.chunks.some((chunk) => chunk.choices.length === 0)).toBe(false);
    const withUsage = await streamedChunks({});
    expect(withUsage.chunks.at(-1)?.usage).toMatchObject({ completion_tokens: 2 });
  });

  it("answers a unary request with one chat.completion", async () => {
    provider.script(complete({ content: ["a", "b", "c"], finishReason: "length" }));
    const completion = await client().chat.completions.create({
      model: "gpt-test",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: [{ type: "text", text: "one two three" }] },
      ],
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("gpt-test");
    expect(completion.choices[0]?.message).toMatchObject({ role: "assistant", content: "abc" });
    expect(completion.choices[0]?.finish_reason).toBe("length");
    expect(completion.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
  });

  it("passes given usage through, details included", async () => {
    const usage = {
      prompt_tokens: 100,
      completion_tokens: 20,
      prompt_tokens_details: { cached_tokens: 60 },
      completion_tokens_details: { reasoning_tokens: 5 },
    };
    provider.script(complete({ usage }));
    const { chunks } = await streamedChunks({ stream_options: { include_usage: true } });
    expect(chunks.at(-1)?.usage).toEqual({ ...usage, total_tokens: 120 });
  });

  it("leaves cache writes out of the usage, as OpenAI does not report them", async () => {
    const usage = { prompt_tokens: 10, completion_tokens: 2, cache_write_tokens: 4 };
    provider.script(complete({ usage }), complete({ usage }));
    const { chunks } = await streamedChunks({ stream_options: { include_usage: true } });
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 });
    const unary = (await (await chatRequest()).json()) as { usage: Record<string, unknown> };
    expect(unary.usage).toEqual({ prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 });
  });

  it("streams reasoning as delta.reasoning_content before the content, and joins it when unary", async () => {
    provider.script(
      complete({ reasoning: ["think", " hard"], content: ["ok"], reasoningSignature: "sig" }),
      complete({ reasoning: ["think", " hard"], content: ["ok"], redactedReasoning: "opaque" }),
    );
    const { chunks } = await streamedChunks({});
    expect(chunks.slice(1, 4).map((chunk) => chunk.choices[0]?.delta)).toEqual([
      { reasoning_content: "think" },
      { reasoning_content: " hard" },
      { content: "ok" },
    ]);
    const unary = (await (await chatRequest()).json()) as { choices: Array<{ message: unknown }> };
    expect(unary.choices[0]?.message).toEqual({
      role: "assistant",
      content: "ok",
      refusal: null,
      reasoning_content: "think hard",
    });
  });

  it("sends a native finish reason as is", async () => {
    provider.script(
      complete({ nativeFinishReason: "function_call" }),
      complete({ nativeFinishReason: "eos" }),
    );
    const { chunks } = await streamedChunks({});
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("function_call");
    const unary = (await (await chatRequest()).json()) as { choices: Array<{ finish_reason: string }> };
    expect(unary.choices[0]?.finish_reason).toBe("eos");
  });

  it("streams tool call deltas the openai client reassembles", async () => {
    provider.script(
      complete({
        content: [],
        toolCalls: [
          { id: "call_1", name: "get_weather", arguments: ['{"city":', '"Oslo"}'] },
          { id: "call_2", name: "get_time", arguments: ["{}"] },
        ],
      }),
    );
    const stream = await client().chat.completions.create({
      model: "gpt-test",
      messages: [{ role: "user", content: "weather?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    let finishReason: string | null = null;
    let completionTokens = 0;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        const entry = calls[call.index] ?? { id: "", name: "", arguments: "" };
        calls[call.index] = {
          id: call.id ?? entry.id,
          name: call.function?.name ?? entry.name,
          arguments: entry.arguments + (call.function?.arguments ?? ""),
        };
      }
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
    }
    expect(calls).toEqual([
      { id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' },
      { id: "call_2", name: "get_time", arguments: "{}" },
    ]);
    expect(finishReason).toBe("tool_calls");
    expect(completionTokens).toBe(3);
  });

  it("answers tool calls in a unary response", async () => {
    provider.script(
      complete({ content: [], toolCalls: [{ id: "call_1", name: "f", arguments: ['{"a"', ":1}"] }] }),
    );
    const completion = await client().chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
    });
    expect(completion.choices[0]?.message.content).toBeNull();
    expect(completion.choices[0]?.message.tool_calls).toEqual([
      { id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } },
    ]);
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("answers /v1/completions in the text_completion format", async () => {
    provider.script(complete({ content: ["x", "y"] }));
    const text = await client().completions.create({ model: "m", prompt: "a b c" });
    expect(text.choices[0]?.text).toBe("xy");
    expect(text.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    const stream = await client().completions.create({
      model: "m",
      prompt: "a",
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    let usageTokens = 0;
    for await (const chunk of stream) {
      pieces.push(chunk.choices[0]?.text ?? "");
      usageTokens = chunk.usage?.total_tokens ?? usageTokens;
    }
    expect(pieces.join("")).toBe("Hello world");
    expect(usageTokens).toBe(3);
  });
});

describe("errors", () => {
  it("answers 429 with retry-after and a rate_limit_error body", async () => {
    provider.script(rateLimited(7));
    const response = await chatRequest();
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("7");
    expect(await response.json()).toMatchObject({
      error: { type: "rate_limit_error", code: "rate_limit_exceeded" },
    });
  });

  it("sends no retry-after unless asked", async () => {
    provider.script(rateLimited());
    const response = await chatRequest();
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBeNull();
  });

  it.each<[string, MockBehaviour, ErrorClass, number, string | null]>([
    ["rateLimited", rateLimited(1), OpenAI.RateLimitError, 429, "rate_limit_exceeded"],
    ["serverError", serverError(), OpenAI.InternalServerError, 500, null],
    ["serverError(503)", serverError(503), OpenAI.InternalServerError, 503, null],
    ["overloaded", overloaded(), OpenAI.InternalServerError, 503, null],
    ["unauthorized", unauthorized(), OpenAI.AuthenticationError, 401, "invalid_api_key"],
    ["forbidden", forbidden(), OpenAI.PermissionDeniedError, 403, "permission_denied"],
    ["badRequest", badRequest("bad field"), OpenAI.BadRequestError, 400, null],
    ["contentFiltered", contentFiltered(), OpenAI.BadRequestError, 400, "content_filter"],
    [
      "contextLengthExceeded",
      contextLengthExceeded(),
      OpenAI.BadRequestError,
      400,
      "context_length_exceeded",
    ],
    [
      "quota_exhausted",
      errorResponse(429, { kind: "quota_exhausted", message: "You exceeded your current quota" }),
      OpenAI.RateLimitError,
      429,
      "insufficient_quota",
    ],
  ])(
    "%s makes the openai client raise its error class",
    async (_name, behaviour, errorClass, status, code) => {
      provider.script(behaviour);
      const error: unknown = await client()
        .chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(errorClass);
      expect((error as APIError).status).toBe(status);
      expect((error as APIError).code ?? null).toBe(code);
    },
  );

  it("carries the messages clients classify by", async () => {
    provider.script(contentFiltered(), contextLengthExceeded(), badRequest("bad field"));
    const messages: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await chatRequest();
      messages.push(((await response.json()) as { error: { message: string } }).error.message);
    }
    expect(messages[0]).toContain("content management policy");
    expect(messages[1]).toContain("This model's maximum context length is 4096 tokens");
    expect(messages[2]).toBe("bad field");
  });

  it.each<[MockErrorKind, number, string, string | null, string | null]>([
    ["rate_limited", 429, "rate_limit_error", "rate_limit_exceeded", null],
    ["server_error", 500, "server_error", null, null],
    ["overloaded", 503, "server_error", null, null],
    ["content_filter", 400, "invalid_request_error", "content_filter", "prompt"],
    ["context_length", 400, "invalid_request_error", "context_length_exceeded", "messages"],
    ["bad_request", 400, "invalid_request_error", null, null],
    ["request_too_large", 413, "invalid_request_error", null, null],
    ["forbidden", 403, "permission_error", "permission_denied", null],
    ["unauthorized", 401, "invalid_request_error", "invalid_api_key", null],
    ["quota_exhausted", 429, "insufficient_quota", "insufficient_quota", null],
    ["not_found", 404, "invalid_request_error", "model_not_found", null],
  ])(
    "kind %s is answered %i with its OpenAI type, code and param",
    async (kind, status, type, code, param) => {
      const scripted = kind === "overloaded" ? 529 : status;
      provider.script(errorResponse(scripted, { kind, message: `about ${kind}` }));
      const response = await chatRequest();
      expect(response.status).toBe(status);
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(await response.text()).toBe(
        JSON.stringify({ error: { message: `about ${kind}`, type, param, code } }),
      );
    },
  );

  it("takes the kind from the status, and a default message, when the behaviour names neither", async () => {
    provider.script(errorResponse(500), errorResponse(404), errorResponse(408));
    const bodies: unknown[] = [];
    for (let i = 0; i < 3; i++) bodies.push(await (await chatRequest()).json());
    expect(bodies).toEqual([
      { error: { message: "Mock provider error 500", type: "server_error", param: null, code: null } },
      {
        error: {
          message: "Mock provider error 404",
          type: "invalid_request_error",
          param: null,
          code: "model_not_found",
        },
      },
      {
        error: { message: "Mock provider error 408", type: "invalid_request_error", param: null, code: null },
      },
    ]);
  });

  it("keeps a scripted 529 when the behaviour gives its own body", async () => {
    provider.script(errorResponse(529, { kind: "overloaded", body: { error: "busy" } }));
    const response = await chatRequest();
    expect(response.status).toBe(529);
    expect(await response.json()).toEqual({ error: "busy" });
  });

  it("answers unknown paths with OpenAI's unknown_url body", async () => {
    const response = await fetch(`${provider.url}/v1/models`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual(openAiUnknownUrlBody("GET", "/v1/models"));
    expect(openAiUnknownUrlBody("GET", "/v1/models")).toEqual({
      error: {
        message: "Unknown request URL: GET /v1/models. Please check the URL for typos.",
        type: "invalid_request_error",
        param: null,
        code: "unknown_url",
      },
    });
  });
});

describe("error-mid-stream", () => {
  it("sends the chunks, then a data: {error} event, and ends without [DONE]", async () => {
    provider.script(errorMidStream(1, { kind: "rate_limited", message: "slow down" }));
    const response = await post("/v1/completions", { model: "m", stream: true, prompt: "x" });
    expect(response.status).toBe(200);
    const chunk = {
      id: "cmpl-mock-0",
      object: "text_completion",
      created: CREATED,
      model: "m",
      choices: [{ index: 0, text: "chunk1", logprobs: null, finish_reason: null }],
    };
    const error = {
      error: { message: "slow down", type: "rate_limit_error", param: null, code: "rate_limit_exceeded" },
    };
    expect(await response.text()).toBe(
      `data: ${JSON.stringify(chunk)}\n\ndata: ${JSON.stringify(error)}\n\n`,
    );
  });

  it("makes the openai client's stream throw an APIError after the chunks", async () => {
    provider.script(errorMidStream(2));
    const stream = await client().chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    const received: string[] = [];
    const error: unknown = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? "");
    })().catch((caught: unknown) => caught);
    expect(received).toEqual(["chunk1", " chunk2"]);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as APIError).message).toContain("Mock provider error 503");
  });

  it("answers a unary request with the HTTP error of the kind", async () => {
    provider.script(errorMidStream(1), errorMidStream(3, { kind: "context_length", message: "too long" }));
    const busy = await chatRequest();
    expect(busy.status).toBe(503);
    expect(await busy.json()).toMatchObject({ error: { type: "server_error" } });
    const long = await chatRequest();
    expect(long.status).toBe(400);
    expect(await long.json()).toMatchObject({
      error: { message: "too long", code: "context_length_exceeded" },
    });
  });
});

describe("unauthorized-unless-key", () => {
  it("answers 401 to a wrong key and the next behaviour to the right one", async () => {
    provider.setDefault(unauthorizedUnlessKey("secret", complete({ content: ["ok"] })));
    const wrong = await client()
      .chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    const right = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "secret", maxRetries: 0 });
    const completion = await right.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
    });
    expect(completion.choices[0]?.message.content).toBe("ok");
    expect(provider.requests.map((request) => request.authorization)).toEqual(["Bearer k", "Bearer secret"]);
  });

  it("accepts Azure's api-key header and records the deployment path and query", async () => {
    provider.script(unauthorizedUnlessKey("azure-key"));
    const azure = new AzureOpenAI({
      endpoint: provider.url,
      apiKey: "azure-key",
      apiVersion: "2024-10-21",
      deployment: "my-gpt",
      maxRetries: 0,
    });
    const completion = await azure.chat.completions.create({
      model: "",
      messages: [{ role: "user", content: "x" }],
    });
    expect(completion.choices[0]?.message.content).toBe("Hello world");
    const [request] = provider.requests;
    expect(request?.path).toBe("/openai/deployments/my-gpt/chat/completions");
    expect(request?.query).toEqual({ "api-version": "2024-10-21" });
    expect(request?.deployment).toBe("my-gpt");
    expect(request?.apiKey).toBe("azure-key");
    expect(request?.headers["api-key"]).toBe("azure-key");
    expect(request?.wire).toBe("openai");
  });
});

describe("openAiWire", () => {
  it("serves POSTs to chat, legacy completions and Azure deployment paths only", () => {
    expect(openAiWire.match("POST", "/v1/chat/completions")).toEqual({ wire: "openai", endpoint: "chat" });
    expect(openAiWire.match("POST", "/v1/completions")).toEqual({ wire: "openai", endpoint: "completions" });
    expect(openAiWire.match("POST", "/openai/deployments/my%20gpt/completions")).toEqual({
      wire: "openai",
      endpoint: "completions",
      deployment: "my gpt",
    });
    expect(openAiWire.match("GET", "/v1/chat/completions")).toBeUndefined();
    expect(openAiWire.match("POST", "/v1/messages")).toBeUndefined();
  });

  it("reads the key from a Bearer token, else from api-key", () => {
    expect(openAiWire.apiKey({ headers: { authorization: "bearer tok", "api-key": "az" }, query: {} })).toBe(
      "tok",
    );
    expect(openAiWire.apiKey({ headers: { "api-key": "az" }, query: {} })).toBe("az");
    expect(openAiWire.apiKey({ headers: { authorization: "Basic x" }, query: { key: "q" } })).toBeUndefined();
  });

  it("names answers chatcmpl-mock-n and cmpl-mock-n, and streams when the body says stream: true", () => {
    const chat = { wire: "openai", endpoint: "chat" } as const;
    const text = { wire: "openai", endpoint: "completions" } as const;
    expect(openAiWire.answerId(chat, 3)).toBe("chatcmpl-mock-3");
    expect(openAiWire.answerId(text, 0)).toBe("cmpl-mock-0");
    expect(openAiWire.streams(chat, { stream: true })).toBe(true);
    expect(openAiWire.streams(chat, { stream: "yes" })).toBe(false);
    expect(openAiWire.streams(chat, "not json")).toBe(false);
    expect(openAiWire.finishReason("tool_calls")).toBe("tool_calls");
  });
});
