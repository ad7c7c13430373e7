import OpenAI, { type APIError, AzureOpenAI } from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  badRequest,
  complete,
  contentFiltered,
  contextLengthExceeded,
  dropMidStream,
  errorResponse,
  forbidden,
  type MockBehaviour,
  type MockProvider,
  malformedSse,
  mislabelledEncoding,
  notAnEventStream,
  openAiErrorBody,
  rateLimited,
  serverError,
  stallBeforeFirstByte,
  stallMidStream,
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

function chatRequest(body: Record<string, unknown> = {}, init: RequestInit = {}): Promise<Response> {
  return fetch(`${provider.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer k" },
    body: JSON.stringify({
      model: "gpt-test",
      messages: [{ role: "user", content: "say hello to me" }],
      ...body,
    }),
    ...init,
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

describe("complete", () => {
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

  it("sends a custom status, body and headers", async () => {
    provider.script(
      errorResponse(502, { body: "<html>bad gateway</html>", headers: { "x-upstream": "lb" } }),
    );
    const response = await chatRequest();
    expect(response.status).toBe(502);
    expect(response.headers.get("x-upstream")).toBe("lb");
    expect(response.headers.get("content-type")).toContain("text/plain");
    expect(await response.text()).toBe("<html>bad gateway</html>");
  });

  it("answers unknown paths with a 404 JSON without consuming the script", async () => {
    provider.script(serverError());
    const response = await fetch(`${provider.url}/v1/models`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "unknown_url" } });
    expect((await chatRequest()).status).toBe(500);
    expect(provider.requests.map((request) => request.path)).toEqual(["/v1/models", "/v1/chat/completions"]);
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
  });
});

describe("stalls, drops and malformed streams", () => {
  it("stall-before-first-byte holds the request until the client aborts, then the socket closes", async () => {
    provider.script(stallBeforeFirstByte());
    const abort = new AbortController();
    const pending = chatRequest({ stream: true }, { signal: abort.signal });
    await provider.waitForRequests(1);
    expect(provider.openConnections).toBe(1);
    abort.abort();
    await expect(pending).rejects.toThrow(/abort/i);
    await provider.waitForOpenConnections(0);
    expect(provider.openConnections).toBe(0);
    expect(provider.arrivals).toBe(1);
  });

  it("stall-before-first-byte keeps an openai client request pending until it aborts", async () => {
    provider.script(stallBeforeFirstByte());
    const abort = new AbortController();
    const pending = client().chat.completions.create(
      { model: "m", messages: [{ role: "user", content: "x" }] },
      { signal: abort.signal },
    );
    await provider.waitForRequests(1);
    abort.abort();
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    await provider.waitForOpenConnections(0);
  });

  it("stall-mid-stream sends n content chunks and holds until the server closes", async () => {
    provider.script(stallMidStream(2));
    const response = await chatRequest({ stream: true });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (dataEvents(text).length < 2) {
      const { value } = await reader.read();
      text += decoder.decode(value, { stream: true });
    }
    const chunks = dataEvents(text).map((event) => JSON.parse(event) as Chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([
      { role: "assistant", content: "chunk1" },
      { content: " chunk2" },
    ]);
    const next = reader.read();
    await provider.close();
    await expect(next).rejects.toThrow();
    expect(provider.openConnections).toBe(0);
  });

  it("stall-mid-stream ends when the client aborts the stream", async () => {
    provider.script(stallMidStream(1));
    const stream = await client().chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value?.choices[0]?.delta.content).toBe("chunk1");
    stream.controller.abort();
    await provider.waitForOpenConnections(0);
  });

  it("drop-mid-stream makes the client's stream throw after n chunks", async () => {
    provider.script(dropMidStream(3));
    const stream = await client().chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    const received: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? "");
      })(),
    ).rejects.toThrow();
    expect(received).toEqual(["chunk1", " chunk2", " chunk3"]);
    await provider.waitForOpenConnections(0);
  });

  it("drop-mid-stream cuts a unary response short", async () => {
    provider.script(dropMidStream(0));
    const error = await client()
      .chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
  });

  it("malformed-sse makes the client throw after n chunks", async () => {
    provider.script(malformedSse(1));
    const stream = await client().chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    const received: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? "");
      })(),
    ).rejects.toThrow(SyntaxError);
    expect(received).toEqual(["chunk1"]);
  });

  it("malformed-sse sends the broken event verbatim", async () => {
    provider.script(malformedSse(0));
    const response = await chatRequest({ stream: true });
    expect(await response.text()).toBe("data: {not json\n\n");
  });
});

describe("content types and encodings", () => {
  it.each(["gzip", "br", "deflate"] as const)(
    "complete({ contentEncoding: %s }) encodes the stream and says so",
    async (encoding) => {
      provider.script(complete({ content: ["a", "b"], contentEncoding: encoding }));
      const response = await chatRequest({ stream: true });
      expect(response.headers.get("content-encoding")).toBe(encoding);
      const events = dataEvents(await response.text()); // fetch decodes it
      expect(events.at(-1)).toBe("[DONE]");
      expect(
        events.slice(1, 3).map((event) => (JSON.parse(event) as Chunk).choices[0]?.delta.content),
      ).toEqual(["a", "b"]);
    },
  );

  it("an encoded stream is flushed after every event, so it decodes before the rest is sent", async () => {
    let resume = () => {};
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    provider.script(complete({ contentEncoding: "gzip", pauseAfterEvents: 2, resume: resumed }));
    const response = await chatRequest({ stream: true });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (dataEvents(text).length < 2) {
      const { value } = await reader.read();
      text += decoder.decode(value, { stream: true });
    }
    expect((JSON.parse(dataEvents(text)[1] ?? "") as Chunk).choices[0]?.delta.content).toBe("Hello");
    resume();
    for (let next = await reader.read(); !next.done; next = await reader.read())
      text += decoder.decode(next.value, { stream: true });
    expect(dataEvents(text).at(-1)).toBe("[DONE]");
  });

  it("encodes a unary body and an error body", async () => {
    provider.script(
      complete({ content: ["z"], contentEncoding: "br" }),
      errorResponse(400, { body: openAiErrorBody("no", "invalid_request_error"), contentEncoding: "gzip" }),
    );
    const completion = await client().chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
    });
    expect(completion.choices[0]?.message.content).toBe("z");
    const response = await chatRequest();
    expect(response.status).toBe(400);
    expect(response.headers.get("content-encoding")).toBe("gzip");
    expect(await response.json()).toMatchObject({ error: { message: "no" } });
  });

  it("complete({ contentType }) replaces the content-type header", async () => {
    provider.script(complete({ contentType: "TEXT/Event-Stream; Charset=UTF-8" }));
    const response = await chatRequest({ stream: true });
    expect(response.headers.get("content-type")).toBe("TEXT/Event-Stream; Charset=UTF-8");
    expect(dataEvents(await response.text()).at(-1)).toBe("[DONE]");
  });

  it("notAnEventStream answers 200 text/html to a streaming request, or no content-type at all", async () => {
    provider.script(
      notAnEventStream(),
      notAnEventStream({ contentType: undefined, body: "?" }),
      notAnEventStream({ status: 203, contentType: "application/json", body: "{}" }),
    );
    const html = await chatRequest({ stream: true });
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await html.text()).toContain("<html>");
    const bare = await chatRequest({ stream: true });
    expect(bare.headers.get("content-type")).toBeNull();
    expect(await bare.text()).toBe("?");
    const json = await chatRequest();
    expect(json.status).toBe(203);
    expect(await json.text()).toBe("{}");
  });

  it("mislabelledEncoding sends the header over an unencoded body", async () => {
    provider.script(mislabelledEncoding("zstd"), mislabelledEncoding("gzip"));
    const zstd = await chatRequest({ stream: true });
    expect(zstd.headers.get("content-encoding")).toBe("zstd");
    expect(dataEvents(await zstd.text()).at(-1)).toBe("[DONE]"); // fetch leaves an unknown coding alone
    const gzip = await chatRequest({ stream: true });
    expect(gzip.headers.get("content-encoding")).toBe("gzip");
    await expect(gzip.text()).rejects.toThrow();
  });
});

describe("script, requests and lifecycle", () => {
  it("consumes scripted behaviours in order, then answers with the default", async () => {
    provider.script(serverError(503), rateLimited(1));
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await chatRequest()).status);
    expect(statuses).toEqual([503, 429, 200]);
  });

  it("uses a default chosen per request", async () => {
    provider.setDefault((request) => (request.arrivedAt % 2 === 0 ? serverError() : complete()));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await chatRequest()).status);
    expect(statuses).toEqual([500, 200, 500, 200]);
  });

  it("records every request with lower-case headers and the parsed body", async () => {
    await chatRequest({ temperature: 0 }, { headers: { "X-Custom": "v", authorization: "Bearer abc" } });
    await fetch(`${provider.url}/v1/chat/completions`, { method: "POST", body: "not json" });
    const [first, second] = provider.requests;
    expect(first).toMatchObject({
      method: "POST",
      path: "/v1/chat/completions",
      arrivedAt: 0,
      authorization: "Bearer abc",
      apiKey: "abc",
      body: { model: "gpt-test", temperature: 0 },
    });
    expect(first?.headers["x-custom"]).toBe("v");
    expect(second).toMatchObject({
      arrivedAt: 1,
      body: "not json",
      rawBody: "not json",
      authorization: undefined,
    });
    expect(provider.arrivals).toBe(2);
  });

  it("waitForRequests resolves once n requests arrived, stalled ones included", async () => {
    provider.setDefault(stallBeforeFirstByte());
    const waiting = provider.waitForRequests(3);
    let resolved = false;
    void waiting.then(() => {
      resolved = true;
    });
    const abort = new AbortController();
    const pending = [1, 2, 3].map(() => chatRequest({}, { signal: abort.signal }).catch(() => undefined));
    await provider.waitForRequests(2);
    expect(provider.arrivals).toBeGreaterThanOrEqual(2);
    await waiting;
    expect(resolved).toBe(true);
    expect(provider.arrivals).toBe(3);
    await provider.waitForRequests(1); // already satisfied: resolves at once
    abort.abort();
    await Promise.all(pending);
    await provider.waitForOpenConnections(0);
  });

  it("reset clears the script, the requests, the counters and the default", async () => {
    provider.setDefault(serverError());
    provider.script(rateLimited());
    await chatRequest();
    provider.reset();
    expect(provider.requests).toEqual([]);
    expect(provider.arrivals).toBe(0);
    expect((await chatRequest()).status).toBe(200);
    expect(provider.requests[0]?.arrivedAt).toBe(0);
  });

  it("close destroys stalled sockets and rejects pending waits", async () => {
    provider.script(stallBeforeFirstByte());
    const pending = chatRequest();
    await provider.waitForRequests(1);
    const neverArriving = expect(provider.waitForRequests(5)).rejects.toThrow(/closed/);
    await provider.close();
    await expect(pending).rejects.toThrow();
    await neverArriving;
    expect(provider.openConnections).toBe(0);
  });
});
