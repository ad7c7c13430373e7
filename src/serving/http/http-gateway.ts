// The HTTP gateway: the OpenAI-compatible front door of the request path (docs/architecture.md, request rules). It routes,
// authenticates client keys, reads bounded bodies, validates them (openai-request.ts), calls the
// InferenceService and writes JSON or SSE back (openai-response.ts, sse-writer.ts). Errors reach
// HTTP only through toHttpError; the handler never throws.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type Clock, type Logger, silentLogger } from "../../actor/index.js";
import type { ServerConfig } from "../../core/config/server-schema.js";
import type { CompletionResult, Dialect, DialectParse } from "../../core/dialect.js";
import { httpStatusOf, toHttpError } from "../../core/http-error.js";
import { errors, InferenceError, toInferenceError } from "../../core/inference-error.js";
import type { InternalRoutes } from "../../core/internal-routes.js";
import type { FinishReason, TokenChunk, TokenUsage } from "../../core/token-chunk.js";
import type { AdminRoutes } from "../control/admin-api.js";
import { openAiChatDialect, openAiCompletionsDialect } from "../dialects/openai/openai-dialects.js";
import type {
  ClusterStatus,
  DeploymentStatus,
  InferenceServicePort,
  RequestHandle,
} from "../service-types.js";
import { MAX_JSON_DEPTH, tooDeepField } from "./json-depth.js";
import { answerClientError, readBody } from "./request-reading.js";
import { SseWriter } from "./sse-writer.js";

export interface HttpGatewayOptions {
  /** The one request path the gateway calls (also behind createInferenceSystem). */
  readonly service: InferenceServicePort;
  /**
   * `apiKeys` (client bearer keys; empty = open), `maxBodyBytes`, and `bodyTimeoutMs` with
   * `requestTimeoutMs` (the earlier bounds reading a request's body) are used.
   */
  readonly server: Pick<ServerConfig, "apiKeys" | "maxBodyBytes" | "bodyTimeoutMs" | "requestTimeoutMs">;
  /** Injected time: `created` fields, circuit_open's Retry-After and the body read deadline. */
  readonly clock: Pick<Clock, "now" | "setTimer">;
  readonly logger?: Logger;
  /** The admin API under /admin/v1/ (absent: those paths answer 404). */
  readonly admin?: AdminRoutes;
  /** In a cluster: this node's view of it, shown in /readyz (undefined before it joined). */
  readonly cluster?: () => ClusterStatus | undefined;
  /**
   * In a cluster: the node-to-node endpoint under /internal/ (forwarded requests; it checks the
   * node key itself). Absent: those paths answer 404. Never reached through /v1/.
   */
  readonly internal?: InternalRoutes;
}

export interface ListeningGateway {
  /** `http://host:port`, with the port actually bound (port 0 picks one). */
  readonly url: string;
  readonly port: number;
  /**
   * The first step of a shutdown: /readyz answers 503 `draining` (so a load balancer's probe takes
   * this node out of rotation) while requests are still accepted and served.
   */
  beginDrain(): void;
  /**
   * For draining: stops accepting connections and closes idle keep-alive sockets; requests in
   * flight run to their end, and their connections close after them.
   */
  stopAccepting(): Promise<void>;
  /** Resolves once the server is closed and every connection has ended (after stopAccepting). */
  whenIdle(): Promise<void>;
  /** Closes the server and destroys every connection (in-flight requests are cancelled). */
  close(): Promise<void>;
}

export interface HttpGateway {
  /** A node:http request listener; never throws and never rejects. */
  readonly handler: (request: IncomingMessage, response: ServerResponse) => void;
  /** Creates a node:http server around `handler` and binds it. */
  listen(host: string, port: number): Promise<ListeningGateway>;
}

type Method = "GET" | "POST";
type RouteAction = (request: IncomingMessage, response: ServerResponse) => Promise<void>;
type AcceptedRequest = Extract<DialectParse, { ok: true }>;
/** What a failed request's warning carries so it can be matched to the request. */
interface RequestLogContext {
  readonly requestId?: string;
  readonly deployment?: string;
}

