// A mock OpenAI-compatible upstream for tests: a node:http server on loopback that answers
// `POST /v1/chat/completions` (and Azure-style `/openai/deployments/:deployment/...` paths) with
// behaviours scripted per test: normal completions (SSE or JSON, optionally gzip/br/deflate encoded),
// provider errors, stalls, dropped and malformed streams, answers that are not an event stream, and
// bodies whose content-encoding lies. Remote providers and the gateway's integration tests point their upstream base URL
// at it (docs/providers.md). It never waits on real time: a stall holds the response until the client
// disconnects or the server closes.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createBrotliCompress, createDeflate, createGzip } from "node:zlib";

// ---------------------------------------------------------------------------------------------------
// Behaviours
// ---------------------------------------------------------------------------------------------------

export type MockFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** A content-encoding the mock really applies to a body (`identity` sends the header, body as is). */
export type MockContentEncoding = "gzip" | "br" | "deflate" | "identity";

/** Token usage in OpenAI's shape (input includes cached tokens, output includes reasoning tokens). */
export interface MockUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  /** Defaults to prompt_tokens + completion_tokens. */
  readonly total_tokens?: number;
  readonly prompt_tokens_details?: { readonly cached_tokens: number };
  readonly completion_tokens_details?: { readonly reasoning_tokens: number };
}

/** One tool call of a completion; `arguments` are the argument deltas, in order. */
export interface MockToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: readonly string[];
}

/** A normal completion: SSE when the request has `stream: true`, else one JSON body. */
export interface CompleteBehaviour {
  readonly type: "complete";
  /** Content deltas; default ["Hello", " world"]. */
  readonly content?: readonly string[];
  /**
   * Chat only: reasoning text sent before the content, as `delta.reasoning_content` pieces (vLLM's
   * and DeepSeek's field) or the unary message's `reasoning_content`. Default: none.
   */
  readonly reasoning?: readonly string[];
  /** Default "tool_calls" when `toolCalls` is non-empty, else "stop". */
  readonly finishReason?: MockFinishReason;
  /** Default: prompt = word count of the request's messages (or prompt), completion = number of deltas. */
  readonly usage?: MockUsage;
  readonly toolCalls?: readonly MockToolCall[];
  /** Whether a stream ends with a usage chunk; default: the request's `stream_options.include_usage`. */
  readonly includeUsage?: boolean;
  /**
   * Streams only: send this many SSE events (the first is the role-only chunk), then hold until
   * `resume` resolves (forever when it is omitted), then send the rest.
   */
  readonly pauseAfterEvents?: number;
  readonly resume?: Promise<void>;
  /**
   * Encode the body (SSE or JSON) and send `content-encoding`; a stream is flushed after every event,
   * so each event can be decoded as it arrives. Default: no encoding, no header.
   */
  readonly contentEncoding?: MockContentEncoding;
  /** Replaces the content-type header (default `text/event-stream; charset=utf-8`, or JSON when unary). */
  readonly contentType?: string;
}

/** An HTTP error answer; `body` defaults to an OpenAI error body, a string body is sent as plain text. */
export interface ErrorBehaviour {
  readonly type: "error";
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Encode the body and send `content-encoding`; default none. */
  readonly contentEncoding?: MockContentEncoding;
}

/**
 * A 2xx answer that is not an event stream, as a captive portal, a load balancer's error page or a
 * wrong base URL gives: `body` under `content-type` (no content-type header when it is undefined),
 * whether or not the request asked to stream.
 */
