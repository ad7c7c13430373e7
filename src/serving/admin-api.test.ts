// The admin routes' response shapes with a stubbed service: snake_case keys throughout, and every
// refusal in the OpenAI-style error shape with a stable code (409 conflict, 422 deployment_failed).
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { toHttpError } from "../core/http-error.js";
import { Secret } from "../core/secret.js";
import { type AdminResponder, createAdminRoutes } from "./admin-api.js";
import type { AdminService } from "./admin-service.js";
import type { DeploymentStatus } from "./service-types.js";

const status: DeploymentStatus = {
  name: "gpt",
  state: "serving",
  replicas: 2,
  readyReplicas: 1,
  runtime: "openai",
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

async function call(method: string, path: string, body?: unknown) {
  let answer: { status: number; body: unknown } | undefined;
  const io: AdminResponder = {
    sendJson: (_response, status, body) => {
      answer = { status, body: JSON.parse(JSON.stringify(body)) };
    },
    sendError: (_response, error, override) => {
      const http = toHttpError(error, 0);
      answer = { status: override?.status ?? http.status, body: http.body };
    },
    readJson: async () => ({ value: body }),
  };
  const request = { method, headers: { authorization: "Bearer admin-key" }, resume: () => {} };
  await routes(request as unknown as IncomingMessage, {} as ServerResponse, `/admin/v1/${path}`, io);
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
