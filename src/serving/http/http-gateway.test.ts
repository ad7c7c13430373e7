import { request as httpRequest } from "node:http";
import OpenAI, { APIError, NotFoundError, RateLimitError } from "openai";
import { afterEach, describe, expect, it } from "vitest";
import type { Logger } from "../../actor/index.js";
import type { CompletionResult, ServiceRequest } from "../../core/dialect.js";
import type { EmbeddingResult, TokenCount } from "../../core/embedding.js";
import { errors, type InferenceError } from "../../core/inference-error.js";
import { Secret } from "../../core/secret.js";
import { type TokenChunk, Tokens } from "../../core/token-chunk.js";
import { ManualClock, until } from "../../testkit/manual-clock.js";
import { anthropicMessagesDialect } from "../dialects/anthropic/anthropic-messages-dialect.js";
import type {
  ClusterStatus,
  DeploymentStatus,
  InferenceServicePort,
  RequestHandle,
} from "../service-types.js";
import {
  createHttpGateway,
  type ListeningGateway,
  type ServedDialect,
  servedDialect,
} from "./http-gateway.js";

// ── a scripted InferenceServicePort ───────────────────────────────────────────────────────────

interface Script {
  readonly chunks?: readonly TokenChunk[];
  /** Thrown by the first next(), before any chunk. */
  readonly failBefore?: InferenceError | Error;
  /** Thrown after the chunks. */
  readonly failAfter?: InferenceError;
  /** After the chunks, wait until the request is cancelled. */
  readonly hangAfterChunks?: boolean;
  /** After the chunks, wait for this gate, then send `afterGate`. */
  readonly gate?: Promise<void>;
  readonly afterGate?: readonly TokenChunk[];
  readonly deployment?: string;
}

const helloChunks: readonly TokenChunk[] = [
  { text: "Hello" },
  { text: " world" },
  { text: "", finishReason: "stop", usage: { inputTokens: 3, outputTokens: 2 } },
];

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

class FakeInferenceService implements InferenceServicePort {
  script: (request: ServiceRequest) => Script = () => ({ chunks: helloChunks });
  readonly requests: ServiceRequest[] = [];
  cancels = 0;
  readonly cancelled = deferred();
  statuses: DeploymentStatus[] = [status("tiny", "serving")];
  startThrows: Error | undefined;
  #sequence = 0;

  start(request: ServiceRequest): RequestHandle {
    if (this.startThrows) throw this.startThrows;
    this.requests.push(request);
    const requestId = `req-${++this.#sequence}`;
    const script = this.script(request);
    const stop = deferred();
    let cancelled = false;
    async function* chunks(): AsyncGenerator<TokenChunk> {
      if (script.failBefore) throw script.failBefore;
      for (const chunk of script.chunks ?? []) {
        if (cancelled) return;
        yield chunk;
      }
      if (script.gate) {
        await script.gate;
        yield* script.afterGate ?? [];
      }
      if (script.hangAfterChunks) {
        await stop.promise;
        throw errors.internal("cancelled");
      }
      if (script.failAfter) throw script.failAfter;
    }
    return {
      requestId,
      chunks: chunks(),
      servedBy: () => script.deployment ?? request.model,
      servedOn: () => undefined,
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        this.cancels++;
        stop.resolve();
        this.cancelled.resolve();
      },
    };
  }

  async complete(
    request: ServiceRequest,
    options?: { signal?: AbortSignal; onCancel?: (cancel: () => void) => void },
  ): Promise<CompletionResult> {
    const handle = this.start(request);
    options?.signal?.addEventListener("abort", () => handle.cancel());
    options?.onCancel?.(() => handle.cancel());
    const tokens = new Tokens();
    for await (const chunk of handle.chunks) tokens.append(chunk);
    return {
      requestId: handle.requestId,
      deployment: handle.servedBy() ?? request.model,
      text: tokens.text,
      toolCalls: tokens.toolCalls,
      finishReason: tokens.finishReason ?? "stop",
      usage: tokens.usage ?? { inputTokens: 0, outputTokens: 0 },
    };
  }

  async embed(): Promise<EmbeddingResult> {
    throw errors.internal("the gateway tests do not embed");
  }

  async countTokens(): Promise<TokenCount> {
    throw errors.internal("the gateway tests do not count tokens");
  }

  async deployments(): Promise<readonly DeploymentStatus[]> {
    return this.statuses;
  }

  async metricsText(): Promise<string> {
    return "# TYPE rakka_requests_total counter\nrakka_requests_total 1\n";
  }
}

