// Three `rakka serve` processes on one real redis-server act as one gateway: membership, exact
// rate limits, exact budgets and shared circuits across nodes, driven over real HTTP on loopback
// with the official openai client (retries off). Bounded in time; every node is killed by group.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  complete,
  type MockProvider,
  serverError,
  startMockProvider,
} from "../../src/testkit/mock-provider.js";
import {
  chatOutcome,
  killAllNodes,
  type NodeProcess,
  nodeTables,
  startNode,
} from "../support/cluster-nodes.js";
import { type RedisServer, startRedisServer, uniqueKeyPrefix } from "../support/redis-server.js";

const run = promisify(execFile);
const ADMIN_KEY = "admin-key-e2e";
let redis: RedisServer;
let upstream: MockProvider;
let flaky: MockProvider;
let nodes: NodeProcess[] = [];
const prefix = uniqueKeyPrefix("e2e-cluster");

function nodeConfig(index: number): string {
  const tables = nodeTables({
    redisUrl: redis.url,
    nodeId: `node-${index}`,
    keyPrefix: prefix,
    adminKey: ADMIN_KEY,
    nodeKey: "node-key-e2e",
  });
  return `${tables}
[[deployment]]
name = "limited"
model = "m-limited"
runtime = "openai-compatible"
serving = { on_capacity_exhausted = "reject" }
[deployment.runtime_config]
base_url = "${upstream.url}/v1"
retry = { max_retries = 0 }
rate_limits = { requests_per_minute = 30 }

[[deployment]]
name = "token-limited"
model = "m-token-limited"
runtime = "openai-compatible"
serving = { on_capacity_exhausted = "reject" }
[deployment.runtime_config]
base_url = "${upstream.url}/v1"
retry = { max_retries = 0 }
rate_limits = { tokens_per_minute = 90 }

[[deployment]]
name = "budgeted"
model = "m-budgeted"
runtime = "openai-compatible"
budget = { max_spend_per_hour_usd = 15 }
pricing = { input_per_million_usd = 0, output_per_million_usd = 1500000 }
[deployment.runtime_config]
base_url = "${upstream.url}/v1"
retry = { max_retries = 0 }

[[deployment]]
name = "plain"
model = "m-plain"
runtime = "openai-compatible"
budget = { max_spend_per_hour_usd = 1000000 }
pricing = { input_per_million_usd = 1, output_per_million_usd = 1 }
[deployment.runtime_config]
base_url = "${upstream.url}/v1"
rate_limits = { requests_per_minute = 1000000 }

[[deployment]]
name = "flaky"
model = "m-flaky"
runtime = "openai-compatible"
[deployment.runtime_config]
base_url = "${flaky.url}/v1"
retry = { max_retries = 0 }
circuit_breaker = { failure_threshold = 2, open_duration_ms = 60000 }
`;
}

const clients = () => nodes;

