// The admin API under /admin/v1/, authenticated by `Authorization: Bearer <[server] admin_key>`.
// Routes: GET deployments · POST deployments (apply one [[deployment]] table as JSON) ·
// DELETE deployments/{name} · POST deployments/{name}/circuit {"state": open|closed|auto} ·
// POST deployments/{name}/session/rebuild · GET spend. Responses never contain a secret.

import type { IncomingMessage, ServerResponse } from "node:http";
import { errors, type InferenceError } from "../core/inference-error.js";
import type { Secret } from "../core/secret.js";
import type { AdminService } from "./admin-service.js";
import type { ApplyResult, CommandResult } from "./deployment-manager-actor.js";

/** What the gateway lends the admin routes: its one way to answer JSON and errors. */
export interface AdminResponder {
  sendJson(
    response: ServerResponse,
    status: number,
    body: unknown,
    headers?: Readonly<Record<string, string>>,
  ): void;
  sendError(
    response: ServerResponse,
    error: InferenceError,
    override?: { status?: number; headers?: Readonly<Record<string, string>> },
  ): void;
  readJson(request: IncomingMessage, response: ServerResponse): Promise<{ value: unknown } | undefined>;
}

export type AdminRoutes = (
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  io: AdminResponder,
) => Promise<void>;

function bearerMatches(request: IncomingMessage, key: Secret): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? "");
  return match?.[1] !== undefined && key.matches(match[1]);
}

function applyBody(result: ApplyResult): { status: number; body: unknown } {
  if (result.ok) return { status: 200, body: { ok: true, deployment: result.status } };
  return {
    status: result.status?.state === "failed" ? 422 : 409,
    body: { ok: false, reason: result.reason, deployment: result.status ?? null },
  };
}

function commandBody(result: CommandResult): { status: number; body: unknown } {
  return result.ok
    ? { status: 200, body: { ok: true, replicas: result.replicas } }
    : { status: result.status, body: { ok: false, reason: result.reason } };
}

export function createAdminRoutes(options: {
  readonly adminKey: Secret;
  readonly service: AdminService;
}): AdminRoutes {
  const { service } = options;
  return async (request, response, path, io) => {
    const method = request.method ?? "GET";
    if (!bearerMatches(request, options.adminKey)) {
      request.resume();
      io.sendError(response, errors.unauthorized("admin API: missing or wrong admin key"), {
        headers: { "www-authenticate": "Bearer" },
      });
      return;
    }
    const segments = path.slice("/admin/v1/".length).split("/").map(decodeURIComponent);
    const notAllowed = (allow: string) => {
      request.resume();
      io.sendError(response, errors.badRequest(`method ${method} is not allowed on ${path}`), {
        status: 405,
        headers: { allow },
      });
    };
    const [resource, name, action, subAction] = segments;
    if (resource === "spend" && segments.length === 1) {
      if (method !== "GET") return notAllowed("GET");
      const rows = await service.spend();
      io.sendJson(response, 200, {
        spend: rows.map((row) => ({
          deployment: row.deployment,
          hour_usd: row.hourUsd,
          day_usd: row.dayUsd,
          reserved_usd: row.reservedUsd,
        })),
      });
      return;
    }
    if (resource === "deployments" && segments.length === 1) {
      if (method === "GET") {
        io.sendJson(response, 200, { deployments: await service.deployments() });
        return;
      }
      if (method !== "POST") return notAllowed("GET, POST");
      const body = await io.readJson(request, response);
      if (!body) return;
      const outcome = await service.apply(body.value);
      if (outcome.type === "invalid") {
        io.sendJson(response, 400, {
          error: { message: "invalid deployment", type: "invalid_request_error", code: "bad_request" },
          problems: outcome.problems,
        });
        return;
      }
      const answer = applyBody(outcome.result);
      io.sendJson(response, answer.status, answer.body);
      return;
    }
    if (resource === "deployments" && name !== undefined && name !== "") {
      if (segments.length === 2) {
        if (method !== "DELETE") return notAllowed("DELETE");
        const result = await service.remove(name);
        if (!result.ok && !result.status) {
          io.sendError(response, errors.notFound(result.reason));
          return;
        }
        const answer = applyBody(result);
        io.sendJson(response, answer.status, answer.body);
        return;
      }
      if (segments.length === 3 && action === "circuit") {
        if (method !== "POST") return notAllowed("POST");
        const body = await io.readJson(request, response);
        if (!body) return;
        const state = (body.value as { state?: unknown } | null)?.state;
        if (state !== "open" && state !== "closed" && state !== "auto") {
          io.sendError(response, errors.badRequest('state: must be "open", "closed" or "auto"', "state"));
          return;
        }
        const answer = commandBody(await service.forceCircuit(name, state));
        io.sendJson(response, answer.status, answer.body);
        return;
      }
      if (segments.length === 4 && action === "session" && subAction === "rebuild") {
        if (method !== "POST") return notAllowed("POST");
        request.resume();
        const answer = commandBody(await service.rebuildSession(name));
        io.sendJson(response, answer.status, answer.body);
        return;
      }
    }
    request.resume();
    io.sendError(response, errors.notFound(`unknown admin path: ${method} ${path.slice(0, 200)}`));
  };
}