function status(name: string, state: DeploymentStatus["state"], reason?: string): DeploymentStatus {
  return {
    name,
    state,
    ...(reason === undefined ? {} : { reason }),
    replicas: 1,
    readyReplicas: state === "serving" ? 1 : 0,
    runtime: "mock",
    model: "mock",
    gpus: 0,
  };
}

// ── harness ───────────────────────────────────────────────────────────────────────────────────

const NOW = 1_700_000_000_000;
let running: ListeningGateway[] = [];

afterEach(async () => {
  await Promise.all(running.map((gateway) => gateway.close()));
  running = [];
});

/** A logger that keeps what was logged at warn and above. */
function recordingLogger(): Logger & { readonly warnings: Array<{ object: object; message: string }> } {
  const warnings: Array<{ object: object; message: string }> = [];
  const keep = (object: object, message: string) => warnings.push({ object, message });
  return { warnings, debug() {}, info() {}, warn: keep, error: keep };
}

async function start(
  options: {
    apiKeys?: string[];
    maxBodyBytes?: number;
    bodyTimeoutMs?: number;
    logger?: Logger;
    clock?: ManualClock;
    cluster?: () => ClusterStatus | undefined;
    dialects?: readonly ServedDialect[];
  } = {},
) {
  const service = new FakeInferenceService();
  const clock = options.clock ?? new ManualClock(NOW);
  const gateway = createHttpGateway({
    service,
    server: {
      apiKeys: (options.apiKeys ?? []).map((key) => Secret.inline(key)),
      maxBodyBytes: options.maxBodyBytes ?? 16 * 1024,
      bodyTimeoutMs: options.bodyTimeoutMs ?? 30_000,
      requestTimeoutMs: 600_000,
    },
    clock,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.cluster ? { cluster: options.cluster } : {}),
    ...(options.dialects ? { dialects: options.dialects } : {}),
  });
  const listening = await gateway.listen("127.0.0.1", 0);
  running.push(listening);
  const client = new OpenAI({ baseURL: `${listening.url}/v1`, apiKey: "key-1", maxRetries: 0 });
  return { service, url: listening.url, listening, client };
}

const chatBody = { model: "tiny", messages: [{ role: "user", content: "hi" }] };

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function errorOf(response: Response): Promise<{ message: string; type: string; code: string }> {
  const json = (await response.json()) as { error: { message: string; type: string; code: string } };
  return json.error;
}

/** The `data:` payloads of an SSE body. */
function events(text: string): string[] {
  return text
    .split("\n\n")
    .filter((block) => block.length > 0)
    .map((block) => {
      expect(block.startsWith("data: ")).toBe(true);
      return block.slice("data: ".length);
    });
}

// ── tests ─────────────────────────────────────────────────────────────────────────────────────