export function createHttpGateway(options: HttpGatewayOptions): HttpGateway {
  const { service, clock } = options;
  const log = options.logger ?? silentLogger;
  const maxBodyBytes = options.server.maxBodyBytes;
  const bodyTimeoutMs = Math.min(options.server.bodyTimeoutMs, options.server.requestTimeoutMs);
  const apiKeys = options.server.apiKeys;
  /** Set by beginDrain: /readyz answers 503 `draining` from then on. */
  let draining = false;
  const startedAtSeconds = Math.floor(clock.now() / 1000);

  const routes: ReadonlyMap<string, Partial<Record<Method, RouteAction>>> = new Map([
    [
      "/v1/chat/completions",
      { POST: (request, response) => completions(request, response, openAiChatDialect) },
    ],
    [
      "/v1/completions",
      { POST: (request, response) => completions(request, response, openAiCompletionsDialect) },
    ],
    ["/v1/models", { GET: (_request, response) => models(response) }],
    ["/healthz", { GET: async (_request, response) => sendJson(response, 200, { status: "ok" }) }],
    ["/readyz", { GET: (_request, response) => readiness(response) }],
    ["/metrics", { GET: (_request, response) => metrics(response) }],
  ] satisfies Array<[string, Partial<Record<Method, RouteAction>>]>);
  /** `GET /v1/models/{id}`: one model object (the id is the rest of the path, URI-decoded). */
  const modelPrefix = "/v1/models/";
  const modelRoute: Partial<Record<Method, RouteAction>> = {
    GET: (request, response) => model(response, pathOf(request.url).slice(modelPrefix.length)),
  };

  // ── errors and plain responses ──────────────────────────────────────────────────────────────

  function sendJson(
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    if (response.headersSent || !isOpen(response)) return;
    const text = JSON.stringify(body);
    response.writeHead(status, {
      ...headers,
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
    });
    response.end(text);
  }

  /**
   * The one way an error leaves the gateway as HTTP: toHttpError's status and headers, optionally
   * another status, and the body of the route's dialect (OpenAI's outside a dialect's route).
   * `request` (the request id when known, the body's model) goes into the warning a 5xx logs.
   */
  function sendError(
    response: ServerResponse,
    error: InferenceError,
    override: {
      status?: number;
      headers?: Readonly<Record<string, string>>;
      request?: RequestLogContext;
      dialect?: Dialect;
    } = {},
  ): void {
    const http = toHttpError(error, clock.now());
    const status = override.status ?? http.status;
    if (status >= 500) log.warn({ ...override.request, code: error.code, status }, error.message);
    const body = (override.dialect ?? openAiChatDialect).errorBody(error, http.status);
    sendJson(response, status, body, { ...http.headers, ...override.headers });
  }

  // ── the handler ─────────────────────────────────────────────────────────────────────────────

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    response.on("error", (error) => log.debug({ error: error.message }, "response error"));
    request.on("error", (error) => log.debug({ error: error.message }, "request error"));
    boundReading(request, response);
    route(request, response).catch((error: unknown) => {
      log.error({ error: describe(error) }, "unexpected error in the HTTP gateway");
      try {
        const failure = error instanceof InferenceError ? error : errors.internal("internal error");
        if (!response.headersSent) sendError(response, failure);
        else response.destroy();
      } catch {
        response.destroy();
      }
    });
  };

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = pathOf(request.url);
    if (options.admin && path.startsWith("/admin/v1/")) {
      await options.admin(request, response, path, { sendJson, sendError, readJson });
      return;
    }
    if (options.internal && path.startsWith("/internal/")) {
      await options.internal(request, response, path, { readBody: (body) => readBody(body, maxBodyBytes) });
      return;
    }
    if (path === "/v1" || path.startsWith("/v1/")) {
      const denied = authenticate(request);
      if (denied) {
        sendError(response, denied, { headers: { "www-authenticate": "Bearer" } });
        request.resume();
        return;
      }
    }
    const endpoint = routes.get(path) ?? (path.startsWith(modelPrefix) ? modelRoute : undefined);
    if (!endpoint) {
      sendError(response, errors.notFound(`unknown path: ${request.method} ${truncate(path)}`));
      request.resume();
      return;
    }
    const method = request.method === "HEAD" ? "GET" : request.method;
    const action = method === "GET" || method === "POST" ? endpoint[method] : undefined;
    if (!action) {
      const allowed = Object.keys(endpoint).flatMap((name) => (name === "GET" ? ["GET", "HEAD"] : [name]));
      sendError(response, errors.badRequest(`method ${request.method} is not allowed on ${path}`), {
        status: 405,
        headers: { allow: allowed.join(", ") },
      });
      request.resume();
      return;
    }
    await action(request, response);
  }

  function authenticate(request: IncomingMessage): InferenceError | undefined {
    if (apiKeys.length === 0) return undefined;
    const header = request.headers.authorization;
    if (header === undefined || header === "")
      return errors.unauthorized("missing API key: send Authorization: Bearer <key>");
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match?.[1]) return errors.unauthorized("malformed Authorization header: expected Bearer <key>");
    const candidate = match[1];
    let matched = false;
    for (const key of apiKeys) if (key.matches(candidate)) matched = true;
    return matched ? undefined : errors.unauthorized("invalid API key");
  }

  // ── bodies ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Bounds how long the client may take to send its body (the headers are bounded by the server's
   * headersTimeout): past `bodyTimeoutMs` (or the request deadline, if earlier) it gets a 408 with
   * the error body and the connection closes; if the answer already went out (a path that does not
   * read its body), the connection just closes.
   */
  function boundReading(request: IncomingMessage, response: ServerResponse): void {
    const cancel = clock.setTimer(bodyTimeoutMs, () => {
      const socket = request.socket as Socket | null;
      if (request.complete || !socket || socket.destroyed) return;
      if (response.headersSent) {
        socket.destroy();
        return;
      }
      response.once("finish", () => socket.destroy());
      sendError(response, errors.timeout(`request body not received within ${bodyTimeoutMs} ms`), {
        status: 408,
        headers: { connection: "close" },
      });
    });
    request.once("end", cancel);
    response.once("close", () => {
      if (request.complete) cancel();
    });
  }

  /** Reads and JSON-parses the body; on failure the response has been sent and undefined returned. */
  async function readJson(
    request: IncomingMessage,
    response: ServerResponse,
    dialect?: Dialect,
  ): Promise<{ value: unknown } | undefined> {
    const body = await readBody(request, maxBodyBytes);
    if (body.kind === "aborted" || !isOpen(response)) return undefined;
    if (body.kind === "too_large") {
      sendError(response, errors.badRequest(`request body exceeds max_body_bytes (${maxBodyBytes})`), {
        status: 413,
        headers: { connection: "close" },
        dialect,
      });
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(body.bytes.toString("utf8"));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      sendError(response, errors.badRequest(`invalid JSON: ${reason}`), { dialect });
      return undefined;
    }
    const tooDeep = tooDeepField(value);
    if (tooDeep !== undefined) {
      const field = tooDeep === "request body" ? undefined : tooDeep;
      sendError(
        response,
        errors.badRequest(`${truncate(tooDeep)}: nested deeper than ${MAX_JSON_DEPTH} levels`, field),
        { dialect },
      );
      return undefined;
    }
    return { value };
  }

  // ── completions ─────────────────────────────────────────────────────────────────────────────

  async function completions(
    request: IncomingMessage,
    response: ServerResponse,
    dialect: Dialect,
  ): Promise<void> {
    const body = await readJson(request, response, dialect);
    if (!body) return;
    const parsed = dialect.parse(body.value);
    if (!parsed.ok) {
      sendError(response, parsed.error, { dialect });
      return;
    }
    if (parsed.request.stream) await streamed(response, parsed, dialect);
    else await unary(response, parsed, dialect);
  }

  async function unary(response: ServerResponse, parsed: AcceptedRequest, dialect: Dialect): Promise<void> {
    let result: CompletionResult;
    // the client hung up: its request was cancelled on its behalf; nobody is left to answer
    let clientGone = false;
    try {
      result = await service.complete(parsed.request, {
        onCancel: (cancel) =>
          response.once("close", () => {
            if (response.writableFinished) return;
            clientGone = true;
            cancel();
          }),
      });
    } catch (error) {
      if (clientGone || !isOpen(response)) {
        log.debug({ error: describe(error) }, "unary request ended after its client left");
        return;
      }
      sendError(response, toInferenceError(error), {
        request: { deployment: parsed.request.model },
        dialect,
      });
      return;
    }
    const context = { requestId: result.requestId, model: parsed.request.model, nowMs: clock.now() };
    const json = dialect.unaryBody(result, context);
    sendJson(response, 200, json, {
      "x-rakka-deployment": headerValue(result.deployment),
      ...(result.node !== undefined ? { "x-rakka-node": headerValue(result.node) } : {}),
      "x-request-id": headerValue(result.requestId),
    });
  }

  async function streamed(
    response: ServerResponse,
    parsed: AcceptedRequest,
    dialect: Dialect,
  ): Promise<void> {
    let handle: RequestHandle;
    try {
      handle = service.start(parsed.request);
    } catch (error) {
      sendError(response, toInferenceError(error), {
        request: { deployment: parsed.request.model },
        dialect,
      });
      return;
    }
    const logContext: RequestLogContext = { requestId: handle.requestId, deployment: parsed.request.model };
    const iterator = handle.chunks[Symbol.asyncIterator]();
    // `ended`: the chunks ran out or threw, so the request reached its end by itself. Until then a
    // client that goes away (or a write that finds it gone) cancels it, once.
    let ended = false;
    let cancelled = false;
    const cancel = () => {
      if (ended || cancelled) return;
      cancelled = true;
      handle.cancel();
    };
    response.once("close", cancel);
    const pull = async (): Promise<IteratorResult<TokenChunk>> => {
      try {
        const next = await iterator.next();
        if (next.done) ended = true;
        return next;
      } catch (error) {
        ended = true;
        throw error;
      }
    };
    try {
      let next: IteratorResult<TokenChunk>;
      try {
        next = await pull();
      } catch (error) {
        // Before commit: still a plain HTTP error with the right status (docs/architecture.md, request rules).
        sendError(response, toInferenceError(error), { request: logContext, dialect });
        return;
      }
      if (!isOpen(response)) return;

      const writer = new SseWriter(response);
      const encoder = dialect.streamEncoder(
        { requestId: handle.requestId, model: parsed.request.model, nowMs: clock.now() },
        parsed.includeUsage,
      );
      const fail = (failure: InferenceError) => writer.end(encoder.fail(failure, httpStatusOf(failure.kind)));
      const node = handle.servedOn();
      writer.begin({
        "x-rakka-deployment": headerValue(handle.servedBy() ?? parsed.request.model),
        ...(node !== undefined ? { "x-rakka-node": headerValue(node) } : {}),
        "x-request-id": headerValue(handle.requestId),
      });
      const opening = encoder.start();
      if (opening !== "" && !(await proceeds(writer.events(opening)))) return;
      let finishReason: FinishReason | undefined;
      let usage: TokenUsage | undefined;
      while (!next.done) {
        const chunk = next.value;
        if (chunk.finishReason) finishReason = chunk.finishReason;
        if (chunk.usage) usage = chunk.usage;
        const payload = encoder.chunk(chunk);
        if (payload !== undefined) {
          const written = writer.events(payload);
          // the common case needs no await: one less microtask per token
          if (written !== true && !(await written)) return;
        }
        try {
          next = await pull();
        } catch (error) {
          // After commit: the SSE error event, then the connection closes; no [DONE].
          const failure = toInferenceError(error);
          if (httpStatusOf(failure.kind) >= 500)
            log.warn({ ...logContext, code: failure.code }, `stream failed after commit: ${failure.message}`);
          fail(failure);
          return;
        }
      }
      if (finishReason === undefined) {
        // The chunks ended without a final chunk: the request was cancelled, not finished. Never
        // dress that up as finish_reason "stop" + [DONE]; if the client is still there it gets
        // the post-commit error event (docs/architecture.md, request rules).
        if (!cancelled && isOpen(response)) {
          const failure = errors.internal("the request ended before it finished");
          log.warn({ ...logContext, code: failure.code }, `stream failed after commit: ${failure.message}`);
          fail(failure);
        }
        return;
      }
      writer.end(encoder.finish(finishReason, usage));
    } finally {
      if (!ended) {
        cancel();
        iterator.return?.()?.catch(() => undefined);
      }
    }
  }

  // ── models, readiness, metrics ──────────────────────────────────────────────────────────────

  /** The OpenAI model object of a serving deployment. */
  function modelObject(deployment: DeploymentStatus) {
    return { id: deployment.name, object: "model", created: startedAtSeconds, owned_by: "rakka" };
  }

  async function models(response: ServerResponse): Promise<void> {
    const deployments = await service.deployments();
    sendJson(response, 200, {
      object: "list",
      data: deployments.filter((deployment) => deployment.state === "serving").map(modelObject),
    });
  }

  async function model(response: ServerResponse, encodedId: string): Promise<void> {
    let id: string | undefined;
    try {
      id = decodeURIComponent(encodedId);
    } catch {
      id = undefined;
    }
    const deployments = id === undefined || id === "" ? [] : await service.deployments();
    const found = deployments.find((deployment) => deployment.name === id && deployment.state === "serving");
    if (!found) {
      sendError(response, errors.notFound(`model not found: ${truncate(id ?? encodedId)}`));
      return;
    }
    sendJson(response, 200, modelObject(found));
  }

  async function readiness(response: ServerResponse): Promise<void> {
    const deployments = await service.deployments();
    const cluster = options.cluster?.();
    // with on_store_unavailable = "closed" an unreachable store refuses requests: not ready
    const storeRefuses = cluster?.store === "unavailable" && cluster.onStoreUnavailable === "closed";
    // in a cluster, the live nodes whose last heartbeat lists a ready replica of each deployment
    // (docs/cluster.md, "Membership"): read from the view, no Redis call per probe
    const servingNodes = (name: string): string[] =>
      (cluster?.nodes ?? [])
        .filter((node) => node.replicas.some((replica) => replica.deployment === name))
        .map((node) => node.nodeId);
    // serving here, or failed here while a ready replica on a live node serves it (this node
    // forwards its requests there); a pending one still holds readiness back, a draining one leaves
    const serves = (deployment: DeploymentStatus): boolean =>
      deployment.state === "serving" ||
      (deployment.state === "failed" && servingNodes(deployment.name).length > 0);
    const ready =
      !draining &&
      !storeRefuses &&
      deployments.some(serves) &&
      !deployments.some((deployment) => deployment.state === "pending");
    sendJson(response, ready ? 200 : 503, {
      ready,
      ...(draining ? { status: "draining" } : {}),
      ...(cluster
        ? {
            cluster: {
              node: cluster.nodeId,
              store: cluster.store,
              nodes: cluster.nodes.map((node) => node.nodeId),
            },
          }
        : {}),
      deployments: deployments.map((deployment) => ({
        name: deployment.name,
        state: deployment.state,
        ...(deployment.reason === undefined ? {} : { reason: deployment.reason }),
        replicas: deployment.replicas,
        ready_replicas: deployment.readyReplicas,
        ...(cluster ? { serving_nodes: servingNodes(deployment.name) } : {}),
        ...unplacedOf(cluster, deployment.name),
      })),
    });
  }

  async function metrics(response: ServerResponse): Promise<void> {
    const text = await service.metricsText();
    if (response.headersSent || !isOpen(response)) return;
    response.writeHead(200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
      "content-length": String(Buffer.byteLength(text)),
    });
    response.end(text);
  }

  // ── server ──────────────────────────────────────────────────────────────────────────────────

  async function listen(host: string, port: number): Promise<ListeningGateway> {
    let stopping = false;
    // node checks its header deadline this often (its default, 30 s, would let a 6 s one run 36 s)
    const connectionsCheckingInterval = Math.max(100, Math.min(1000, bodyTimeoutMs));
    const server = createServer({ connectionsCheckingInterval }, (request, response) => {
      if (stopping) response.setHeader("connection", "close");
      response.once("finish", () => {
        if (stopping) setImmediate(() => server.closeIdleConnections());
      });
      handler(request, response);
    });
    // Reading the headers is bounded by body_timeout_ms too (node's own check, every second at
    // most); the body is bounded by boundReading on the injected clock, so node's whole-request
    // timer is off.
    server.headersTimeout = bodyTimeoutMs;
    server.requestTimeout = 0;
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) =>
      answerClientError(error, socket),
    );
    // A listen failure (EADDRINUSE, EACCES) rejects for the caller to report; only errors after
    // the server is up are logged here, so a busy port is not reported twice.
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => log.error({ error: error.message }, "HTTP server error"));
    const bound = (server.address() as AddressInfo).port;
    let closed: Promise<void> | undefined;
    const closeServer = (): Promise<void> => {
      closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closed;
    };
    return {
      url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}`,
      port: bound,
      beginDrain() {
        draining = true;
      },
      async stopAccepting() {
        stopping = true;
        void closeServer();
        server.closeIdleConnections();
      },
      whenIdle: closeServer,
      async close() {
        stopping = true;
        const done = closeServer();
        server.closeAllConnections();
        await done;
      },
    };
  }

  return { handler, listen };
}

function isOpen(response: ServerResponse): boolean {
  return !response.writableEnded && !response.destroyed;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return "/";
  const query = url.indexOf("?");
  return query >= 0 ? url.slice(0, query) : url;
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Header values must be visible ASCII; anything else (a client's odd model name) is URI-encoded. */
function headerValue(value: string): string {
  return matches(/^[\x20-\x7e]*$/, value) ? value : encodeURIComponent(value);
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Whether `text` matches `pattern` (a whole-string check when the pattern is anchored). */
function matches(pattern: RegExp, text: string): boolean {
  return pattern.exec(text) !== null;
}

/** An SseWriter result as a promise (for the rare writes outside the per-token loop). */
function proceeds(written: boolean | Promise<boolean>): Promise<boolean> {
  return typeof written === "boolean" ? Promise.resolve(written) : written;
}

/** /readyz: the replicas of `deployment` a cluster's placement could not place, and why. */
function unplacedOf(cluster: ClusterStatus | undefined, deployment: string) {
  const unplaced = cluster?.unplaced?.filter((replica) => replica.deployment === deployment) ?? [];
  if (unplaced.length === 0) return {};
  return { unplaced_replicas: unplaced.map(({ index, reason }) => ({ index, reason })) };
}
