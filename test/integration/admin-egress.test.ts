// The admin API's egress guard over real HTTP: a deployment applied through it whose URL names a
// link-local or metadata IP is refused at apply (400, by path) unless [server] admin_allowed_hosts
// lists it; one applied to an ordinary address serves and carries the guard to its engines;
// config-file deployments are never guarded. The connect-time check on the resolved address runs
// over real loopback sockets in src/remote/guarded-connector.test.ts (169.254.x cannot be bound here).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createInferenceSystem,
  type DeploymentSpec,
  defaultRuntimeRegistry,
  type InferenceSystem,
  type RuntimeRegistry,
  Secret,
} from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { complete, type MockProvider, startMockProvider } from "../../src/testkit/mock-provider.js";

const ADMIN_KEY = "admin-key-egress-0123456789";
const REFUSED =
  "is refused: link-local/metadata addresses are not allowed for deployments applied through the admin API (see [server] admin_allowed_hosts)";

let provider: MockProvider;
/** The egress guard each remote replica was started with, by deployment name ("none" when unguarded). */
const guards = new Map<string, DeploymentSpec["egressGuard"] | "none">();

/** The default registry, recording the deployment each remote engine replica is built from. */
function recordingRegistry(): RuntimeRegistry {
  const registry = defaultRuntimeRegistry();
  return new Map(
    [...registry].map(([kind, entry]) => [
      kind,
      {
        ...entry,
        engineProps: (deployment, replica, deps) => {
          if (entry.transport === "remote") guards.set(deployment.name, deployment.egressGuard ?? "none");
          return entry.engineProps(deployment, replica, deps);
        },
      },
    ]),
  );
}

async function start(allowedHosts: readonly string[]) {
  const system = await createInferenceSystem({
    registry: recordingRegistry(),
    server: {
      adminKey: Secret.inline(ADMIN_KEY),
      adminSecretSources: ["env:RAKKA_EGRESS_TEST_KEY"],
      adminAllowedHosts: allowedHosts,
    },
    deployments: [
      // the operator's own file may point anywhere, metadata addresses included
      {
        name: "operator-metadata",
        model: "m",
        runtime: "openai-compatible",
        runtime_config: { base_url: "http://169.254.169.254:1/v1", retry: { max_retries: 0 } },
      },
      {
        name: "operator-local",
        model: "m",
        runtime: "openai-compatible",
        runtime_config: { base_url: `${provider.url}/v1`, retry: { max_retries: 0 } },
      },
    ],
  });
  const gateway = await system.listen({ bind: "127.0.0.1:0" });
  return { system, gateway };
}

async function admin(gateway: ListeningGateway, method: string, path: string, body?: unknown) {
  const response = await fetch(`${gateway.url}/admin/v1/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const compatible = (name: string, baseUrl: string) => ({
  name,
  model: "m",
  runtime: "openai-compatible",
  runtime_config: { base_url: baseUrl, retry: { max_retries: 0 } },
});

let guarded: { system: InferenceSystem; gateway: ListeningGateway };

beforeAll(async () => {
  process.env.RAKKA_EGRESS_TEST_KEY = "sk-egress-test";
  provider = await startMockProvider();
  provider.setDefault(complete({ content: ["hel", "lo"] }));
  guarded = await start([]);
});

afterAll(async () => {
  await guarded.system.close({ drainTimeoutMs: 0 });
  await provider.close();
});

describe("admin API egress guard", () => {
  it("refuses a base_url whose host is a link-local or metadata IP with 400, by path", async () => {
    for (const [url, host] of [
      ["http://169.254.169.254:8080/v1", "169.254.169.254"],
      ["http://[::ffff:169.254.169.254]/v1", "::ffff:a9fe:a9fe"],
      ["http://[fe80::1]:8000/v1", "fe80::1"],
      ["http://[fd00:ec2::254]/v1", "fd00:ec2::254"],
      ["http://100.100.100.200/v1", "100.100.100.200"],
    ] as const) {
      const refused = await admin(guarded.gateway, "POST", "deployments", compatible("sneaky", url));
      expect(refused.status, url).toBe(400);
      expect(refused.body.error).toEqual({
        message: "invalid deployment",
        type: "invalid_request_error",
        code: "invalid_deployment",
      });
      expect(refused.body.problems).toEqual([
        { path: "runtime_config.base_url", message: `host ${host} ${REFUSED}` },
      ]);
    }
    expect((await admin(guarded.gateway, "GET", "deployments")).body.deployments).not.toContainEqual(
      expect.objectContaining({ name: "sneaky" }),
    );
  });

  it("lists a blocked Azure endpoint beside the table's other problems", async () => {
    const refused = await admin(guarded.gateway, "POST", "deployments", {
      name: "sneaky-azure",
      model: "gpt-4o",
      runtime: "openai",
      runtime_config: {
        variant: "azure",
        api_key: { from_env: "RAKKA_EGRESS_TEST_KEY" },
        endpoint: "http://169.254.169.254",
      },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.problems).toEqual(
      expect.arrayContaining([
        { path: "runtime_config.api_version", message: "azure needs api_version" },
        { path: "runtime_config.endpoint", message: `host 169.254.169.254 ${REFUSED}` },
      ]),
    );
  });

  it("serves a deployment applied to an ordinary address, with the guard on its engines", async () => {
    const applied = await admin(
      guarded.gateway,
      "POST",
      "deployments",
      compatible("via-admin", `${provider.url}/v1`),
    );
    expect(applied).toMatchObject({ status: 200, body: { ok: true, deployment: { state: "serving" } } });
    expect(guards.get("via-admin")).toEqual({ allowedHosts: [] });
    const response = await fetch(`${guarded.gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "via-admin", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(response.status).toBe(200);
    expect(
      ((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe("hello");
    expect((await admin(guarded.gateway, "DELETE", "deployments/via-admin")).status).toBe(200);
  });

  it("never guards a config-file deployment", () => {
    expect(guards.get("operator-metadata")).toBe("none");
    expect(guards.get("operator-local")).toBe("none");
  });

  it("accepts a metadata address that [server] admin_allowed_hosts lists, and carries the list", async () => {
    const allowing = await start(["169.254.169.254", "fe80::/10"]);
    try {
      const applied = await admin(
        allowing.gateway,
        "POST",
        "deployments",
        compatible("allowed-metadata", "http://169.254.169.254:1/v1"),
      );
      expect(applied).toMatchObject({ status: 200, body: { ok: true } });
      expect(guards.get("allowed-metadata")).toEqual({ allowedHosts: ["169.254.169.254", "fe80::/10"] });
      // the list's exceptions only: the rest of 169.254.0.0/16 stays refused
      const refused = await admin(
        allowing.gateway,
        "POST",
        "deployments",
        compatible("other-link-local", "http://169.254.170.2/v1"),
      );
      expect(refused.status).toBe(400);
      expect(refused.body.problems).toEqual([
        { path: "runtime_config.base_url", message: `host 169.254.170.2 ${REFUSED}` },
      ]);
      expect((await admin(allowing.gateway, "DELETE", "deployments/allowed-metadata")).status).toBe(200);
    } finally {
      await allowing.system.close({ drainTimeoutMs: 0 });
    }
  });
});