describe("chat completions through the official client", () => {
  it("answers a unary request with a chat.completion", async () => {
    const { client, service } = await start();
    service.script = () => ({ chunks: helloChunks, deployment: "tiny-backup" });
    const { data, response } = await client.chat.completions
      .create({ model: "tiny", messages: [{ role: "user", content: "hi" }], temperature: 0.2 })
      .withResponse();
    expect(data.id).toBe("chatcmpl-req-1");
    expect(data.object).toBe("chat.completion");
    expect(data.created).toBe(NOW / 1000);
    expect(data.model).toBe("tiny");
    expect(data.choices[0]?.message).toMatchObject({ role: "assistant", content: "Hello world" });
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(response.headers.get("x-rakka-deployment")).toBe("tiny-backup");
    expect(service.requests[0]?.sampling).toEqual({ temperature: 0.2 });
  });

  it("streams deltas, the final chunk and the usage chunk", async () => {
    const { client } = await start();
    const stream = await client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "" });
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("Hello world");
    const finals = chunks.filter((chunk) => chunk.choices[0]?.finish_reason);
    expect(finals.map((chunk) => chunk.choices[0]?.finish_reason)).toEqual(["stop"]);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(new Set(chunks.map((chunk) => chunk.id))).toEqual(new Set(["chatcmpl-req-1"]));
  });

  it("streams tool-call deltas", async () => {
    const { client, service } = await start();
    service.script = () => ({
      chunks: [
        { text: "", toolCalls: [{ index: 0, id: "call_1", type: "function", function: { name: "look" } }] },
        { text: "", toolCalls: [{ index: 0, function: { arguments: '{"q":1}' } }] },
        { text: "", finishReason: "tool_calls", usage: { inputTokens: 1, outputTokens: 4 } },
      ],
    });
    const stream = await client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      tools: [{ type: "function", function: { name: "look" } }],
      stream: true,
    });
    const deltas = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(deltas).toEqual([
      { index: 0, id: "call_1", type: "function", function: { name: "look" } },
      { index: 0, function: { arguments: '{"q":1}' } },
    ]);
    expect(finish).toBe("tool_calls");
    expect(service.requests[0]?.features.tools).toEqual([{ name: "look" }]);
  });

  it("delivers an unknown deployment as NotFoundError", async () => {
    const { client, service } = await start();
    service.script = () => ({ failBefore: errors.notFound('deployment "nope" not found') });
    const failure = await client.chat.completions
      .create({ model: "nope", messages: [{ role: "user", content: "hi" }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(NotFoundError);
    expect((failure as NotFoundError).message).toContain('deployment "nope" not found');
    expect((failure as NotFoundError).code).toBe("not_found");
  });

  it("delivers a rate limit as RateLimitError with Retry-After", async () => {
    const { client, service } = await start();
    service.script = () => ({ failBefore: errors.rateLimited("slow down", 2_500) });
    const failure = await client.chat.completions
      .create({ model: "tiny", messages: [{ role: "user", content: "hi" }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RateLimitError);
    expect((failure as RateLimitError).headers.get("retry-after")).toBe("3");
    expect((failure as RateLimitError).code).toBe("rate_limited");
  });

  it("surfaces a failure after commit as an error thrown from the client's stream", async () => {
    const { client, service } = await start();
    service.script = () => ({
      chunks: [{ text: "partial" }],
      failAfter: errors.timeout("read timeout", "read"),
    });
    const stream = await client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    let text = "";
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    })().catch((error: unknown) => error);
    expect(text).toBe("partial");
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).message).toContain("read timeout");
  });

  it("delivers a pre-commit stream failure as a typed client error", async () => {
    const { client, service } = await start();
    service.script = () => ({ failBefore: errors.rateLimited("slow down", 1_000) });
    const failure = await client.chat.completions
      .create({ model: "tiny", messages: [{ role: "user", content: "hi" }], stream: true })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RateLimitError);
  });
});