export interface NotAnEventStreamBehaviour {
  readonly type: "not-an-event-stream";
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

/**
 * A normal completion whose `content-encoding` header says `encoding` while the body is sent
 * unencoded: a name the client cannot decode (`zstd`), or a lie a decoder trips on (`gzip`).
 */
export interface MislabelledEncodingBehaviour {
  readonly type: "mislabelled-encoding";
  readonly encoding: string;
}

/** 401 unless `Authorization: Bearer <key>` or `api-key: <key>`; else `then` (default a completion). */
export interface UnauthorizedUnlessKeyBehaviour {
  readonly type: "unauthorized-unless-key";
  readonly key: string;
  readonly then?: MockBehaviour;
}

/** Never writes anything, not even headers. */
export interface StallBeforeFirstByteBehaviour {
  readonly type: "stall-before-first-byte";
}

/**
 * Sends headers and `afterChunks` content chunks (the first also carries role "assistant"), then holds.
 * A non-streaming request gets the headers only, then the hold.
 */
export interface StallMidStreamBehaviour {
  readonly type: "stall-mid-stream";
  readonly afterChunks: number;
}

/**
 * Sends headers and `afterChunks` content chunks, then closes the connection mid-body.
 * A non-streaming request gets the headers and half a JSON body, then the close.
 */
export interface DropMidStreamBehaviour {
  readonly type: "drop-mid-stream";
  readonly afterChunks: number;
}

/**
 * Sends headers, `afterChunks` content chunks, then the event `data: {not json` and ends the response.
 * A non-streaming request gets a 200 whose body is `{not json`.
 */
export interface MalformedSseBehaviour {
  readonly type: "malformed-sse";
  readonly afterChunks: number;
}

export type MockBehaviour =
  | CompleteBehaviour
  | ErrorBehaviour
  | UnauthorizedUnlessKeyBehaviour
  | StallBeforeFirstByteBehaviour
  | StallMidStreamBehaviour
  | DropMidStreamBehaviour
  | MalformedSseBehaviour
  | NotAnEventStreamBehaviour
  | MislabelledEncodingBehaviour;

/** Picks the behaviour for a request when the script is empty. */
export type MockDefaultBehaviour = MockBehaviour | ((request: ReceivedRequest) => MockBehaviour);

/** The body of an OpenAI error response. */
export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

export function openAiErrorBody(
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

export function complete(options: Omit<CompleteBehaviour, "type"> = {}): CompleteBehaviour {
  return { type: "complete", ...options };
}

export function errorResponse(
  status: number,
  options: {
    readonly body?: unknown;
    readonly headers?: Readonly<Record<string, string>>;
    readonly contentEncoding?: MockContentEncoding;
  } = {},
): ErrorBehaviour {
  return { type: "error", status, ...options };
}

/** 429 rate_limit_exceeded, with `Retry-After` when `retryAfterSeconds` is given. */
export function rateLimited(retryAfterSeconds?: number): ErrorBehaviour {
  return errorResponse(429, {
    body: openAiErrorBody(
      "Rate limit reached for requests. Please try again later.",
      "rate_limit_error",
      "rate_limit_exceeded",
    ),
    ...(retryAfterSeconds === undefined ? {} : { headers: { "retry-after": String(retryAfterSeconds) } }),
  });
}

/** A 5xx (default 500) with a server_error body. */
export function serverError(status = 500): ErrorBehaviour {
  return errorResponse(status, {
    body: openAiErrorBody(
      "The server had an error while processing your request. Sorry about that!",
      "server_error",
    ),
  });
}

/** 400 content_filter, as OpenAI (Azure) answers a prompt that trips the content policy. */
export function contentFiltered(): ErrorBehaviour {
  return errorResponse(400, {
    body: openAiErrorBody(
      "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. " +
        "Please modify your prompt and retry.",
      "invalid_request_error",
      "content_filter",
      "prompt",
    ),
  });
}

/** 400 context_length_exceeded. */
export function contextLengthExceeded(): ErrorBehaviour {
  return errorResponse(400, {
    body: openAiErrorBody(
      "This model's maximum context length is 4096 tokens. However, your messages resulted in 5000 tokens. " +
        "Please reduce the length of the messages.",
      "invalid_request_error",
      "context_length_exceeded",
      "messages",
    ),
  });
}

/** 400 invalid_request_error with the given message. */
export function badRequest(message: string): ErrorBehaviour {
  return errorResponse(400, { body: openAiErrorBody(message, "invalid_request_error") });
}

/** 403 permission error. */
export function forbidden(): ErrorBehaviour {
  return errorResponse(403, {
    body: openAiErrorBody(
      "You are not allowed to access this resource.",
      "permission_error",
      "permission_denied",
    ),
  });
}

/** 401 invalid_api_key. */
export function unauthorized(): ErrorBehaviour {
  return errorResponse(401, {
    body: openAiErrorBody(
      "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
      "invalid_request_error",
      "invalid_api_key",
    ),
  });
}

export function unauthorizedUnlessKey(key: string, then?: MockBehaviour): UnauthorizedUnlessKeyBehaviour {
  return then === undefined
    ? { type: "unauthorized-unless-key", key }
    : { type: "unauthorized-unless-key", key, then };
}

export function stallBeforeFirstByte(): StallBeforeFirstByteBehaviour {
  return { type: "stall-before-first-byte" };
}

export function stallMidStream(afterChunks: number): StallMidStreamBehaviour {
  return { type: "stall-mid-stream", afterChunks };
}

export function dropMidStream(afterChunks: number): DropMidStreamBehaviour {
  return { type: "drop-mid-stream", afterChunks };
}

export function malformedSse(afterChunks: number): MalformedSseBehaviour {
  return { type: "malformed-sse", afterChunks };
}

/** Default: 200 `text/html; charset=utf-8` with a small HTML page. */
export function notAnEventStream(
  options: {
    readonly status?: number;
    readonly contentType?: string | undefined;
    readonly body?: string;
  } = {},
): NotAnEventStreamBehaviour {
  return {
    type: "not-an-event-stream",
    status: options.status ?? 200,
    contentType: "contentType" in options ? options.contentType : "text/html; charset=utf-8",
    body: options.body ?? "<!doctype html><html><body><h1>Welcome</h1></body></html>",
  };
}

export function mislabelledEncoding(encoding: string): MislabelledEncodingBehaviour {
  return { type: "mislabelled-encoding", encoding };
}

// ---------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------

/** One request as the mock received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** The path without the query, e.g. "/v1/chat/completions". */
  readonly path: string;
  /** The query parameters, e.g. { "api-version": "2024-10-21" } for Azure-style requests. */
  readonly query: Readonly<Record<string, string>>;
  /** Header names in lower case; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body, or the raw text when it is not JSON ("" when empty). */
  readonly body: unknown;
  readonly rawBody: string;
  /** Index in arrival order, from 0 (reset by `reset()`). */
  readonly arrivedAt: number;
  /** The `Authorization` header, if any. */
  readonly authorization: string | undefined;
  /** The key the client sent: the Bearer token, else the `api-key` header. */
  readonly apiKey: string | undefined;
  /** The deployment of an Azure-style path. */
  readonly deployment: string | undefined;
}

export interface MockProviderOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
}

