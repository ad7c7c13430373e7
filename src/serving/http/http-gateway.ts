// The HTTP gateway: the front door of the request path (docs/architecture.md, request rules). It
// routes each path to a dialect's completion route (dialect-route.ts) or to a plain route,
// authenticates client keys, reads bounded bodies, and answers models, readiness and metrics.
// Errors reach HTTP only through toHttpError, in the body of the route's dialect; the handler
// never throws.

import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type Clock, type Logger, silentLogger } from "../../actor/index.js";
import type { ServerConfig } from "../../core/config/server-schema.js";
import type { Dialect, ErrorDialect } from "../../core/dialect.js";
import { toHttpError } from "../../core/http-error.js";
import { errors, InferenceError } from "../../core/inference-error.js";
import type { InternalRoutes } from "../../core/internal-routes.js";
import type { AdminRoutes } from "../control/admin-api.js";
import { openAiChatDialect, openAiCompletionsDialect } from "../dialects/openai/openai-dialects.js";
import type { ClusterStatus, DeploymentStatus, InferenceServicePort } from "../service-types.js";
import { type DialectRoute, type DialectRouteDeps, dialectRoute } from "./dialect-route.js";
import type { GatewayIo, RequestLogContext } from "./gateway-io.js";
import { MAX_JSON_DEPTH, tooDeepField } from "./json-depth.js";
import { answerClientError, readBody } from "./request-reading.js";

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
  /** Dialects served beside OpenAI's chat and legacy completions, each at its path (`servedDialect`). */
  readonly dialects?: readonly ServedDialect[];
  /** Plain routes beside the built-in ones (docs/api.md lists them). */
  readonly routes?: readonly GatewayRoute[];
  /**
   * The key of the HMAC that turns a client key into its client id (stored responses are owned by
   * it): the same on every node of a cluster (its node key), random per process otherwise.
   * Default: random bytes.
   */
  readonly clientIdKey?: string;
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

type Method = "GET" | "POST" | "DELETE";
type RouteAction = (
  request: IncomingMessage,
  response: ServerResponse,
  client: ClientIdentity,
) => Promise<void>;

/** A route the gateway serves: its actions by method, and the dialect whose error body it answers with. */
interface Route {
  readonly actions: Partial<Record<Method, RouteAction>>;
  readonly dialect?: ErrorDialect;
}

/**
 * A route beyond the built-in ones (a dialect's second endpoint, stored state): `path` exactly, or
 * every path under `prefix` (the handler reads the rest). Errors are answered in `dialect`'s body.
 */
export interface GatewayRoute {
  readonly path?: string;
  readonly prefix?: string;
  readonly dialect?: ErrorDialect;
  readonly actions: Partial<
    Record<
      Method,
      (request: IncomingMessage, response: ServerResponse, context: GatewayRouteContext) => Promise<void>
    >
  >;
}

/** What a plain route gets: the client's identity and the gateway's one way to answer. */
export interface GatewayRouteContext extends ClientIdentity {
  readonly io: GatewayIo;
  /** The path, without the query. */
  readonly path: string;
}

/** A dialect at its path, its state type closed over (so the gateway serves any dialect). */
export interface ServedDialect {
  readonly path: string;
  readonly dialect: ErrorDialect;
  route(deps: DialectRouteDeps): DialectRoute;
}

export function servedDialect<S>(path: string, dialect: Dialect<S>): ServedDialect {
  return { path, dialect, route: (deps) => dialectRoute(dialect, deps) };
}

/** Who the client is (src/core/dialect.ts, DialectContext.clientId). */
export interface ClientIdentity {
  readonly clientId: string;
}

