// The admin API and the CLI built on it, over real HTTP: authentication, listing with live
// numbers, apply / remove, forced circuits, session rebuilds, spend, restricted secret sources,
// and no secret in any response.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { createInferenceSystem, type InferenceSystem, Secret } from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { complete, type MockProvider, startMockProvider } from "../../src/testkit/mock-provider.js";

const ADMIN_KEY = "admin-key-0123456789";
const PROVIDER_KEY = "sk-provider-secret-abcdef";
const FORBIDDEN_VALUE = "forbidden-env-value-xyz";

let system: InferenceSystem;
let gateway: ListeningGateway;
let provider: MockProvider;
const responses: string[] = [];

async function admin(method: string, path: string, body?: unknown, key: string | null = ADMIN_KEY) {
  const response = await fetch(`${gateway.url}/admin/v1/${path}`, {
    method,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  responses.push(text);
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
}

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  process.env.RAKKA_ADMIN_KEY = ADMIN_KEY;
  const code = await main(args, { out: (line) => out.push(line), err: (line) => err.push(line) });
  responses.push(out.join("\n"), err.join("\n"));
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const chat = (model: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi there" }] }),
  });

beforeAll(async () => {
  process.env.RAKKA_TEST_PROVIDER_KEY = PROVIDER_KEY;
  process.env.RAKKA_TEST_FORBIDDEN = FORBIDDEN_VALUE;
  provider = await startMockProvider();
  provider.setDefault(complete({ usage: { prompt_tokens: 1000, completion_tokens: 1000 } }));
  system = await createInferenceSystem({
    server: { adminKey: Secret.inline(ADMIN_KEY), adminSecretSources: ["env:RAKKA_TEST_PROVIDER_KEY"] },
    deployments: [
      { name: "echo", model: "m", runtime: "mock" },
      {
        name: "gpt",
        model: "gpt-4o",
        runtime_config: {
          api_key: { from_env: "RAKKA_TEST_PROVIDER_KEY" },
          base_url: `${provider.url}/v1`,
          retry: { max_retries: 0 },
          rate_limits: { requests_per_minute: 100 },
        },
      },
    ],
  });
  gateway = await system.listen({ bind: "127.0.0.1:0" });
});

afterAll(async () => {
  await system.close({ drainTimeoutMs: 0 });
  await provider.close();
});

describe("admin API", () => {
  it("refuses a missing or wrong admin key with 401", async () => {
    expect((await admin("GET", "deployments", undefined, null)).status).toBe(401);
    expect((await admin("GET", "deployments", undefined, "wrong")).status).toBe(401);
    // the client API keys are not admin keys either
    expect((await admin("GET", "deployments", undefined, PROVIDER_KEY)).status).toBe(401);
  });

  it("lists deployments with state, replicas, load, circuit state, rate-limit utilisation and spend", async () => {
    const gptOf = (body: Record<string, unknown>) =>
      (body.deployments as Array<Record<string, unknown>>).find((d) => d.name === "gpt");
    const hourUsd = (body: Record<string, unknown>) =>
      (gptOf(body)?.spend as { hour_usd: number } | undefined)?.hour_usd ?? Number.NaN;
    // the spend before this test's request: other tests in this file may have spent too
    const spentBefore = hourUsd((await admin("GET", "deployments")).body);
    expect((await chat("gpt")).status).toBe(200);
    const { status, body } = await admin("GET", "deployments");
    expect(status).toBe(200);
    const gpt = gptOf(body);
    expect(gpt).toMatchObject({
      state: "serving",
      replicas: 1,
      ready_replicas: 1,
      running: 0,
      waiting: 0,
      circuits: [{ state: "closed" }],
      spend: { hour_usd: expect.any(Number), day_usd: expect.any(Number) },
    });
    expect(gpt?.rate_limit_utilization).toBeGreaterThan(0);
    // snake_case throughout, like the config file, the POST bodies and /admin/v1/spend
    for (const deployment of body.deployments as Array<Record<string, unknown>>) {
      expect(JSON.stringify(deployment)).not.toMatch(/"[a-z]+[A-Z]\w*":/);
    }
    expect(hourUsd(body) - spentBefore).toBeCloseTo((1000 * 2.5 + 1000 * 10) / 1e6, 10);
  });

  it("applies a deployment (validated like the config file) and removes one", async () => {
    const invalid = await admin("POST", "deployments", {
      name: "bad",
      model: "m",
      runtime: "mock",
      replica: 2,
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toEqual({
      message: "invalid deployment",
      type: "invalid_request_error",
      code: "invalid_deployment",
    });
    expect(invalid.body.problems).toEqual([{ path: "replica", message: "unknown key" }]);

    const applied = await admin("POST", "deployments", {
      name: "extra",
      model: "m",
      runtime: "mock",
      replicas: 2,
    });
    expect(applied).toMatchObject({
      status: 200,
      body: { ok: true, deployment: { name: "extra", state: "serving", replicas: 2, ready_replicas: 2 } },
    });
    expect((await chat("extra")).status).toBe(200);

    const removed = await admin("DELETE", "deployments/extra");
    expect(removed).toMatchObject({ status: 200, body: { ok: true } });
    expect((await chat("extra")).status).toBe(404);
    expect(await admin("DELETE", "deployments/extra")).toEqual({
      status: 404,
      body: {
        error: { message: "deployment extra does not exist", type: "not_found_error", code: "not_found" },
      },
    });
  });

  it("takes secrets only from [server] admin_secret_sources", async () => {
    const forbidden = await admin("POST", "deployments", {
      name: "sneaky",
      model: "gpt-4o",
      runtime_config: { api_key: { from_env: "RAKKA_TEST_FORBIDDEN" }, base_url: `${provider.url}/v1` },
    });
    expect(forbidden.status).toBe(400);
    expect(forbidden.body.problems).toEqual([
      {
        path: "runtime_config.api_key",
        message: "secret source env:RAKKA_TEST_FORBIDDEN is not in [server] admin_secret_sources",
      },
    ]);
    const file = await admin("POST", "deployments", {
      name: "sneaky",
      model: "gpt-4o",
      runtime_config: { api_key: { from_file: "/etc/passwd" }, base_url: `${provider.url}/v1` },
    });
    expect(file.status).toBe(400);
    const allowed = await admin("POST", "deployments", {
      name: "allowed",
      model: "gpt-4o",
      runtime_config: { api_key: { from_env: "RAKKA_TEST_PROVIDER_KEY" }, base_url: `${provider.url}/v1` },
    });
    expect(allowed.status).toBe(200);
    await admin("DELETE", "deployments/allowed");
  });

  it("forces a circuit open (held until auto) and closed", async () => {
    const before = provider.arrivals;
    expect(await admin("POST", "deployments/gpt/circuit", { state: "open" })).toMatchObject({
      status: 200,
      body: { ok: true },
    });
    const open = await chat("gpt");
    expect(open.status).toBe(503);
    expect(((await open.json()) as { error: { code: string } }).error.code).toBe("circuit_open");
    expect(provider.arrivals).toBe(before);
    expect(await admin("POST", "deployments/gpt/circuit", { state: "auto" })).toMatchObject({ status: 200 });
    expect((await chat("gpt")).status).toBe(200);
    expect(await admin("POST", "deployments/gpt/circuit", { state: "sideways" })).toMatchObject({
      status: 400,
      body: { error: { type: "invalid_request_error", code: "bad_request" } },
    });
    const local = await admin("POST", "deployments/echo/circuit", { state: "open" });
    expect(local).toEqual({
      status: 400,
      body: {
        error: {
          message: "deployment echo runs locally: it has no upstream circuit or session",
          type: "invalid_request_error",
          code: "bad_request",
        },
      },
    });
  });

  it("rebuilds a deployment's session", async () => {
    expect(await admin("POST", "deployments/gpt/session/rebuild")).toMatchObject({
      status: 200,
      body: { ok: true, replicas: 1 },
    });
    expect((await chat("gpt")).status).toBe(200);
    expect(await admin("POST", "deployments/nope/session/rebuild")).toEqual({
      status: 404,
      body: {
        error: { message: "deployment nope does not exist", type: "not_found_error", code: "not_found" },
      },
    });
  });

  it("answers unknown paths with 404 and wrong methods with 405", async () => {
    expect(await admin("GET", "nothing")).toMatchObject({
      status: 404,
      body: { error: { type: "not_found_error", code: "not_found" } },
    });
    expect(await admin("PUT", "deployments")).toMatchObject({
      status: 405,
      body: { error: { type: "invalid_request_error", code: "bad_request" } },
    });
  });
});

describe("rakka deployments and cost-report", () => {
  it("lists, applies a TOML file and removes through the admin API", async () => {
    const list = await cli(["deployments", "list", "--url", gateway.url]);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/NAME\s+STATE\s+RUNTIME/);
    expect(list.out).toMatch(/gpt\s+serving\s+openai\s+1\/1/);

    const dir = await mkdtemp(join(tmpdir(), "rakka-admin-"));
    const file = join(dir, "more.toml");
    await writeFile(file, '[[deployment]]\nname = "from-cli"\nmodel = "m"\nruntime = "mock"\n');
    const applied = await cli(["deployments", "apply", file, "--url", gateway.url]);
    expect(applied).toMatchObject({ code: 0, out: "applied from-cli: serving" });
    expect((await chat("from-cli")).status).toBe(200);
    expect(await cli(["deployments", "remove", "from-cli", "--url", gateway.url])).toMatchObject({ code: 0 });
  });

  it("cost-report prints spend per deployment for the hour and the day", async () => {
    expect((await chat("gpt")).status).toBe(200); // some spend to report, whatever ran before
    const report = await cli(["cost-report", "--url", gateway.url]);
    expect(report.code).toBe(0);
    expect(report.out).toMatch(/DEPLOYMENT\s+THIS HOUR \(UTC\)\s+TODAY \(UTC\)/);
    expect(report.out).toMatch(/gpt\s+\$0\.\d{6}\s+\$0\.\d{6}/);
  });

  it("refuses to run without RAKKA_ADMIN_KEY", async () => {
    delete process.env.RAKKA_ADMIN_KEY;
    const out: string[] = [];
    const code = await main(["cost-report", "--url", gateway.url], {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
    });
    expect(code).toBe(2);
  });
});

describe("secrets", () => {
  it("no admin response or CLI output ever contains a configured secret value", async () => {
    // every response of this file is checked; these make sure there is plenty even when this test runs first
    await admin("POST", "deployments", {
      name: "sneaky",
      model: "gpt-4o",
      runtime_config: { api_key: { from_env: "RAKKA_TEST_FORBIDDEN" }, base_url: `${provider.url}/v1` },
    });
    await admin("GET", "deployments");
    await cli(["deployments", "list", "--url", gateway.url]);
    await cli(["cost-report", "--url", gateway.url]);
    const all = responses.join("\n");
    expect(all.length).toBeGreaterThan(500); // this test's own calls alone give about 1000 characters
    for (const secret of [ADMIN_KEY, PROVIDER_KEY, FORBIDDEN_VALUE]) expect(all).not.toContain(secret);
  });
});

describe("admin API off", () => {
  it("answers 404 under /admin/v1/ when no admin_key is set", async () => {
    const other = await createInferenceSystem({
      deployments: [{ name: "echo", model: "m", runtime: "mock" }],
    });
    const listening = await other.listen({ bind: "127.0.0.1:0" });
    const response = await fetch(`${listening.url}/admin/v1/deployments`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(response.status).toBe(404);
    await other.close({ drainTimeoutMs: 0 });
  });
});