export interface MockProvider {
  /** The server's origin, e.g. http://127.0.0.1:PORT; the OpenAI base URL is `${url}/v1`. */
  readonly url: string;
  /** Tests queue behaviours for the next requests, consumed in order; when empty, the default answers. */
  script(...behaviours: MockBehaviour[]): void;
  /** Tests replace the default behaviour (used when the script is empty). */
  setDefault(behaviour: MockDefaultBehaviour): void;
  /** Every request received, in arrival order (also unknown paths). */
  readonly requests: readonly ReceivedRequest[];
  /** Number of requests that arrived (also counts ones still stalled). */
  readonly arrivals: number;
  /** Tests await this to know code under test has sent n requests; resolved from the request handler. */
  waitForRequests(n: number): Promise<void>;
  /**
   * Connections currently open that have carried at least one request, so tests can check that aborted
   * requests really closed their sockets. A connection that never sent a request is not counted: Node's
   * fetch (undici) opens a spare idle connection after an abort and keeps it for its keep-alive timeout.
   */
  readonly openConnections: number;
  /** Resolves once at most `atMost` connections are open; resolved from the sockets' close events. */
  waitForOpenConnections(atMost: number): Promise<void>;
  /** Clears the script, the requests and the counters; the default goes back to a normal completion. */
  reset(): void;
  /** Destroys all sockets, stalled ones included, and stops listening; pending waits reject. */
  close(): Promise<void>;
}

