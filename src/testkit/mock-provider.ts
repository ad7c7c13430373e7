// The scripted mock upstream for tests: a node:http server on loopback that answers the paths of
// its wires (OpenAI, Anthropic and Gemini by default; src/testkit/mock-wire.ts) with behaviours scripted per test
// (src/testkit/mock-behaviours.ts): completions (SSE or JSON, optionally encoded), errors, stalls,
// dropped, malformed and failing streams, non-event-stream answers and lying encodings, and the
// answers of the embeddings and token-count routes (OpenAI `/v1/embeddings`, Gemini
// `:batchEmbedContents` and `:countTokens`, Anthropic `/v1/messages/count_tokens`). Remote
// providers and the gateway's integration tests point their base URL at it (docs/providers.md).
// It never waits on real time: a stall holds the response until the client or the server closes.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createBrotliCompress, createDeflate, createGzip } from "node:zlib";
import { anthropicWire } from "./mock-anthropic-wire.js";
import {
  type CompleteBehaviour,
  type CountTokensBehaviour,
  complete,
  type EmbeddingsBehaviour,
  type ErrorBehaviour,
  embeddings,
  errorKindOf,
  errorStatusOf,
  type MockBehaviour,
  type MockContentEncoding,
  type MockDefaultBehaviour,
  type MockErrorKind,
  mockUpstreamVector,
  type ReceivedRequest,
  unauthorized,
} from "./mock-behaviours.js";
import { geminiWire } from "./mock-gemini-wire.js";
import { openAiUnknownUrlBody, openAiWire } from "./mock-openai-wire.js";
import type { MockAnswerContext, MockRoute, MockSseEvent, MockWire, MockWireError } from "./mock-wire.js";

export * from "./mock-behaviours.js";

export interface MockProviderOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /**
   * The wires served; a request goes to the first whose `match` answers. Default: all three
   * (OpenAI, Anthropic, Gemini), whose paths do not overlap, so one mock serves every provider.
   */
  readonly wires?: readonly MockWire[];
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
  const provider = new MockProviderServer(options.wires ?? [openAiWire, anthropicWire, geminiWire]);
  await provider.listen(options.host ?? "127.0.0.1", options.port ?? 0);
  return provider;
}

interface Waiter {
  readonly satisfied: () => boolean;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** The request being answered and the wire that answers it. */
interface Answering {
  readonly wire: MockWire;
  readonly context: MockAnswerContext;
}

class MockProviderServer implements MockProvider {
  readonly #server: Server;
  readonly #wires: readonly MockWire[];
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