const admin = (node: NodeProcess, path: string) =>
  fetch(`${node.url}/admin/v1/${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });

/** One chat request to a node (the upstream answers "Hello world", 2 tokens). */
const chat = (node: NodeProcess, model: string) => chatOutcome(node.url, model);

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startMockProvider();
  flaky = await startMockProvider();
  nodes = await Promise.all([1, 2, 3].map((index) => startNode(`node-${index}`, nodeConfig(index))));
  const serving = (line: string) => line.includes('"msg":"deployment serving"');
  await Promise.all(
    nodes.map(async (node) => {
      for (const name of ["limited", "token-limited", "budgeted", "plain", "flaky"])
        await node.waitForLine((line) => serving(line) && line.includes(`"deployment":"${name}"`));
    }),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.stop(5_000)));
  killAllNodes();
  await upstream?.close();
  await flaky?.close();
  await redis?.stop();
}, 30_000);

describe("a cluster of three rakka serve processes on one Redis", () => {
  it("every node sees every node: /readyz's cluster section and GET /admin/v1/cluster", async () => {
    const deadline = Date.now() + 5_000;
    for (const node of nodes) {
      for (;;) {
        const ready = (await (await fetch(`${node.url}/readyz`)).json()) as {
          cluster?: { node: string; store: string; nodes: string[] };
        };
        if (ready.cluster?.nodes.length === 3 || Date.now() > deadline) {
          expect(ready.cluster).toEqual({
            node: `node-${nodes.indexOf(node) + 1}`,
            store: "available",
            nodes: ["node-1", "node-2", "node-3"],
          });
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const view = (await (await admin(nodes[0] as NodeProcess, "cluster")).json()) as {
      nodes: Array<{ node_id: string; url: string; heartbeat_age_ms: number }>;
    };
    expect(view.nodes.map((node) => node.url)).toEqual(nodes.map((node) => node.url));
    for (const node of view.nodes) expect(node.heartbeat_age_ms).toBeLessThan(1_000);
    // the CLI prints one row per node, this one marked
    const { stdout } = await run(
      process.execPath,
      ["bin/rakka.js", "cluster", "status", "--url", nodes[1]?.url ?? ""],
      {
        env: { ...process.env, RAKKA_ADMIN_KEY: ADMIN_KEY },
        timeout: 10_000,
      },
    );
    // the node table, then the replica table: no llama deployment here, so nothing is placed
    const [nodeTable = "", replicaTable = ""] = stdout.trim().split("\n\n");
    const rows = nodeTable.split("\n");
    expect(replicaTable).toMatch(/^no placed replicas\nplacement lease: node-[123] \(plan version \d+\)$/);
    expect(rows[0]).toMatch(/^NODE\s+URL\s+HEARTBEAT AGE\s+REPLICAS\s+IN FLIGHT\s+STORE$/);
    expect(rows.slice(1).map((row) => row.split(/\s+/)[0])).toEqual(["node-1", "node-2", "node-3"]);
    expect(rows[2]).toMatch(
      /^node-2 \(this\)\s+http:\/\/127\.0\.0\.1:\d+\s+\d+\.\d s\s+limited, token-limited, budgeted, plain, flaky\s+\d+\s+available$/,
    );
  });

  it("requests_per_minute = 30 holds across the three nodes: the rest get 429 rate_limited", async () => {
    const all = clients();
    const before = upstream.requests.filter(
      (request) => (request.body as { model?: string }).model === "m-limited",
    ).length;
    const started = Date.now();
    const results: Array<{ status: number; code?: string; retryAfter?: string }> = [];
    for (let i = 0; i < 90; i++) results.push(await chat(all[i % 3] as NodeProcess, "limited"));
    const elapsedSeconds = (Date.now() - started) / 1000;
    const arrived =
      upstream.requests.filter((request) => (request.body as { model?: string }).model === "m-limited")
        .length - before;
    const ok = results.filter((result) => result.status === 200).length;
    expect(arrived).toBe(ok);
    expect(arrived).toBeGreaterThanOrEqual(30);
    expect(arrived).toBeLessThanOrEqual(30 + elapsedSeconds * 0.5 + 1);
    const refused = results.filter((result) => result.status !== 200);
    expect(refused.length).toBe(90 - ok);
    for (const result of refused) {
      expect(result).toMatchObject({ status: 429, code: "rate_limited" });
      expect(Number(result.retryAfter)).toBeGreaterThanOrEqual(1);
    }
  });

  it("tokens_per_minute = 90 at 3 tokens a request holds across the three nodes the same way", async () => {
    // each request reserves ceil(2 / 4) + max_tokens 2 = 3 tokens and uses 1 + 2 = 3 (the settlement
    // changes nothing), so the bucket admits 30 plus its refill of 1.5 tokens (0.5 requests) a second
    const upstreamCount = () =>
      upstream.requests.filter((request) => (request.body as { model?: string }).model === "m-token-limited")
        .length;
    const before = upstreamCount();
    const started = Date.now();
    const results: Array<{ status: number; code?: string; retryAfter?: string }> = [];
    for (let i = 0; i < 90; i++) results.push(await chat(nodes[i % 3] as NodeProcess, "token-limited"));
    const elapsedSeconds = (Date.now() - started) / 1000;
    const arrived = upstreamCount() - before;
    expect(arrived).toBe(results.filter((result) => result.status === 200).length);
    expect(arrived).toBeGreaterThanOrEqual(30);
    expect(arrived).toBeLessThanOrEqual(30 + elapsedSeconds * 0.5 + 1);
    for (const result of results.filter((r) => r.status !== 200)) {
      expect(result).toMatchObject({ status: 429, code: "rate_limited" });
      expect(Number(result.retryAfter)).toBeGreaterThanOrEqual(1);
    }
  });

  it("max_spend_per_hour_usd = 15 at $3 a request admits exactly 5 of 15 spread over the nodes", async () => {
    const all = clients();
    const results = await Promise.all(
      Array.from({ length: 15 }, (_, i) => chat(all[i % 3] as NodeProcess, "budgeted")),
    );
    expect(results.filter((result) => result.status === 200)).toHaveLength(5);
    const refused = results.filter((result) => result.status !== 200);
    expect(refused).toHaveLength(10);
    for (const result of refused) expect(result).toMatchObject({ status: 429, code: "budget_exceeded" });
    // any node reports the cluster's spend
    const spend = (await (await admin(nodes[2] as NodeProcess, "spend")).json()) as {
      spend: Array<{ deployment: string; hour_usd: number }>;
    };
    expect(spend.spend.find((row) => row.deployment === "budgeted")?.hour_usd).toBeCloseTo(15, 9);
  });

  it("a circuit opened by failures on node 1 fails fast on nodes 2 and 3 without an upstream call", async () => {
    flaky.setDefault(serverError());
    const [first, second, third] = clients() as [NodeProcess, NodeProcess, NodeProcess];
    expect((await chat(first, "flaky")).status).toBe(502);
    expect((await chat(first, "flaky")).status).toBe(502);
    expect(flaky.requests).toHaveLength(2);
    expect(await chat(second, "flaky")).toMatchObject({ status: 503, code: "circuit_open" });
    expect(await chat(third, "flaky")).toMatchObject({ status: 503, code: "circuit_open" });
    expect(flaky.requests).toHaveLength(2);
  });

  it("a circuit state forced through the admin API on one node holds on all", async () => {
    const force = (node: NodeProcess, state: string) =>
      fetch(`${node.url}/admin/v1/deployments/flaky/circuit`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ state }),
      });
    const [first, , third] = clients() as [NodeProcess, NodeProcess, NodeProcess];
    expect((await force(nodes[1] as NodeProcess, "closed")).status).toBe(200);
    // forced closed on node 2: node 1 calls the (still failing) upstream despite the open circuit
    expect((await chat(first, "flaky")).status).toBe(502);
    expect(flaky.requests).toHaveLength(3);
    expect((await force(nodes[0] as NodeProcess, "open")).status).toBe(200);
    flaky.setDefault(complete());
    expect(await chat(third, "flaky")).toMatchObject({ status: 503, code: "circuit_open" });
    expect(flaky.requests).toHaveLength(3);
  });

  it("a remote request's Redis round trips: one budget reservation, one permit, one circuit check, one settlement; none per token", async () => {
    const node = nodes[0] as NodeProcess;
    const counts = async (): Promise<Map<string, number>> => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const found = new Map<string, number>();
      for (const match of text.matchAll(/^rakka_store_latency_seconds_count\{op="([a-z_.]+)"\} (\d+)$/gm))
        found.set(match[1] ?? "", Number(match[2]));
      return found;
    };
    const client = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const before = await counts();
    for (let i = 0; i < 10; i++) {
      const stream = await client.chat.completions.create({
        model: "plain",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 2,
        stream: true,
      });
      let events = 0;
      for await (const _chunk of stream) events++;
      expect(events).toBeGreaterThan(1);
    }
    // settlements are sent when a request ends: wait (bounded) for the last one to land
    let after = await counts();
    const delta = (op: string) => (after.get(op) ?? 0) - (before.get(op) ?? 0);
    for (const until = Date.now() + 2_000; delta("spend.settle") < 10 && Date.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await counts();
    }
    expect(delta("spend.reserve_within")).toBe(10);
    expect(delta("rate_limit.try_acquire_all")).toBe(10);
    expect(delta("circuit.update")).toBe(10);
    expect(delta("spend.settle")).toBe(10);
    // nothing else: no call per token, and a healthy endpoint's results write no circuit
    expect([...after.keys()].reduce((sum, op) => sum + delta(op), 0)).toBe(40);
  });

  it("a node that dies leaves the others' view within node_timeout_ms + a heartbeat", async () => {
    const dead = nodes[2] as NodeProcess;
    dead.kill();
    const deadline = Date.now() + 5_000;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      const ready = (await (await fetch(`${(nodes[0] as NodeProcess).url}/readyz`)).json()) as {
        cluster: { nodes: string[] };
      };
      seen = ready.cluster.nodes;
      if (seen.length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(seen).toEqual(["node-1", "node-2"]);
  });
});