export function createHttpGateway(options: HttpGatewayOptions): HttpGateway {
  const { service, clock } = options;
  const log = options.logger ?? silentLogger;
  const maxBodyBytes = options.server.maxBodyBytes;
  const bodyTimeoutMs = Math.min(options.server.bodyTimeoutMs, options.server.requestTimeoutMs);
  const apiKeys = options.server.apiKeys;
  const clientIdKey = options.clientIdKey ?? randomBytes(32).toString("hex");
  /**
   * An opaque, stable id of a client key: the first 32 hex digits of its HMAC-SHA256 under
   * `clientIdKey`, so an id stored beside a conversation never lets a key be guessed offline.
   */
  const clientIdOf = (key: string): string =>
    createHmac("sha256", clientIdKey).update(key).digest("hex").slice(0, 32);
  /** Set by beginDrain: /readyz answers 503 `draining` from then on. */
  let draining = false;
  const startedAtSeconds = Math.floor(clock.now() / 1000);

  const io: GatewayIo = { sendJson, sendError, readJson };
  const routeDeps: DialectRouteDeps = { service, clock, log, io };
  const completionRoute = <S>(dialect: Dialect<S>): Route => ({
    actions: { POST: dialectRoute(dialect, routeDeps) },
    dialect,
  });
  const routes = new Map<string, Route>([
    ["/v1/chat/completions", completionRoute(openAiChatDialect)],
    ["/v1/completions", completionRoute(openAiCompletionsDialect)],
    ["/v1/models", { actions: { GET: (_request, response) => models(response) } }],
    [
      "/healthz",
      { actions: { GET: async (_request, response) => sendJson(response, 200, { status: "ok" }) } },
    ],
    ["/readyz", { actions: { GET: (_request, response) => readiness(response) } }],
    ["/metrics", { actions: { GET: (_request, response) => metrics(response) } }],
  ]);
  /** `GET /v1/models/{id}`: one model object (the id is the rest of the path, URI-decoded). */
  const prefixRoutes: Array<{ readonly prefix: string; readonly route: Route }> = [
    {
      prefix: "/v1/models/",
      route: {
        actions: {
          GET: (request, response) => model(response, pathOf(request.url).slice("/v1/models/".length)),
        },
      },
    },
  ];
  for (const served of options.dialects ?? []) {
    routes.set(served.path, { actions: { POST: served.route(routeDeps) }, dialect: served.dialect });
  }
  for (const extra of options.routes ?? []) {
    const actions: Partial<Record<Method, RouteAction>> = {};
    for (const [method, action] of Object.entries(extra.actions) as Array<
      [Method, NonNullable<GatewayRoute["actions"][Method]>]
    >) {
      actions[method] = (request, response, client) =>
        action(request, response, { ...client, io, path: pathOf(request.url) });
    }
    const route: Route = extra.dialect === undefined ? { actions } : { actions, dialect: extra.dialect };
    if (extra.path !== undefined) routes.set(extra.path, route);
    if (extra.prefix !== undefined) prefixRoutes.push({ prefix: extra.prefix, route });
  }
  /**
   * The dialect whose error body a path's errors carry: its route's, else the dialect served at a
   * parent path (an unknown `/v1/messages/batches` answers in Anthropic's shape), else none (OpenAI's).
   */
  const errorDialectOf = (path: string): ErrorDialect | undefined =>
    routeOf(path)?.dialect ??
    (options.dialects ?? []).find((served) => path.startsWith(`${served.path}/`))?.dialect;
  const routeOf = (path: string): Route | undefined =>
    routes.get(path) ?? prefixRoutes.find((entry) => path.startsWith(entry.prefix))?.route;

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
      dialect?: ErrorDialect;
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
    boundReading(request, response, errorDialectOf(pathOf(request.url)));
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
      await options.admin(request, response, path, io);
      return;
    }
    if (options.internal && path.startsWith("/internal/")) {
      await options.internal(request, response, path, { readBody: (body) => readBody(body, maxBodyBytes) });
      return;
    }
    const endpoint = routeOf(path);
    let client: ClientIdentity = { clientId: "" };
    if (path === "/v1" || path.startsWith("/v1/")) {
      const auth = authenticate(request);
      if (!auth.ok) {
        sendError(response, auth.error, {
          headers: { "www-authenticate": "Bearer" },
          ...(endpoint?.dialect ? { dialect: endpoint.dialect } : {}),
        });
        request.resume();
        return;
      }
      client = auth.client;
    }
    if (!endpoint) {
      const dialect = errorDialectOf(path);
      sendError(response, errors.notFound(`unknown path: ${request.method} ${truncate(path)}`), {
        ...(dialect ? { dialect } : {}),
      });
      request.resume();
      return;
    }
    const method = request.method === "HEAD" ? "GET" : request.method;
    const action =
      method === "GET" || method === "POST" || method === "DELETE" ? endpoint.actions[method] : undefined;
    if (!action) {
      const allowed = Object.keys(endpoint.actions).flatMap((name) =>
        name === "GET" ? ["GET", "HEAD"] : [name],
      );
      sendError(response, errors.badRequest(`method ${request.method} is not allowed on ${path}`), {
        status: 405,
        headers: { allow: allowed.join(", ") },
        ...(endpoint.dialect ? { dialect: endpoint.dialect } : {}),
      });
      request.resume();
      return;
    }
    await action(request, response, client);
  }

  /**
   * The client's key, from `Authorization: Bearer <key>` or (Anthropic's clients) `x-api-key`,
   * checked against `[server] api_keys` in constant time. Its identity is a hash of the key.
   */
  function authenticate(
    request: IncomingMessage,
  ): { ok: true; client: ClientIdentity } | { ok: false; error: InferenceError } {
    if (apiKeys.length === 0) return { ok: true, client: { clientId: "" } };
    const refuse = (message: string) => ({ ok: false as const, error: errors.unauthorized(message) });
    const header = request.headers.authorization;
    const apiKeyHeader = request.headers["x-api-key"];
    let candidate: string | undefined;
    if (header !== undefined && header !== "") {
      const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
      if (!match?.[1]) return refuse("malformed Authorization header: expected Bearer <key>");
      candidate = match[1];
    } else if (typeof apiKeyHeader === "string" && apiKeyHeader !== "") {
      candidate = apiKeyHeader.trim();
    }
    if (candidate === undefined)
      return refuse("missing API key: send Authorization: Bearer <key> (or x-api-key: <key>)");
    let matched = false;
    for (const key of apiKeys) if (key.matches(candidate)) matched = true;
    if (!matched) return refuse("invalid API key");
    return { ok: true, client: { clientId: clientIdOf(candidate) } };
  }

  // ── bodies ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Bounds how long the client may take to send its body (the headers are bounded by the server's
   * headersTimeout): past `bodyTimeoutMs` (or the request deadline, if earlier) it gets a 408 with
   * the error body and the connection closes; if the answer already went out (a path that does not
   * read its body), the connection just closes.
   */
  function boundReading(request: IncomingMessage, response: ServerResponse, dialect?: ErrorDialect): void {
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
        ...(dialect ? { dialect } : {}),
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
    dialect?: ErrorDialect,
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

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Whether `text` matches `pattern` (a whole-string check when the pattern is anchored). */
function _matches(pattern: RegExp, text: string): boolean {
  return pattern.exec(text) !== null;
}

/** /readyz: the replicas of `deployment` a cluster's placement could not place, and why. */
function unplacedOf(cluster: ClusterStatus | undefined, deployment: string) {
  const unplaced = cluster?.unplaced?.filter((replica) => replica.deployment === deployment) ?? [];
  if (unplaced.length === 0) return {};
  return { unplaced_replicas: unplaced.map(({ index, reason }) => ({ index, reason })) };
}