describe("completions through the official client", () => {
  it("answers unary and streamed text completions", async () => {
    const { client, service } = await start();
    const unary = await client.completions.create({ model: "tiny", prompt: "say hi", max_tokens: 4 });
    expect(unary.object).toBe("text_completion");
    expect(unary.id).toBe("cmpl-req-1");
    expect(unary.choices[0]?.text).toBe("Hello world");
    expect(service.requests[0]?.messages).toEqual([{ role: "user", content: "say hi" }]);

    const stream = await client.completions.create({
      model: "tiny",
      prompt: "say hi",
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe("Hello world");
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
  });
});

describe("streaming semantics", () => {
  it("ends a stream that fails after tokens with the SSE error event and no [DONE]", async () => {
    const { url, service } = await start();
    service.script = () => ({
      chunks: [{ text: "partial" }],
      failAfter: errors.serverError("upstream exploded", 500),
    });
    const response = await post(`${url}/v1/chat/completions`, { ...chatBody, stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(response.headers.get("cache-control")).toBe("no-cache");
    const payloads = events(await response.text());
    expect(payloads).not.toContain("[DONE]");
    expect(JSON.parse(payloads.at(-1) ?? "")).toEqual({
      error: { message: "upstream exploded", type: "upstream_error", code: "server_error" },
    });
    expect(payloads.map((payload) => JSON.parse(payload).choices?.[0]?.delta?.content)).toContain("partial");
  });

  it("a failed request's warning carries its request id (when known) and deployment", async () => {
    const logger = recordingLogger();
    const { url, service } = await start({ logger });
    service.script = () => ({ chunks: [{ text: "partial" }], failAfter: errors.serverError("after", 500) });
    await (await post(`${url}/v1/chat/completions`, { ...chatBody, stream: true })).text();
    service.script = () => ({ failBefore: errors.serverError("before", 500) });
    await (await post(`${url}/v1/chat/completions`, { ...chatBody, stream: true })).text();
    await (await post(`${url}/v1/chat/completions`, chatBody)).text(); // unary: no id once it failed
    expect(logger.warnings.map((warning) => warning.object)).toEqual([
      expect.objectContaining({ requestId: "req-1", deployment: "tiny" }),
      expect.objectContaining({ requestId: "req-2", deployment: "tiny" }),
      expect.objectContaining({ deployment: "tiny" }),
    ]);
  });

  it("never dresses up a stream that stops without its final chunk as finished", async () => {
    const { url, service } = await start();
    // the chunks just stop (a server-side cancel): no finish_reason, no usage
    service.script = () => ({ chunks: [{ text: "partial" }] });
    const response = await post(`${url}/v1/chat/completions`, { ...chatBody, stream: true });
    expect(response.status).toBe(200);
    const payloads = events(await response.text());
    expect(payloads).not.toContain("[DONE]");
    expect(payloads.some((payload) => JSON.parse(payload).choices?.[0]?.finish_reason)).toBe(false);
    expect(JSON.parse(payloads.at(-1) ?? "")).toMatchObject({ error: { code: "internal" } });
  });

  it("ends a successful stream with [DONE]", async () => {
    const { url } = await start();
    const response = await post(`${url}/v1/chat/completions`, { ...chatBody, stream: true });
    expect(response.headers.get("x-rakka-deployment")).toBe("tiny");
    expect(events(await response.text()).at(-1)).toBe("[DONE]");
  });

  it("answers a failure before the first chunk with a plain HTTP status", async () => {
    const { url, service } = await start();
    service.script = () => ({ failBefore: errors.circuitOpen("circuit open", NOW - 1_000, NOW + 4_200) });
    const response = await post(`${url}/v1/chat/completions`, { ...chatBody, stream: true });
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("retry-after")).toBe("5");
    expect(await errorOf(response)).toEqual({
      message: "circuit open",
      type: "service_unavailable",
      code: "circuit_open",
    });
  });

  it("cancels the request when the client disconnects mid-stream", async () => {
    const { url, service } = await start();
    service.script = () => ({ chunks: [{ text: "first" }], hangAfterChunks: true });
    const controller = new AbortController();
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ ...chatBody, stream: true }),
      signal: controller.signal,
    });
    const reader = response.body?.getReader();
    let seen = "";
    while (!seen.includes("first")) {
      const read = await reader?.read();
      if (!read || read.done) break;
      seen += Buffer.from(read.value).toString("utf8");
    }
    expect(seen).toContain("first");
    expect(service.cancels).toBe(0);
    controller.abort();
    await service.cancelled.promise;
    expect(service.cancels).toBe(1);
  });

  it("aborts a unary request when the client disconnects, without logging a 500", async () => {
    const logger = recordingLogger();
    const { url, service } = await start({ logger });
    service.script = () => ({ chunks: [{ text: "first" }], hangAfterChunks: true });
    const controller = new AbortController();
    const pending = fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify(chatBody),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await until(() => service.requests.length > 0);
    controller.abort();
    await service.cancelled.promise;
    expect(await pending).toBeInstanceOf(Error);
    expect(service.cancels).toBe(1);
    // the request's own end (the fake throws internal once cancelled) reaches the handler
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(logger.warnings).toEqual([]);
  });
});

