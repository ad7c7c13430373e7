// The admin API under /admin/v1/, authenticated by `Authorization: Bearer <[server] admin_key>`.
// Routes: GET deployments · POST deployments (apply one [[deployment]] table as JSON; in a cluster
// `if_version` beside its keys makes it a compare-and-set on the catalog, 409 when stale) ·
// DELETE deployments/{name} · POST deployments/{name}/circuit {"state": open|closed|auto} ·
// POST deployments/{name}/session/rebuild · GET spend · GET cluster (a cluster node's view, with
// the shared placement read from Redis on each call). Responses never contain a secret.
// Every key is snake_case, like the config file and the POST bodies; every refusal is the
// OpenAI-style `{"error": {"message", "type", "code"}}` with a stable code, like the rest of the
// gateway (problems / deployment ride beside "error" where there are some).

import type { IncomingMessage, ServerResponse } from "node:http";
import { errors } from "../../core/inference-error.js";
import type { Secret } from "../../core/secret.js";
import type { GatewayIo } from "../http/gateway-io.js";
import type { ClusterPlacement, ClusterStatus, DeploymentStatus } from "../service-types.js";
import type { AdminDeploymentView, AdminService } from "./admin-service.js";
import type { ApplyResult, CommandResult } from "./deployment-manager-actor.js";

export type AdminRoutes = (
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  io: GatewayIo,
) => Promise<void>;

/** Compares through `Secret.matches`, the gateway's constant-time path for client keys too. */
function bearerMatches(request: IncomingMessage, key: Secret): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? "");
  return match?.[1] !== undefined && key.matches(match[1]);
}

/** A deployment's status as the admin API's JSON (snake_case). */
function statusJson(status: DeploymentStatus) {
  return {
    name: status.name,
    state: status.state,
    ...(status.reason === undefined ? {} : { reason: status.reason }),
    replicas: status.replicas,
    ready_replicas: status.readyReplicas,
    runtime: status.runtime,
    model: status.model,
  };
}

function deploymentJson(view: AdminDeploymentView) {
  return {
    ...statusJson(view),
    running: view.running,
    waiting: view.waiting,
    rate_limit_utilization: view.rateLimitUtilization,
    circuits: view.circuits.map((circuit) => ({ endpoint: circuit.endpoint, state: circuit.state })),
    spend: { hour_usd: view.spend.hourUsd, day_usd: view.spend.dayUsd },
  };
}

/** An admin refusal whose code is not an InferenceErrorKind: 400 invalid_deployment, 409, 422. */
function errorBody(message: string, code: "invalid_deployment" | "conflict" | "deployment_failed") {
  return { error: { message, type: "invalid_request_error", code } };
}

function applyBody(result: ApplyResult): { status: number; body: unknown } {
  if (result.ok) return { status: 200, body: { ok: true, deployment: statusJson(result.status) } };
  const failed = result.status?.state === "failed";
  return {
    status: failed ? 422 : 409,
    body: {
      ...errorBody(result.reason, failed ? "deployment_failed" : "conflict"),
      deployment: result.status ? statusJson(result.status) : null,
    },
  };
}

function clusterJson(cluster: ClusterStatus) {
  return {
    node: cluster.nodeId,
    store: cluster.store,
    on_store_unavailable: cluster.onStoreUnavailable,
    nodes: cluster.nodes.map((node) => ({
      node_id: node.nodeId,
      url: node.url,
      version: node.version,
      heartbeat_age_ms: node.heartbeatAgeMs,
      replicas: node.replicas.map((replica) => ({
        deployment: replica.deployment,
        running: replica.running,
        waiting: replica.waiting,
      })),
      in_flight: node.inFlight,
    })),
  };
}

/**
 * GET cluster's `placement` (docs/cluster.md, "Placement"): the plan, the replica reports and the
 * lease holder; when Redis cannot answer, `placement: null` and the reason in `placement_error`.
 */
async function placementJson(read: (() => Promise<ClusterPlacement>) | undefined) {
  if (!read) return {};
  let placement: ClusterPlacement;
  try {
    placement = await read();
  } catch (error) {
    return { placement: null, placement_error: (error as Error).message };
  }
  return {
    placement: {
      version: placement.version,
      lease_holder: placement.leaseHolder ?? null,
      plan: placement.placements.map((entry) => ({
        deployment: entry.deployment,
        index: entry.index,
        node_id: entry.nodeId,
      })),
      unplaced: placement.unplaced.map(({ deployment, index, reason }) => ({ deployment, index, reason })),
      reports: placement.reports.map((report) => ({
        deployment: report.deployment,
        index: report.index,
        node_id: report.nodeId,
        state: report.state,
        ...(report.reason === undefined ? {} : { reason: report.reason }),
        reported_at: report.reportedAt,
      })),
    },
  };
}

export function createAdminRoutes(options: {
  readonly adminKey: Secret;
  readonly service: AdminService;
  /** In a cluster: the node's view of it (GET cluster); absent: that path answers 404. */
  readonly cluster?: () => ClusterStatus | undefined;
  /**
   * In a cluster: the shared placement, read on each GET cluster; rejects when Redis cannot
   * answer, with a message that holds no secret (it is shown as `placement_error`).
   */
  readonly placement?: () => Promise<ClusterPlacement>;
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
    const sendCommand = (result: CommandResult) => {
      if (result.ok) io.sendJson(response, 200, { ok: true, replicas: result.replicas });
      else
        io.sendError(
          response,
          result.status === 404 ? errors.notFound(result.reason) : errors.badRequest(result.reason),
        );
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
    if (resource === "cluster" && segments.length === 1) {
      if (method !== "GET") return notAllowed("GET");
      request.resume();
      const cluster = options.cluster?.();
      if (!cluster) {
        io.sendError(response, errors.notFound("this server is not a cluster node (no [cluster] table)"));
        return;
      }
      io.sendJson(response, 200, { ...clusterJson(cluster), ...(await placementJson(options.placement)) });
      return;
    }
    if (resource === "deployments" && segments.length === 1) {
      if (method === "GET") {
        io.sendJson(response, 200, { deployments: (await service.deployments()).map(deploymentJson) });
        return;
      }
      if (method !== "POST") return notAllowed("GET, POST");
      const body = await io.readJson(request, response);
      if (!body) return;
      const outcome = await service.apply(body.value);
      if (outcome.type === "invalid") {
        io.sendJson(response, 400, {
          ...errorBody("invalid deployment", "invalid_deployment"),
          problems: outcome.problems.map((problem) => ({ path: problem.path, message: problem.message })),
        });
        return;
      }
      if (outcome.type === "conflict") {
        io.sendJson(response, 409, {
          ...errorBody(
            `catalog version is ${outcome.currentVersion}, not ${outcome.expectedVersion}`,
            "conflict",
          ),
          current_version: outcome.currentVersion,
        });
        return;
      }
      const answer = applyBody(outcome.result);
      const versioned =
        outcome.version === undefined
          ? answer.body
          : { ...(answer.body as object), version: outcome.version };
      io.sendJson(response, answer.status, versioned);
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
        return sendCommand(await service.forceCircuit(name, state));
      }
      if (segments.length === 4 && action === "session" && subAction === "rebuild") {
        if (method !== "POST") return notAllowed("POST");
        request.resume();
        return sendCommand(await service.rebuildSession(name));
      }
    }
    request.resume();
    io.sendError(response, errors.notFound(`unknown admin path: ${method} ${path.slice(0, 200)}`));
  };
}