export async function startMockProvider(options: MockProviderOptions = {}): Promise<MockProvider> {
  const provider = new MockProviderServer();
  await provider.listen(options.host ?? "127.0.0.1", options.port ?? 0);
  return provider;
}

interface Waiter {
  readonly satisfied: () => boolean;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

type Endpoint = "chat" | "completions";

/** What the answer to one request needs to know about it. */
interface AnswerContext {
  readonly endpoint: Endpoint;
  readonly request: ReceivedRequest;
  readonly id: string;
  readonly model: string;
  readonly stream: boolean;
  readonly includeUsageRequested: boolean;
}

const CREATED = Date.UTC(2026, 0, 1) / 1000;

class MockProviderServer implements MockProvider {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** The open sockets that have carried a request (see `openConnections`). */
  readonly #requestSockets = new Set<Socket>();
  #url = "";
  #script: MockBehaviour[] = [];
  #default: MockDefaultBehaviour = complete();
  #requests: ReceivedRequest[] = [];
  #arrivals = 0;
  #waiters: Waiter[] = [];
  #closed = false;

  constructor() {
    this.#server = createServer((request, response) => {
      void this.#handle(request, response);
    });
    this.#server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => {
        this.#sockets.delete(socket);
        this.#requestSockets.delete(socket);
        this.#wake();
      });
    });
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    const hostInUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
    this.#url = `http://${hostInUrl}:${address.port}`;
  }

  get url(): string {
    return this.#url;
  }

  get requests(): readonly ReceivedRequest[] {
    return this.#requests;
  }

  get arrivals(): number {
    return this.#arrivals;
  }

  get openConnections(): number {
    return this.#requestSockets.size;
  }

  script(...behaviours: MockBehaviour[]): void {
    this.#script.push(...behaviours);
  }

  setDefault(behaviour: MockDefaultBehaviour): void {
    this.#default = behaviour;
  }

  waitForRequests(n: number): Promise<void> {
    return this.#waitUntil(() => this.#arrivals >= n, `${n} requests arrived`);
  }

  waitForOpenConnections(atMost: number): Promise<void> {
    return this.#waitUntil(
      () => this.#requestSockets.size <= atMost,
      `at most ${atMost} connections are open`,
    );
  }

  reset(): void {
    this.#script = [];
    this.#default = complete();
    this.#requests = [];
    this.#arrivals = 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      if (waiter.satisfied()) waiter.resolve();
      else waiter.reject(new Error("mock provider closed while a test was waiting on it"));
    }
  }

  #waitUntil(satisfied: () => boolean, what: string): Promise<void> {
    if (satisfied()) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error(`mock provider is closed; never ${what}`));
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ satisfied, resolve, reject });
    });
  }

  #wake(): void {
    const waiting: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.satisfied()) waiter.resolve();
      else waiting.push(waiter);
    }
    this.#waiters = waiting;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.#requestSockets.add(request.socket);
    const rawBody = await readBody(request);
    if (rawBody === undefined || this.#closed) return;
    const url = new URL(request.url ?? "/", "http://mock.invalid");
    const route = matchRoute(request.method ?? "GET", url.pathname);
    const headers = flattenHeaders(request);
    const received: ReceivedRequest = {
      method: request.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: parseBody(rawBody),
      rawBody,
      arrivedAt: this.#arrivals,
      authorization: headers.authorization,
      apiKey: bearerToken(headers.authorization) ?? headers["api-key"],
      deployment: route?.deployment,
    };
    this.#requests.push(received);
    this.#arrivals++;
    this.#wake();

    if (route === undefined) {
      const message = `Unknown request URL: ${received.method} ${received.path}. Please check the URL for typos.`;
      writeError(
        response,
        errorResponse(404, { body: openAiErrorBody(message, "invalid_request_error", "unknown_url") }),
      );
      return;
    }
    const behaviour = this.#script.shift() ?? this.#defaultFor(received);
    answer(response, behaviour, answerContext(route.endpoint, received));
  }

  #defaultFor(request: ReceivedRequest): MockBehaviour {
    return typeof this.#default === "function" ? this.#default(request) : this.#default;
  }
}