describe("errors in the route's dialect", () => {
  const anthropic = [servedDialect("/v1/messages", anthropicMessagesDialect)];

  it("an unknown path under a dialect's path answers in that dialect's error shape; elsewhere OpenAI's", async () => {
    const { url } = await start({ dialects: anthropic });
    const batches = await post(`${url}/v1/messages/batches`, {});
    expect(batches.status).toBe(404);
    expect(await batches.json()).toEqual({
      type: "error",
      error: { type: "not_found_error", message: "unknown path: POST /v1/messages/batches" },
    });
    const other = await post(`${url}/v1/nothing`, {});
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("a missing key on a dialect's route answers 401 in that dialect's shape", async () => {
    const { url } = await start({ dialects: anthropic, apiKeys: ["key-1"] });
    const refused = await post(`${url}/v1/messages`, {}, { "x-api-key": "wrong" });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
  });
});

describe("request validation", () => {
  it("refuses malformed JSON", async () => {
    const { url } = await start();
    const response = await post(`${url}/v1/chat/completions`, '{"model": "tiny",');
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.message).toMatch(/^invalid JSON: /);
    expect(error).toMatchObject({ type: "invalid_request_error", code: "bad_request" });
  });

  it.each([
    [{ model: "tiny", messages: "hi" }, "messages: must be a non-empty array"],
    [
      { model: "tiny", messages: [{ role: "robot", content: "x" }] },
      "messages[0].role: must be one of system, user, assistant, tool, developer",
    ],
    [{ ...chatBody, max_tokens: -5 }, "max_tokens: must be a positive integer"],
    [{ ...chatBody, temperature: 3 }, "temperature: must be between 0 and 2"],
    [{ ...chatBody, n: 2 }, "n: only n = 1 is supported"],
    [{ ...chatBody, logprobs: true }, "logprobs: log probabilities are not supported"],
  ])("refuses %j with 400 naming the field", async (body, message) => {
    const { url, service } = await start();
    const response = await post(`${url}/v1/chat/completions`, body);
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toEqual({ message, type: "invalid_request_error", code: "bad_request" });
    expect(service.requests).toEqual([]);
  });

  it("refuses a body over max_body_bytes with 413 (declared length)", async () => {
    const { url } = await start({ maxBodyBytes: 2048 });
    const response = await post(`${url}/v1/chat/completions`, {
      ...chatBody,
      messages: [{ role: "user", content: "x".repeat(10_000) }],
    });
    expect(response.status).toBe(413);
    expect((await errorOf(response)).message).toBe("request body exceeds max_body_bytes (2048)");
  });

  it("refuses a chunked body that grows past max_body_bytes with 413", async () => {
    const { listening } = await start({ maxBodyBytes: 2048 });
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(
        { host: "127.0.0.1", port: listening.port, method: "POST", path: "/v1/chat/completions" },
        (response) => {
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => {
            body += chunk;
          });
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on("error", reject);
      request.write(`{"model":"tiny","messages":[{"role":"user","content":"${"y".repeat(4096)}`);
    });
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body).error.code).toBe("bad_request");
  });

  it("accepts a body just under the limit", async () => {
    const { url } = await start({ maxBodyBytes: 2048 });
    const body = JSON.stringify({ ...chatBody, user: "" });
    const padded = JSON.stringify({ ...chatBody, user: "u".repeat(2048 - body.length) });
    expect(Buffer.byteLength(padded)).toBe(2048);
    expect((await post(`${url}/v1/chat/completions`, padded)).status).toBe(200);
  });
});

