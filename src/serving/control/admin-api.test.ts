// The admin routes' response shapes with a stubbed service: snake_case keys throughout, and every
// refusal in the OpenAI-style error shape with a stable code (409 conflict, 422 deployment_failed).
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { toHttpError } from "../../core/http-error.js";
import { Secret } from "../../core/secret.js";
import { openAiErrorBody } from "../dialects/openai/openai-error-body.js";
import type { GatewayIo } from "../http/gateway-io.js";
import type { ClusterPlacement, ClusterStatus, DeploymentStatus } from "../service-types.js";
import { type AdminRoutes, createAdminRoutes } from "./admin-api.js";
import type { AdminService } from "./admin-service.js";

const status: DeploymentStatus = {
  name: "gpt",
  state: "serving",
  replicas: 2,
  readyReplicas: 1,
  runtime: "openai",
  gpus: 0,
  model: "gpt-4o",
};

const service: AdminService = {
  deployments: async () => [
    {
      ...status,
      running: 3,
      waiting: 4,
      rateLimitUtilization: 0.5,
      circuits: [{ endpoint: "openai:gpt-4o", state: "closed" }],
      spend: { hourUsd: 0.25, dayUsd: 1.5 },
    },
  ],
  apply: async (table) => {
    const name = (table as { name: string }).name;
    if (name === "invalid")
      return { type: "invalid", problems: [{ path: "replica", message: "unknown key" }] };
    if (name === "busy")
      return {
        type: "applied",
        result: {
          ok: false,
          reason: "deployment busy is being removed",
          status: { ...status, name, state: "draining" },
        },
      };
    if (name === "broken")
      return {
        type: "applied",
        result: {
          ok: false,
          reason: "every replica failed",
          status: { ...status, name, state: "failed", readyReplicas: 0 },
        },
      };
    return { type: "applied", result: { ok: true, status } };
  },
  remove: async (name) => ({ ok: false, reason: `deployment ${name} does not exist` }),
  forceCircuit: async () => ({ ok: true, replicas: 1 }),
  rebuildSession: async (name) => ({ ok: false, status: 404, reason: `deployment ${name} does not exist` }),
  spend: async () => [{ deployment: "gpt", hourUsd: 0.25, dayUsd: 1.5, reservedUsd: 0.01 }],
};

const routes = createAdminRoutes({ adminKey: Secret.inline("admin-key"), service });

const clusterStatus: ClusterStatus = {
  nodeId: "node-c",
  store: "available",
  onStoreUnavailable: "open",
  nodes: [
    {
      nodeId: "node-a",
      url: "http://10.0.0.1:8080",
      version: "1.2.3",
      heartbeatAgeMs: 120,
      replicas: [{ deployment: "tiny", running: 1, waiting: 0 }],
      inFlight: 1,
    },
    {
      nodeId: "node-c",
      url: "http://10.0.0.3:8080",
      version: "1.2.3",
      heartbeatAgeMs: 40,
      replicas: [],
      inFlight: 0,
    },
  ],
};

const placement: ClusterPlacement = {
  version: 4,
  leaseHolder: "node-a",
  placements: [
    { deployment: "tiny", index: 0, nodeId: "node-a" },
    { deployment: "tiny", index: 1, nodeId: "node-b" },
  ],
  unplaced: [{ deployment: "tiny", index: 2, reason: "no live node has a free model slot" }],
  reports: [
    { deployment: "tiny", index: 0, nodeId: "node-a", state: "ready", reportedAt: 1_700_000_000_000 },
    {
      deployment: "tiny",
      index: 1,
      nodeId: "node-b",
      state: "failed",
      reason: "model file not found: models/tiny.gguf",
      reportedAt: 1_700_000_000_500,
    },
  ],
};

let readPlacement: () => Promise<ClusterPlacement> = async () => placement;

const clusterRoutes = createAdminRoutes({
  adminKey: Secret.inline("admin-key"),
  service,
  cluster: () => clusterStatus,
  placement: () => readPlacement(),
});

async function call(method: string, path: string, body?: unknown, via: AdminRoutes = routes) {
  let answer: { status: number; body: unknown } | undefined;
  const io: GatewayIo = {
    sendJson: (_response, status, body) => {
      answer = { status, body: JSON.parse(JSON.stringify(body)) };
    },
    sendError: (_response, error, override) => {
      const http = toHttpError(error, 0);
      answer = { status: override?.status ?? http.status, body: openAiErrorBody(error, http.status) };
    },
    readJson: async () => ({ value: body }),
  };
  const request = { method, headers: { authorization: "Bearer admin-key" }, resume: () => {} };
  await via(request as unknown as IncomingMessage, {} as ServerResponse, `/admin/v1/${path}`, io);
  return answer;
}