  constructor(wires: readonly MockWire[]) {
    this.#wires = wires;
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

  /** The first wire that serves `method path`, with its route. */
  #route(method: string, path: string): { wire: MockWire; route: MockRoute } | undefined {
    for (const wire of this.#wires) {
      const route = wire.match(method, path);
      if (route !== undefined) return { wire, route };
    }
    return undefined;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.#requestSockets.add(request.socket);
    const rawBody = await readBody(request);
    if (rawBody === undefined || this.#closed) return;
    const url = new URL(request.url ?? "/", "http://mock.invalid");
    const method = request.method ?? "GET";
    const routed = this.#route(method, url.pathname);
    const headers = flattenHeaders(request);
    const query = Object.fromEntries(url.searchParams);
    const received: ReceivedRequest = {
      method,
      path: url.pathname,
      query,
      headers,
      body: parseBody(rawBody),
      rawBody,
      arrivedAt: this.#arrivals,
      authorization: headers.authorization,
      apiKey: routed?.wire.apiKey({ headers, query }),
      deployment: routed?.route.deployment,
      wire: routed?.route.wire,
    };
    this.#requests.push(received);
    this.#arrivals++;
    this.#wake();

    if (routed === undefined) {
      const body = openAiUnknownUrlBody(received.method, received.path);
      writeJsonOrText(response, 404, body, {}, undefined);
      return;
    }
    const behaviour = this.#script.shift() ?? this.#defaultFor(received);
    answer(response, behaviour, { wire: routed.wire, context: answerContext(routed, received) });
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function answerContext(
  routed: { readonly wire: MockWire; readonly route: MockRoute },
  request: ReceivedRequest,
): MockAnswerContext {
  const { wire, route } = routed;
  const body = isRecord(request.body) ? request.body : {};
  const model =
    typeof body.model === "string" ? body.model : (route.model ?? route.deployment ?? "mock-model");
  return {
    route,
    request,
    id: wire.answerId(route, request.arrivedAt),
    model,
    stream: wire.streams(route, request.body),
  };
}

// ---------------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------------

function answer(response: ServerResponse, behaviour: MockBehaviour, answering: Answering): void {
  const { wire, context } = answering;
  const endpoint = context.route.endpoint;
  switch (behaviour.type) {
    case "complete":
      // the normal answer of the route: a completion, or the embeddings / count route's default
      if (endpoint === "embeddings") writeEmbeddings(response, embeddings(), answering);
      else if (endpoint === "count-tokens") writeCountTokens(response, { type: "count-tokens" }, answering);
      else writeCompletion(response, behaviour, answering);
      return;
    case "embeddings":
      writeEmbeddings(response, behaviour, answering);
      return;
    case "count-tokens":
      writeCountTokens(response, behaviour, answering);
      return;
    case "error":
      writeError(response, behaviour, wire);
      return;
    case "unauthorized-unless-key":
      if (context.request.apiKey === behaviour.key) answer(response, behaviour.then ?? complete(), answering);
      else writeError(response, unauthorized(), wire);
      return;
    case "stall-before-first-byte":
      return; // hold: the socket closes when the client aborts or the server closes
    case "stall-mid-stream":
      writePartial(response, behaviour.afterChunks, answering);
      return;
    case "drop-mid-stream":
      writePartial(response, behaviour.afterChunks, answering);
      if (!context.stream) response.write(truncatedJson(JSON.stringify(wire.unaryBody(complete(), context))));
      dropConnection(response);
      return;
    case "malformed-sse":
      if (!context.stream) {
        response.writeHead(200, jsonHeaders(context)).end("{not json");
        return;
      }
      writePartial(response, behaviour.afterChunks, answering);
      response.end("data: {not json\n\n");
      return;
    case "error-mid-stream": {
      const error = wireError(wire, behaviour.kind ?? "overloaded", undefined, behaviour.message);
      if (!context.stream) {
        writeJsonOrText(response, error.status, wire.errorBody(error), errorHeaders(wire, error), undefined);
        return;
      }
      writePartial(response, behaviour.afterChunks, answering);
      response.end(sseEvent(wire.streamErrorEvent(error)));
      return;
    }
    case "not-an-event-stream": {
      const headers = behaviour.contentType === undefined ? {} : { "content-type": behaviour.contentType };
      response.writeHead(behaviour.status, headers).end(behaviour.body);
      return;
    }
    case "mislabelled-encoding":
      writeCompletion(response, complete(), answering, behaviour.encoding);
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

function jsonHeaders(context: MockAnswerContext): Record<string, string> {
  return { "content-type": "application/json", "x-request-id": `mock-request-${context.request.arrivedAt}` };
}

function sseHeaders(context: MockAnswerContext): Record<string, string> {
  return {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-request-id": `mock-request-${context.request.arrivedAt}`,
  };
}

/** `event: <name>` when named, then `data:` the JSON of the payload (a string as is). */
function sseEvent(event: MockSseEvent): string {
  const data = typeof event.data === "string" ? event.data : JSON.stringify(event.data);
  return `${event.event === undefined ? "" : `event: ${event.event}\n`}data: ${data}\n\n`;
}

/**
 * What a connection dropped mid-body has carried of a JSON body: up to its second key's colon
 * (`{"id":"chatcmpl-mock-0","object":`), else the first half.
 */
function truncatedJson(text: string): string {
  const first = text.indexOf('":');
  const second = first < 0 ? -1 : text.indexOf('":', first + 2);
  return second < 0 ? text.slice(0, Math.floor(text.length / 2)) : text.slice(0, second + 2);
}

/** A scripted error as the wire sees it; `status` undefined takes the kind's usual one. */
function wireError(
  wire: MockWire,
  kind: MockErrorKind,
  status: number | undefined,
  message: string | undefined,
  retryAfterSeconds?: number,
): MockWireError {
  const scripted = status ?? errorStatusOf(kind);
  const error: MockWireError = {
    kind,
    status: scripted,
    message: message ?? `Mock provider error ${scripted}`,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
  const answered = wire.errorStatus?.(error) ?? scripted;
  if (answered === scripted) return error;
  return { ...error, status: answered, message: message ?? `Mock provider error ${answered}` };
}

function errorHeaders(wire: MockWire, error: MockWireError): Record<string, string> {
  return {
    ...wire.errorHeaders?.(error),
    ...(error.retryAfterSeconds === undefined ? {} : { "retry-after": String(error.retryAfterSeconds) }),
  };
}

/** A JSON body (a string as plain text) under `status`, through the encoding when one is given. */
function writeJsonOrText(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>>,
  encoding: MockContentEncoding | undefined,
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const contentType = typeof body === "string" ? "text/plain; charset=utf-8" : "application/json";
  response.writeHead(status, { "content-type": contentType, ...encodingHeader(encoding), ...headers });
  bodyWriter(response, encoding).end(text);
}

/** The behaviour's own body as is, else the wire's error body for its kind. */
function writeError(response: ServerResponse, behaviour: ErrorBehaviour, wire: MockWire): void {
  const kind = behaviour.kind ?? errorKindOf(behaviour.status);
  const error = wireError(wire, kind, behaviour.status, behaviour.message, behaviour.retryAfterSeconds);
  const given = behaviour.body !== undefined;
  writeJsonOrText(
    response,
    given ? behaviour.status : error.status,
    given ? behaviour.body : wire.errorBody(error),
    { ...errorHeaders(wire, error), ...behaviour.headers },
    behaviour.contentEncoding,
  );
}

/** Closes the connection once what was written has been flushed, so the client sees a truncated body. */
function dropConnection(response: ServerResponse): void {
  const socket = response.socket;
  if (socket === null) return;
  socket.once("finish", () => socket.destroy());
  socket.end();
}

/** Headers, then `chunks` content chunks of a stream (or, for a unary request, the headers only). */
function writePartial(response: ServerResponse, chunks: number, answering: Answering): void {
  const { wire, context } = answering;
  if (!context.stream) {
    response.writeHead(200, jsonHeaders(context));
    response.flushHeaders();
    return;
  }
  response.writeHead(200, sseHeaders(context));
  response.flushHeaders();
  for (const event of wire.partialEvents(chunks, context)) response.write(sseEvent(event));
}

/** A behaviour scripted for another route: a 400 in the wire's shape, naming both. */
function writeMisplaced(response: ServerResponse, what: string, answering: Answering): void {
  const { wire, context } = answering;
  const error = wireError(
    wire,
    "bad_request",
    400,
    `mock: a scripted ${what} answer reached the ${context.route.wire} ${context.route.endpoint} route`,
  );
  writeJsonOrText(response, error.status, wire.errorBody(error), {}, undefined);
}

function writeEmbeddings(
  response: ServerResponse,
  behaviour: EmbeddingsBehaviour,
  answering: Answering,
): void {
  const { wire, context } = answering;
  if (context.route.endpoint !== "embeddings" || !wire.embeddingRequest || !wire.embeddingsBody) {
    writeMisplaced(response, "embeddings", answering);
    return;
  }
  const asked = wire.embeddingRequest(context.request);
  const dimensions = behaviour.dimensions ?? asked.dimensions ?? 3;
  const vectors =
    behaviour.vectors ?? asked.inputs.map((input, index) => mockUpstreamVector(index, input, dimensions));
  const words = asked.inputs.reduce<number>(
    (sum, input) =>
      sum +
      (typeof input === "string" ? input.split(/\s+/).filter((word) => word !== "").length : input.length),
    0,
  );
  const promptTokens = behaviour.usage === null ? undefined : (behaviour.usage?.prompt_tokens ?? words);
  const body = wire.embeddingsBody({ vectors, promptTokens, reversed: behaviour.reversed === true }, context);
  response.writeHead(200, jsonHeaders(context)).end(JSON.stringify(body));
}

function writeCountTokens(
  response: ServerResponse,
  behaviour: CountTokensBehaviour,
  answering: Answering,
): void {
  const { wire, context } = answering;
  if (context.route.endpoint !== "count-tokens" || !wire.countTokensDefault || !wire.countTokensBody) {
    writeMisplaced(response, "token-count", answering);
    return;
  }
  const inputTokens = behaviour.inputTokens ?? wire.countTokensDefault(context.request);
  response
    .writeHead(200, jsonHeaders(context))
    .end(JSON.stringify(wire.countTokensBody(inputTokens, context)));
}

/** `claimedEncoding` (mislabelled-encoding) sends that header over an unencoded body. */
function writeCompletion(
  response: ServerResponse,
  behaviour: CompleteBehaviour,
  answering: Answering,
  claimedEncoding?: string,
): void {
  const { wire, context } = answering;
  const header = {
    ...encodingHeader(claimedEncoding ?? behaviour.contentEncoding),
    ...(behaviour.contentType === undefined ? {} : { "content-type": behaviour.contentType }),
  };
  const writer = bodyWriter(response, claimedEncoding === undefined ? behaviour.contentEncoding : undefined);

  if (!context.stream) {
    response.writeHead(200, { ...jsonHeaders(context), ...header });
    writer.end(JSON.stringify(wire.unaryBody(behaviour, context)));
    return;
  }

  // The last event (the wire's terminator) ends the body, so an encoded stream ends with it.
  const events = wire.streamEvents(behaviour, context).map(sseEvent);
  const last = events.length - 1;
  response.writeHead(200, { ...sseHeaders(context), ...header });
  const writeFrom = (start: number) => {
    for (const event of events.slice(start, Math.max(last, 0))) writer.write(event);
    writer.end(events[last] ?? "");
  };
  if (behaviour.pauseAfterEvents === undefined) {
    writeFrom(0);
    return;
  }
  const pauseAt = Math.min(behaviour.pauseAfterEvents, Math.max(last, 0));
  for (const event of events.slice(0, pauseAt)) writer.write(event);
  void behaviour.resume?.then(() => {
    if (!response.destroyed) writeFrom(pauseAt);
  });
}