describe("routing", () => {
  it("answers an unknown path with a 404 error body", async () => {
    const { url } = await start();
    const response = await fetch(`${url}/v2/nothing`);
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ type: "not_found_error", code: "not_found" });
  });

  it("answers a wrong method with 405 and Allow", async () => {
    const { url } = await start();
    const get = await fetch(`${url}/v1/chat/completions`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect((await errorOf(get)).message).toContain("GET");
    const post405 = await post(`${url}/healthz`, {});
    expect(post405.status).toBe(405);
    expect(post405.headers.get("allow")).toBe("GET, HEAD");
  });

  it("lists serving deployments at /v1/models", async () => {
    const { client, service } = await start();
    service.statuses = [status("tiny", "serving"), status("big", "pending"), status("gpt", "serving")];
    const page = await client.models.list();
    expect(page.data).toEqual([
      { id: "tiny", object: "model", created: NOW / 1000, owned_by: "rakka" },
      { id: "gpt", object: "model", created: NOW / 1000, owned_by: "rakka" },
    ]);
  });

  it("retrieves one serving deployment at /v1/models/{id}; 404 not_found otherwise", async () => {
    const { client, service, url } = await start();
    service.statuses = [status("tiny", "serving"), status("big", "pending"), status("a b", "serving")];
    expect(await client.models.retrieve("tiny")).toEqual({
      id: "tiny",
      object: "model",
      created: NOW / 1000,
      owned_by: "rakka",
    });
    expect((await client.models.retrieve("a b")).id).toBe("a b");
    for (const id of ["big", "missing"]) {
      const error = await client.models.retrieve(id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).code).toBe("not_found");
    }
    const raw = await fetch(`${url}/v1/models/%E0%A4%A`);
    expect(raw.status).toBe(404);
    expect(await errorOf(raw)).toMatchObject({ type: "not_found_error", code: "not_found" });
    const post405 = await post(`${url}/v1/models/tiny`, {});
    expect(post405.status).toBe(405);
    expect(post405.headers.get("allow")).toBe("GET, HEAD");
  });

  it("serves /healthz and /metrics", async () => {
    const { url } = await start();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await metrics.text()).toContain("rakka_requests_total 1");
  });

  it("answers 500 with an error body when the service throws unexpectedly", async () => {
    const { url, service } = await start();
    service.startThrows = new Error("boom");
    const response = await post(`${url}/v1/chat/completions`, { ...chatBody, stream: true });
    expect(response.status).toBe(500);
    expect((await errorOf(response)).code).toBe("internal");
    service.statuses = undefined as unknown as DeploymentStatus[];
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(500);
    expect((await errorOf(ready)).message).toBe("internal error");
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});

describe("readiness", () => {
  it.each([
    ["a deployment is pending", [status("tiny", "serving"), status("big", "pending")], 503],
    ["no deployment serves", [status("tiny", "failed", "model file not found: x")], 503],
    ["there are no deployments", [], 503],
    ["one serves and another failed", [status("tiny", "serving"), status("bad", "failed", "boom")], 200],
  ])("when %s answers %i", async (_case, statuses, expected) => {
    const { url, service } = await start();
    service.statuses = statuses;
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(expected);
    const body = (await response.json()) as { ready: boolean; deployments: unknown[] };
    expect(body.ready).toBe(expected === 200);
    expect(body.deployments).toEqual(
      statuses.map((deployment) => ({
        name: deployment.name,
        state: deployment.state,
        ...(deployment.reason === undefined ? {} : { reason: deployment.reason }),
        replicas: 1,
        ready_replicas: deployment.readyReplicas,
      })),
    );
  });
});