// ---------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of request)
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  } catch {
    return undefined; // the client went away before sending the whole body
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody(rawBody: string): unknown {
  if (rawBody === "") return "";
  try {
    return JSON.parse(rawBody) as unknown;
  } catch {
    return rawBody;
  }
}

function flattenHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function bearerToken(authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : /^Bearer\s+(.+)$/i.exec(authorization);
  return match?.[1];
}

function matchRoute(method: string, path: string): { endpoint: Endpoint; deployment?: string } | undefined {
  if (method !== "POST") return undefined;
  if (path === "/v1/chat/completions") return { endpoint: "chat" };
  if (path === "/v1/completions") return { endpoint: "completions" };
  const azure = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions)$/.exec(path);
  if (azure?.[1] !== undefined) {
    return {
      endpoint: azure[2] === "completions" ? "completions" : "chat",
      deployment: decodeURIComponent(azure[1]),
    };
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function answerContext(endpoint: Endpoint, request: ReceivedRequest): AnswerContext {
  const body = isRecord(request.body) ? request.body : {};
  const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
  const model = typeof body.model === "string" ? body.model : (request.deployment ?? "mock-model");
  return {
    endpoint,
    request,
    id: `${endpoint === "chat" ? "chatcmpl" : "cmpl"}-mock-${request.arrivedAt}`,
    model,
    stream: body.stream === true,
    includeUsageRequested: streamOptions.include_usage === true,
  };
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word !== "").length;
}

function wordsIn(content: unknown): number {
  if (typeof content === "string") return countWords(content);
  if (Array.isArray(content)) {
    return content.reduce<number>((sum, part) => sum + wordsIn(isRecord(part) ? part.text : part), 0);
  }
  return 0;
}

/** Prompt tokens by default: the words of the messages' (or the prompt's) text. */
function promptWords(request: ReceivedRequest): number {
  if (!isRecord(request.body)) return 0;
  const { messages, prompt } = request.body;
  if (Array.isArray(messages)) {
    return messages.reduce<number>(
      (sum, message) => sum + (isRecord(message) ? wordsIn(message.content) : 0),
      0,
    );
  }
  return wordsIn(prompt);
}

// ---------------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------------

function answer(response: ServerResponse, behaviour: MockBehaviour, context: AnswerContext): void {
  switch (behaviour.type) {
    case "complete":
      writeCompletion(response, behaviour, context);
      return;
    case "error":
      writeError(response, behaviour);
      return;
    case "unauthorized-unless-key":
      if (context.request.apiKey === behaviour.key) answer(response, behaviour.then ?? complete(), context);
      else writeError(response, unauthorized());
      return;
    case "stall-before-first-byte":
      return; // hold: the socket closes when the client aborts or the server closes
    case "stall-mid-stream":
      writePartial(response, behaviour.afterChunks, context);
      return;
    case "drop-mid-stream":
      writePartial(response, behaviour.afterChunks, context);
      if (!context.stream) response.write(`{"id":"${context.id}","object":`);
      dropConnection(response);
      return;
    case "malformed-sse":
      if (!context.stream) {
        response.writeHead(200, jsonHeaders(context)).end("{not json");
        return;
      }
      writePartial(response, behaviour.afterChunks, context);
      response.end("data: {not json\n\n");
      return;
    case "not-an-event-stream": {
      const headers = behaviour.contentType === undefined ? {} : { "content-type": behaviour.contentType };
      response.writeHead(behaviour.status, headers).end(behaviour.body);
      return;
    }
    case "mislabelled-encoding":
      writeCompletion(response, complete(), context, behaviour.encoding);
      return;
  }
}

/** Writes a body, through a compressor when an encoding is given (flushed after each `write`). */
interface BodyWriter {
  write(text: string): void;
  end(text: string): void;
}

const compressors = { gzip: createGzip, br: createBrotliCompress, deflate: createDeflate } as const;

function bodyWriter(response: ServerResponse, encoding: MockContentEncoding | undefined): BodyWriter {
  if (encoding === undefined || encoding === "identity") {
    return { write: (text) => response.write(text), end: (text) => response.end(text) };
  }
  const compressor = compressors[encoding]();
  compressor.pipe(response);
  response.once("close", () => compressor.destroy());
  return {
    write(text) {
      compressor.write(text);
      compressor.flush();
    },
    end: (text) => compressor.end(text),
  };
}

function encodingHeader(encoding: string | undefined): Record<string, string> {
  return encoding === undefined ? {} : { "content-encoding": encoding };
}

function jsonHeaders(context: AnswerContext): Record<string, string> {
  return { "content-type": "application/json", "x-request-id": `mock-request-${context.request.arrivedAt}` };
}

function sseHeaders(context: AnswerContext): Record<string, string> {
  return {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-request-id": `mock-request-${context.request.arrivedAt}`,
  };
}

function sseEvent(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

function writeError(response: ServerResponse, behaviour: ErrorBehaviour): void {
  const body = behaviour.body ?? openAiErrorBody(`Mock provider error ${behaviour.status}`, "server_error");
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const contentType = typeof body === "string" ? "text/plain; charset=utf-8" : "application/json";
  const encoding = behaviour.contentEncoding;
  response.writeHead(behaviour.status, {
    "content-type": contentType,
    ...encodingHeader(encoding),
    ...behaviour.headers,
  });
  bodyWriter(response, encoding).end(text);
}

/** Closes the connection once what was written has been flushed, so the client sees a truncated body. */
function dropConnection(response: ServerResponse): void {
  const socket = response.socket;
  if (socket === null) return;
  socket.once("finish", () => socket.destroy());
  socket.end();
}

/** Headers, then `chunks` content chunks of a stream (or, for a unary request, the headers only). */
function writePartial(response: ServerResponse, chunks: number, context: AnswerContext): void {
  if (!context.stream) {
    response.writeHead(200, jsonHeaders(context));
    response.flushHeaders();
    return;
  }
  response.writeHead(200, sseHeaders(context));
  response.flushHeaders();
  const includeUsage = context.includeUsageRequested;
  for (let k = 1; k <= chunks; k++) {
    const delta = `${k === 1 ? "" : " "}chunk${k}`;
    const payload =
      context.endpoint === "chat"
        ? chatChunk(
            context,
            k === 1 ? { role: "assistant", content: delta } : { content: delta },
            null,
            includeUsage,
          )
        : textChunk(context, delta, null, includeUsage);
    response.write(sseEvent(payload));
  }
}

interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments: string };
}

