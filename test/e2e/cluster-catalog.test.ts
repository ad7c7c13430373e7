// One catalog (docs/cluster.md, "One catalog"): `rakka serve` processes on one real redis-server
// share their deployments. A POST on one node is served by the others within 2 s, a DELETE answers
// 404 everywhere within 2 s, `if_version` is a compare-and-set, Redis never holds an inline secret
// in plain text, and a node started with --config follows the startup rule. Bounded in time.
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisConnection } from "../../src/cluster/redis-connection.js";
import { type MockProvider, startMockProvider } from "../../src/testkit/mock-provider.js";
import { killAllNodes, type NodeProcess, nodeTables, startNode } from "../support/cluster-nodes.js";
import { type RedisServer, startRedisServer, uniqueKeyPrefix } from "../support/redis-server.js";

const ADMIN_KEY = "admin-key-catalog-e2e";
const INLINE_KEY = "sk-inline-catalog-e2e-0123456789";
const DEAD_URL = "http://127.0.0.1:9/v1";
let redis: RedisServer;
let client: Redis;
let upstream: MockProvider;
const nodes: NodeProcess[] = [];
const prefix = uniqueKeyPrefix("e2e-catalog");

function nodeConfig(id: string, deployments = ""): string {
  const tables = nodeTables({
    redisUrl: redis.url,
    nodeId: id,
    keyPrefix: prefix,
    adminKey: ADMIN_KEY,
    nodeKey: "node-key-catalog-e2e",
  });
  return `${tables}${deployments}`;
}

const table = (name: string, baseUrl: string, extra: Record<string, unknown> = {}) => ({
  name,
  model: `m-${name}`,
  runtime: "openai-compatible",
  runtime_config: { base_url: baseUrl, api_key: INLINE_KEY, retry: { max_retries: 0 } },
  ...extra,
});

async function admin(node: NodeProcess, method: string, path: string, body?: unknown) {
  const response = await fetch(`${node.url}/admin/v1/${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function chatStatus(node: NodeProcess, model: string): Promise<number> {
  const response = await fetch(`${node.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Milliseconds until `node` answers `status` for `model`; fails after `ms`. */
async function untilStatus(node: NodeProcess, model: string, status: number, ms = 2_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const got = await chatStatus(node, model);
    if (got === status) return Date.now() - started;
    if (Date.now() - started > ms)
      throw new Error(`${node.name}: ${model} answered ${got}, not ${status}, after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  redis = await startRedisServer();
  client = createRedisConnection(redis.url, { connectionName: "rakka-e2e-catalog" });
  upstream = await startMockProvider();
  nodes.push(...(await Promise.all(["node-a", "node-b"].map((id) => startNode(id, nodeConfig(id))))));
}, 30_000);

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.stop(5_000)));
  killAllNodes();
  await client?.quit().catch(() => client.disconnect());
  await upstream?.close();
  await redis?.stop();
}, 30_000);

describe("one catalog across rakka serve processes on one Redis", () => {
  it("a deployment POSTed on node A is served by node B within 2 s, with the inline key decrypted there", async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const applied = await admin(a, "POST", "deployments", table("shared", `${upstream.url}/v1`));
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({
      ok: true,
      version: 1,
      deployment: { name: "shared", state: "serving" },
    });
    expect(await untilStatus(b, "shared", 200)).toBeLessThan(2_000);
    const last = upstream.requests.at(-1);
    expect(last?.headers.authorization).toBe(`Bearer ${INLINE_KEY}`);
  });

  it("Redis holds the inline key only encrypted", async () => {
    const stored = await client.hget(`${prefix}deployment:shared`, "record");
    expect(stored).toBeTruthy();
    expect(stored).not.toContain(INLINE_KEY);
    const record = JSON.parse(stored as string) as {
      version: number;
      spec: { table: { runtime_config: { api_key: unknown } } };
    };
    expect(record.version).toBe(1);
    expect(record.spec.table.runtime_config.api_key).toEqual({ encrypted: expect.any(String) });
  });

  it("a stale if_version is refused with 409 naming the current version; the right one writes", async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const stale = await admin(b, "POST", "deployments", {
      ...table("shared", `${upstream.url}/v1`),
      if_version: 0,
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toEqual({
      error: { message: "catalog version is 1, not 0", type: "invalid_request_error", code: "conflict" },
      current_version: 1,
    });
    const updated = await admin(b, "POST", "deployments", {
      ...table("shared", `${upstream.url}/v1`, { serving: { max_concurrent: 4 } }),
      if_version: 1,
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ ok: true, version: 2 });
    expect(await untilStatus(a, "shared", 200)).toBeLessThan(2_000);
  });

  it("a deployment DELETEd on node B answers 404 on node A within 2 s", async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const removed = await admin(b, "DELETE", "deployments/shared");
    expect(removed.status).toBe(200);
    expect(await untilStatus(a, "shared", 404)).toBeLessThan(2_000);
    expect(await client.exists(`${prefix}deployment:shared`)).toBe(0);
  });

  it("a node started with --config adds the deployments the catalog lacks and serves the catalog's version of the others", async () => {
    const [a] = nodes as [NodeProcess];
    expect((await admin(a, "POST", "deployments", table("existing", `${upstream.url}/v1`))).status).toBe(200);
    // the file's "existing" points at a dead upstream: only the catalog's version answers 200
    const file = `
[[deployment]]
name = "existing"
model = "m-existing"
runtime = "openai-compatible"
[deployment.runtime_config]
base_url = "${DEAD_URL}"
api_key = "${INLINE_KEY}"
retry = { max_retries = 0 }

[[deployment]]
name = "fresh"
model = "m-fresh"
runtime = "openai-compatible"
[deployment.runtime_config]
base_url = "${upstream.url}/v1"
retry = { max_retries = 0 }
`;
    const c = await startNode("node-c", nodeConfig("node-c", file));
    nodes.push(c);
    await c.waitForLine(
      (line) =>
        line.includes("differs from the catalog") &&
        line.includes('"deployment":"existing"') &&
        line.includes("runtime_config.base_url"),
      5_000,
    );
    await c.waitForLine(
      (line) => line.includes("added to the catalog") && line.includes('"deployment":"fresh"'),
      5_000,
    );
    expect(c.lines.join("\n")).not.toContain(INLINE_KEY);
    expect(await untilStatus(c, "existing", 200, 5_000)).toBeLessThan(5_000);
    expect(await untilStatus(a, "fresh", 200)).toBeLessThan(2_000);
    const existing = JSON.parse((await client.hget(`${prefix}deployment:existing`, "record")) as string) as {
      version: number;
      spec: { table: { runtime_config: { base_url: string } } };
    };
    expect(existing.version).toBe(1);
    expect(existing.spec.table.runtime_config.base_url).toBe(`${upstream.url}/v1`);
  });
});