describe("admin API shapes", () => {
  it("lists deployments in snake_case", async () => {
    expect(await call("GET", "deployments")).toEqual({
      status: 200,
      body: {
        deployments: [
          {
            name: "gpt",
            state: "serving",
            replicas: 2,
            ready_replicas: 1,
            runtime: "openai",
            model: "gpt-4o",
            running: 3,
            waiting: 4,
            rate_limit_utilization: 0.5,
            circuits: [{ endpoint: "openai:gpt-4o", state: "closed" }],
            spend: { hour_usd: 0.25, day_usd: 1.5 },
          },
        ],
      },
    });
  });

  it("reports spend in snake_case", async () => {
    expect(await call("GET", "spend")).toEqual({
      status: 200,
      body: { spend: [{ deployment: "gpt", hour_usd: 0.25, day_usd: 1.5, reserved_usd: 0.01 }] },
    });
  });

  it("answers an applied deployment in snake_case", async () => {
    expect(await call("POST", "deployments", { name: "gpt" })).toEqual({
      status: 200,
      body: {
        ok: true,
        deployment: {
          name: "gpt",
          state: "serving",
          replicas: 2,
          ready_replicas: 1,
          runtime: "openai",
          model: "gpt-4o",
        },
      },
    });
  });

  it("refuses in the OpenAI-style error shape with a stable code", async () => {
    expect(await call("POST", "deployments", { name: "invalid" })).toEqual({
      status: 400,
      body: {
        error: { message: "invalid deployment", type: "invalid_request_error", code: "invalid_deployment" },
        problems: [{ path: "replica", message: "unknown key" }],
      },
    });
    expect(await call("POST", "deployments", { name: "busy" })).toEqual({
      status: 409,
      body: {
        error: {
          message: "deployment busy is being removed",
          type: "invalid_request_error",
          code: "conflict",
        },
        deployment: {
          name: "busy",
          state: "draining",
          replicas: 2,
          ready_replicas: 1,
          runtime: "openai",
          model: "gpt-4o",
        },
      },
    });
    expect(await call("POST", "deployments", { name: "broken" })).toEqual({
      status: 422,
      body: {
        error: { message: "every replica failed", type: "invalid_request_error", code: "deployment_failed" },
        deployment: {
          name: "broken",
          state: "failed",
          replicas: 2,
          ready_replicas: 0,
          runtime: "openai",
          model: "gpt-4o",
        },
      },
    });
    expect(await call("DELETE", "deployments/nope")).toEqual({
      status: 404,
      body: {
        error: { message: "deployment nope does not exist", type: "not_found_error", code: "not_found" },
      },
    });
    expect(await call("POST", "deployments/nope/session/rebuild")).toEqual({
      status: 404,
      body: {
        error: { message: "deployment nope does not exist", type: "not_found_error", code: "not_found" },
      },
    });
    expect(await call("POST", "deployments/gpt/circuit", { state: "open" })).toEqual({
      status: 200,
      body: { ok: true, replicas: 1 },
    });
  });
});

describe("admin API: GET cluster", () => {
  const nodesJson = [
    {
      node_id: "node-a",
      url: "http://10.0.0.1:8080",
      version: "1.2.3",
      heartbeat_age_ms: 120,
      replicas: [{ deployment: "tiny", running: 1, waiting: 0 }],
      in_flight: 1,
    },
    {
      node_id: "node-c",
      url: "http://10.0.0.3:8080",
      version: "1.2.3",
      heartbeat_age_ms: 40,
      replicas: [],
      in_flight: 0,
    },
  ];

  it("answers 404 outside a cluster", async () => {
    expect(await call("GET", "cluster")).toMatchObject({
      status: 404,
      body: { error: { code: "not_found" } },
    });
  });

  it("shows the nodes and the placement: plan, reports with reasons, lease holder", async () => {
    readPlacement = async () => placement;
    expect(await call("GET", "cluster", undefined, clusterRoutes)).toEqual({
      status: 200,
      body: {
        node: "node-c",
        store: "available",
        on_store_unavailable: "open",
        nodes: nodesJson,
        placement: {
          version: 4,
          lease_holder: "node-a",
          plan: [
            { deployment: "tiny", index: 0, node_id: "node-a" },
            { deployment: "tiny", index: 1, node_id: "node-b" },
          ],
          unplaced: [{ deployment: "tiny", index: 2, reason: "no live node has a free model slot" }],
          reports: [
            {
              deployment: "tiny",
              index: 0,
              node_id: "node-a",
              state: "ready",
              reported_at: 1_700_000_000_000,
            },
            {
              deployment: "tiny",
              index: 1,
              node_id: "node-b",
              state: "failed",
              reason: "model file not found: models/tiny.gguf",
              reported_at: 1_700_000_000_500,
            },
          ],
        },
      },
    });
  });

  it("shows no lease holder as null, and an empty plan before the first", async () => {
    readPlacement = async () => ({
      version: 0,
      leaseHolder: undefined,
      placements: [],
      unplaced: [],
      reports: [],
    });
    expect((await call("GET", "cluster", undefined, clusterRoutes))?.body).toMatchObject({
      placement: { version: 0, lease_holder: null, plan: [], unplaced: [], reports: [] },
    });
  });

  it("answers placement null with the reason when Redis cannot be read, the nodes still shown", async () => {
    readPlacement = async () => {
      throw new Error("Reached the max retries per request limit (which is 2)");
    };
    expect(await call("GET", "cluster", undefined, clusterRoutes)).toEqual({
      status: 200,
      body: {
        node: "node-c",
        store: "available",
        on_store_unavailable: "open",
        nodes: nodesJson,
        placement: null,
        placement_error: "Reached the max retries per request limit (which is 2)",
      },
    });
  });

  it("refuses other methods", async () => {
    expect(await call("POST", "cluster", {}, clusterRoutes)).toMatchObject({ status: 405 });
  });
});
