// The scripted mock upstream's server (src/testkit/mock-provider.ts), whatever the wire: scripts
// and defaults, request capture, stalls, drops, malformed and failing streams, content types and
// encodings, waits and close, and routing to its wires (a tiny test wire beside the OpenAI one);
// the OpenAI bytes themselves are mock-openai-wire.test.ts's (docs/providers.md).

import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openAiWire } from "./mock-openai-wire.js";
import {
  complete,
  dropMidStream,
  errorMidStream,
  errorResponse,
  type MockProvider,
  malformedSse,
  mislabelledEncoding,
  notAnEventStream,
  openAiErrorBody,
  overloaded,
  rateLimited,
  serverError,
  stallBeforeFirstByte,
  stallMidStream,
  startMockProvider,
  unauthorizedUnlessKey,
} from "./mock-provider.js";
import type { MockRoute, MockWire } from "./mock-wire.js";

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

describe("errors", () => {
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A tiny wire for the server's own tests: `POST /test/<endpoint>` (`/test/deployed` names a
 * deployment), the key in `x-test-key` or `?key=`, named events, and error bodies that echo what
 * the server handed it. It poses as "anthropic": the name is only a label here.
 */
const testWire: MockWire = {
  name: "anthropic",
  match(method, path) {
    if (method !== "POST" || !path.startsWith("/test/")) return undefined;
    const endpoint = path.slice("/test/".length);
    const route: MockRoute = { wire: "anthropic", endpoint };
    return endpoint === "deployed" ? { ...route, deployment: "dep-1" } : route;
  },
  apiKey: (request) => request.headers["x-test-key"] ?? request.query.key,
  streams: (_route, body) => isRecord(body) && body.stream === true,
  answerId: (route, n) => `test-${route.endpoint}-${n}`,
  streamEvents: (behaviour, context) => [
    { event: "start", data: { id: context.id, model: context.model } },
    ...(behaviour.content ?? ["Hello", " world"]).map((text) => ({ event: "text", data: { text } })),
    { data: "bye" },
  ],
  unaryBody: (behaviour, context) => ({
    id: context.id,
    model: context.model,
    text: (behaviour.content ?? ["Hello", " world"]).join(""),
  }),
  partialEvents: (chunks) =>
    Array.from({ length: chunks }, (_, k) => ({ event: "text", data: { text: `chunk${k + 1}` } })),
  errorBody: (error) => ({ failure: error }),
  errorHeaders: (error) => ({ "x-error-kind": error.kind, "x-overridden": "wire" }),
  errorStatus: (error) => (error.kind === "overloaded" ? 599 : error.status),
  streamErrorEvent: (error) => ({ event: "failure", data: { kind: error.kind, message: error.message } }),
  finishReason: (reason) => reason,
};

describe("wires", () => {
  let wired: MockProvider;

  beforeEach(async () => {
    wired = await startMockProvider({ wires: [testWire, openAiWire] });
  });

  afterEach(async () => {
    await wired.close();
  });

  function testRequest(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${wired.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  }

  it("routes each request to the wire whose path it is, and records which", async () => {
    const test = await testRequest("/test/generate", { model: "m1" });
    expect(await test.json()).toEqual({ id: "test-generate-0", model: "m1", text: "Hello world" });
    const openai = await testRequest("/v1/chat/completions", { model: "m2", messages: [] });
    expect(await openai.json()).toMatchObject({ id: "chatcmpl-mock-1", object: "chat.completion" });
    const unknown = await testRequest("/v1/messages", {});
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "unknown_url" } });
    expect(wired.requests.map((request) => request.wire)).toEqual(["anthropic", "openai", undefined]);
  });

  it("asks the first wire that matches", async () => {
    const greedy: MockWire = {
      ...testWire,
      match: (method) => (method === "POST" ? { wire: "anthropic", endpoint: "all" } : undefined),
    };
    const first = await startMockProvider({ wires: [greedy, openAiWire] });
    try {
      const response = await fetch(`${first.url}/v1/chat/completions`, { method: "POST", body: "{}" });
      expect(await response.json()).toEqual({ id: "test-all-0", model: "mock-model", text: "Hello world" });
      expect(first.requests[0]?.wire).toBe("anthropic");
    } finally {
      await first.close();
    }
  });

  it("formats named events as event: then data:, and a string payload as is", async () => {
    wired.script(complete({ content: ["a", "b"] }));
    const response = await testRequest("/test/x", { model: "m", stream: true });
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(await response.text()).toBe(
      'event: start\ndata: {"id":"test-x-0","model":"m"}\n\n' +
        'event: text\ndata: {"text":"a"}\n\n' +
        'event: text\ndata: {"text":"b"}\n\n' +
        "data: bye\n\n",
    );
  });

  it("pauses a named-event stream after n events and ends it with the wire's last event", async () => {
    let resume = () => {};
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    wired.script(complete({ pauseAfterEvents: 2, resume: resumed, contentEncoding: "deflate" }));
    const response = await testRequest("/test/x", { stream: true });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes('"Hello"}\n\n')) {
      const { value } = await reader.read();
      text += decoder.decode(value, { stream: true });
    }
    expect(text).not.toContain("world");
    resume();
    for (let next = await reader.read(); !next.done; next = await reader.read())
      text += decoder.decode(next.value, { stream: true });
    expect(text.endsWith('event: text\ndata: {"text":" world"}\n\ndata: bye\n\n')).toBe(true);
  });

  it("takes the model from the route when the body names none, and the key the wire's way", async () => {
    wired.script(unauthorizedUnlessKey("secret"), unauthorizedUnlessKey("secret"));
    const bearer = await testRequest("/test/deployed", {}, { authorization: "Bearer secret" });
    expect(bearer.status).toBe(401);
    expect(await bearer.json()).toMatchObject({ failure: { kind: "unauthorized", status: 401 } });
    const keyed = await testRequest("/test/deployed", {}, { "x-test-key": "secret" });
    expect(await keyed.json()).toEqual({ id: "test-deployed-1", model: "dep-1", text: "Hello world" });
    expect(
      wired.requests.map((request) => [request.apiKey, request.deployment, request.authorization]),
    ).toEqual([
      [undefined, "dep-1", "Bearer secret"],
      ["secret", "dep-1", undefined],
    ]);
  });

  it("hands the wire the error's kind, status, message and wait, and sends its headers", async () => {
    wired.script(rateLimited(3));
    const response = await testRequest("/test/x", {});
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("3");
    expect(response.headers.get("x-error-kind")).toBe("rate_limited");
    expect(await response.json()).toEqual({
      failure: {
        kind: "rate_limited",
        status: 429,
        message: "Rate limit reached for requests. Please try again later.",
        retryAfterSeconds: 3,
      },
    });
  });

  it("defaults the kind from the status and the message from the status", async () => {
    wired.script(errorResponse(418), errorResponse(503), errorResponse(413, { kind: "context_length" }));
    const bodies: unknown[] = [];
    for (let i = 0; i < 3; i++) bodies.push(await (await testRequest("/test/x", {})).json());
    expect(bodies).toEqual([
      { failure: { kind: "bad_request", status: 418, message: "Mock provider error 418" } },
      { failure: { kind: "server_error", status: 503, message: "Mock provider error 503" } },
      { failure: { kind: "context_length", status: 413, message: "Mock provider error 413" } },
    ]);
  });

  it("lets the wire pick the status, and the behaviour's headers win over the wire's", async () => {
    wired.script(overloaded(), errorResponse(500, { headers: { "x-overridden": "behaviour" } }));
    const busy = await testRequest("/test/x", {});
    expect(busy.status).toBe(599);
    expect(await busy.json()).toEqual({
      failure: { kind: "overloaded", status: 599, message: "Overloaded" },
    });
    const overridden = await testRequest("/test/x", {});
    expect(overridden.headers.get("x-overridden")).toBe("behaviour");
    expect(overridden.headers.get("x-error-kind")).toBe("server_error");
  });

  it("sends a behaviour's own body as is, under the scripted status, with the wire's headers", async () => {
    wired.script(errorResponse(529, { kind: "overloaded", body: { mine: true }, retryAfterSeconds: 2 }));
    const response = await testRequest("/test/x", {});
    expect(response.status).toBe(529);
    expect(response.headers.get("x-error-kind")).toBe("overloaded");
    expect(response.headers.get("retry-after")).toBe("2");
    expect(await response.json()).toEqual({ mine: true });
  });

  it("error-mid-stream sends the partial events, then the wire's error event, then ends", async () => {
    wired.script(errorMidStream(2), errorMidStream(1, { kind: "server_error", message: "boom" }));
    const overloadedStream = await testRequest("/test/x", { stream: true });
    expect(overloadedStream.status).toBe(200);
    expect(await overloadedStream.text()).toBe(
      'event: text\ndata: {"text":"chunk1"}\n\n' +
        'event: text\ndata: {"text":"chunk2"}\n\n' +
        'event: failure\ndata: {"kind":"overloaded","message":"Mock provider error 599"}\n\n',
    );
    const failed = await testRequest("/test/x", { stream: true });
    expect(await failed.text()).toBe(
      'event: text\ndata: {"text":"chunk1"}\n\nevent: failure\ndata: {"kind":"server_error","message":"boom"}\n\n',
    );
  });

  it("error-mid-stream answers a unary request with the wire's HTTP error for the kind", async () => {
    wired.script(errorMidStream(2, { kind: "rate_limited" }));
    const response = await testRequest("/test/x", {});
    expect(response.status).toBe(429);
    expect(response.headers.get("x-error-kind")).toBe("rate_limited");
    expect(await response.json()).toEqual({
      failure: { kind: "rate_limited", status: 429, message: "Mock provider error 429" },
    });
  });

  it("cuts a dropped unary body short in the wire's own JSON", async () => {
    wired.script(dropMidStream(0));
    const response = await testRequest("/test/x", { model: "m" });
    await expect(response.text()).rejects.toThrow();
  });
});