describe("readiness in a cluster", () => {
  /** This node (node-a) sees itself and node-b; node-b's last heartbeat lists `peerServes`. */
  function clusterOf(
    peerServes: string[],
    overrides: Partial<Pick<ClusterStatus, "store" | "onStoreUnavailable">> = {},
  ): () => ClusterStatus {
    const node = (nodeId: string, serves: string[]) => ({
      nodeId,
      url: `http://${nodeId}:8080`,
      version: "1",
      heartbeatAgeMs: 10,
      replicas: serves.map((deployment) => ({ deployment, running: 0, waiting: 0 })),
      inFlight: 0,
    });
    return () => ({
      nodeId: "node-a",
      store: "available",
      onStoreUnavailable: "open",
      ...overrides,
      nodes: [node("node-a", []), node("node-b", peerServes)],
    });
  }

  async function readyz(url: string) {
    const response = await fetch(`${url}/readyz`);
    const body = (await response.json()) as {
      ready: boolean;
      cluster: { node: string; nodes: string[] };
      deployments: Array<{ name: string; ready_replicas: number; serving_nodes: string[] }>;
    };
    return { status: response.status, body };
  }

  it("a deployment with no local replica that a peer serves is ready, and lists the peer", async () => {
    const { url, service } = await start({ cluster: clusterOf(["tiny"]) });
    service.statuses = [{ ...status("tiny", "serving"), readyReplicas: 0 }];
    const { status: code, body } = await readyz(url);
    expect(code).toBe(200);
    expect(body.ready).toBe(true);
    expect(body.cluster).toEqual({ node: "node-a", store: "available", nodes: ["node-a", "node-b"] });
    expect(body.deployments).toEqual([
      { name: "tiny", state: "serving", replicas: 1, ready_replicas: 0, serving_nodes: ["node-b"] },
    ]);
  });

  it("a deployment failed here counts as serving while a ready replica runs on a live node", async () => {
    const { url, service } = await start({ cluster: clusterOf(["tiny"]) });
    service.statuses = [status("tiny", "failed", "secret not resolved on this node: X")];
    expect(await readyz(url)).toMatchObject({
      status: 200,
      body: { ready: true, deployments: [{ name: "tiny", state: "failed", serving_nodes: ["node-b"] }] },
    });
  });

  it("with no ready replica anywhere the rule is as before", async () => {
    const { url, service } = await start({ cluster: clusterOf(["other"]) });
    service.statuses = [status("tiny", "failed", "boom")];
    expect(await readyz(url)).toMatchObject({
      status: 503,
      body: { ready: false, deployments: [{ name: "tiny", state: "failed", serving_nodes: [] }] },
    });
  });

  it("a pending deployment, or a store that refuses, still holds readiness back", async () => {
    const pending = await start({ cluster: clusterOf(["tiny", "big"]) });
    pending.service.statuses = [status("tiny", "serving"), status("big", "pending")];
    expect(await readyz(pending.url)).toMatchObject({ status: 503, body: { ready: false } });
    const closed = await start({
      cluster: clusterOf(["tiny"], { store: "unavailable", onStoreUnavailable: "closed" }),
    });
    expect(await readyz(closed.url)).toMatchObject({ status: 503, body: { ready: false } });
    const open = await start({ cluster: clusterOf(["tiny"], { store: "unavailable" }) });
    expect(await readyz(open.url)).toMatchObject({ status: 200, body: { ready: true } });
  });

  it("outside a cluster a deployment entry has no serving_nodes", async () => {
    const { url } = await start();
    const body = (await (await fetch(`${url}/readyz`)).json()) as { deployments: object[] };
    expect(body.deployments[0]).not.toHaveProperty("serving_nodes");
    expect(body).not.toHaveProperty("cluster");
  });
});

describe("client API keys", () => {
  it("requires a matching bearer key on /v1/* only", async () => {
    const { url, listening } = await start({ apiKeys: ["key-0", "key-1"] });
    const missing = await post(`${url}/v1/chat/completions`, chatBody);
    expect(missing.status).toBe(401);
    expect(await errorOf(missing)).toMatchObject({ type: "authentication_error", code: "unauthorized" });
    const wrong = await post(`${url}/v1/chat/completions`, chatBody, { authorization: "Bearer key-2" });
    expect(wrong.status).toBe(401);
    const malformed = await post(`${url}/v1/chat/completions`, chatBody, { authorization: "key-1" });
    expect(malformed.status).toBe(401);
    const right = await post(`${url}/v1/chat/completions`, chatBody, { authorization: "Bearer key-1" });
    expect(right.status).toBe(200);
    expect((await fetch(`${url}/v1/models`)).status).toBe(401);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    const client = new OpenAI({ baseURL: `${listening.url}/v1`, apiKey: "key-0", maxRetries: 0 });
    expect((await client.models.list()).data).toHaveLength(1);
  });
});

describe("listen", () => {
  it("stops accepting connections while an in-flight stream finishes", async () => {
    const { url, service, listening } = await start();
    const gate = deferred();
    service.script = () => ({
      chunks: [{ text: "one" }],
      gate: gate.promise,
      afterGate: [{ text: " two" }, { text: "", finishReason: "stop" }],
    });
    const response = await post(`${url}/v1/chat/completions`, { ...chatBody, stream: true });
    const reader = response.body?.getReader();
    let text = "";
    while (!text.includes("one")) {
      const read = await reader?.read();
      if (!read || read.done) break;
      text += Buffer.from(read.value).toString("utf8");
    }
    await listening.stopAccepting();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    gate.resolve();
    for (;;) {
      const read = await reader?.read();
      if (!read || read.done) break;
      text += Buffer.from(read.value).toString("utf8");
    }
    expect(text).toContain("two");
    expect(events(text).at(-1)).toBe("[DONE]");
    expect(service.cancels).toBe(0);
  });
});