function chatChunk(
  context: AnswerContext,
  delta: Record<string, unknown>,
  finishReason: MockFinishReason | null,
  includeUsage: boolean,
): Record<string, unknown> {
  return {
    id: context.id,
    object: "chat.completion.chunk",
    created: CREATED,
    model: context.model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

function textChunk(
  context: AnswerContext,
  text: string,
  finishReason: MockFinishReason | null,
  includeUsage: boolean,
): Record<string, unknown> {
  return {
    id: context.id,
    object: "text_completion",
    created: CREATED,
    model: context.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

function usageOf(behaviour: CompleteBehaviour, context: AnswerContext, deltas: number): MockUsage {
  const usage = behaviour.usage ?? { prompt_tokens: promptWords(context.request), completion_tokens: deltas };
  return { ...usage, total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens };
}

/** `claimedEncoding` (mislabelled-encoding) sends that header over an unencoded body. */
function writeCompletion(
  response: ServerResponse,
  behaviour: CompleteBehaviour,
  context: AnswerContext,
  claimedEncoding?: string,
): void {
  const header = {
    ...encodingHeader(claimedEncoding ?? behaviour.contentEncoding),
    ...(behaviour.contentType === undefined ? {} : { "content-type": behaviour.contentType }),
  };
  const writer = bodyWriter(response, claimedEncoding === undefined ? behaviour.contentEncoding : undefined);
  const content = behaviour.content ?? ["Hello", " world"];
  const toolCalls = context.endpoint === "chat" ? (behaviour.toolCalls ?? []) : [];
  const reasoning = context.endpoint === "chat" ? (behaviour.reasoning ?? []) : [];
  const finishReason = behaviour.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop");
  const deltas = content.length + toolCalls.reduce((sum, call) => sum + call.arguments.length, 0);
  const usage = usageOf(behaviour, context, deltas);

  if (!context.stream) {
    response.writeHead(200, { ...jsonHeaders(context), ...header });
    const body = unaryBody(context, content, toolCalls, finishReason, usage);
    if (reasoning.length > 0) {
      const choice = (body.choices as Array<{ message: Record<string, unknown> }>)[0];
      if (choice) choice.message.reasoning_content = reasoning.join("");
    }
    writer.end(JSON.stringify(body));
    return;
  }

  const includeUsage = behaviour.includeUsage ?? context.includeUsageRequested;
  const events: Record<string, unknown>[] = [];
  if (context.endpoint === "chat") {
    const roleContent = content.length === 0 && toolCalls.length > 0 ? null : "";
    events.push(
      chatChunk(context, { role: "assistant", content: roleContent, refusal: null }, null, includeUsage),
    );
    for (const piece of reasoning)
      events.push(chatChunk(context, { reasoning_content: piece }, null, includeUsage));
    for (const delta of content) events.push(chatChunk(context, { content: delta }, null, includeUsage));
    toolCalls.forEach((call, index) => {
      const opening: ToolCallDelta = {
        index,
        id: call.id,
        type: "function",
        function: { name: call.name, arguments: "" },
      };
      events.push(chatChunk(context, { tool_calls: [opening] }, null, includeUsage));
      for (const argumentsDelta of call.arguments) {
        const next: ToolCallDelta = { index, function: { arguments: argumentsDelta } };
        events.push(chatChunk(context, { tool_calls: [next] }, null, includeUsage));
      }
    });
    events.push(chatChunk(context, {}, finishReason, includeUsage));
    if (includeUsage) events.push({ ...chatChunk(context, {}, null, false), choices: [], usage });
  } else {
    for (const delta of content) events.push(textChunk(context, delta, null, includeUsage));
    events.push(textChunk(context, "", finishReason, includeUsage));
    if (includeUsage) events.push({ ...textChunk(context, "", null, false), choices: [], usage });
  }

  response.writeHead(200, { ...sseHeaders(context), ...header });
  const pauseAt = behaviour.pauseAfterEvents;
  const writeFrom = (start: number) => {
    for (const event of events.slice(start)) writer.write(sseEvent(event));
    writer.end("data: [DONE]\n\n");
  };
  if (pauseAt === undefined) {
    writeFrom(0);
    return;
  }
  for (const event of events.slice(0, pauseAt)) writer.write(sseEvent(event));
  behaviour.resume?.then(() => {
    if (!response.destroyed) writeFrom(pauseAt);
  });
}

function unaryBody(
  context: AnswerContext,
  content: readonly string[],
  toolCalls: readonly MockToolCall[],
  finishReason: MockFinishReason,
  usage: MockUsage,
): Record<string, unknown> {
  const text = content.join("");
  if (context.endpoint === "completions") {
    return {
      id: context.id,
      object: "text_completion",
      created: CREATED,
      model: context.model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
      usage,
    };
  }
  const message: Record<string, unknown> = {
    role: "assistant",
    content: content.length === 0 && toolCalls.length > 0 ? null : text,
    refusal: null,
  };
  if (toolCalls.length > 0) {
    message.tool_calls = toolCalls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments.join("") },
    }));
  }
  return {
    id: context.id,
    object: "chat.completion",
    created: CREATED,
    model: context.model,
    system_fingerprint: null,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage,
  };
}
