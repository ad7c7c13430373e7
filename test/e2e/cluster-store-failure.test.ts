// Two `rakka serve` nodes lose their redis-server and get it back (docs/cluster.md, "When Redis is
// unavailable"): node 1 (on_store_unavailable = "open") keeps serving within its share of the
// budget and buffers its spend; node 2 ("closed") answers 503 `unavailable`. After the restart both
// re-register, and node 1's buffered spend is in Redis, within 5 s. Bounded in time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MockProvider, startMockProvider } from "../../src/testkit/mock-provider.js";
import {
  chatOutcome,
  killAllNodes,
  type NodeProcess,
  nodeTables,
  startNode,
} from "../support/cluster-nodes.js";
import { type RedisServer, startRedisServer, uniqueKeyPrefix } from "../support/redis-server.js";

const ADMIN_KEY = "admin-key-e2e";
let redis: RedisServer;
let upstream: MockProvider;
let nodes: NodeProcess[] = [];
const prefix = uniqueKeyPrefix("e2e-store-failure");

function nodeConfig(index: number, mode: "open" | "closed"): string {
  const tables = nodeTables({
    redisUrl: redis.url,
    nodeId: `node-${index}`,
    keyPrefix: prefix,
    adminKey: ADMIN_KEY,
    nodeKey: "node-key-e2e",
    cluster: `on_store_unavailable = "${mode}"`,
  });
  return `${tables}
[[deployment]]
name = "budgeted"
model = "m-budgeted"
runtime = "openai-compatible"
budget = { max_spend_per_hour_usd = 15 }
pricing = { input_per_million_usd = 0, output_per_million_usd = 1500000 }
[deployment.runtime_config]
base_url = "${upstream.url}/v1"
retry = { max_retries = 0 }
`;
}

const admin = (node: NodeProcess, path: string) =>
  fetch(`${node.url}/admin/v1/${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });

/** One $3 chat request (the upstream answers "Hello world", 2 tokens). */
const chat = (node: NodeProcess) => chatOutcome(node.url, "budgeted");

interface Ready {
  ready: boolean;
  cluster?: { store: string; nodes: string[] };
}

async function readyz(node: NodeProcess): Promise<{ status: number; body: Ready }> {
  const response = await fetch(`${node.url}/readyz`);
  return { status: response.status, body: (await response.json()) as Ready };
}

async function hourSpend(node: NodeProcess): Promise<number | undefined> {
  const spend = (await (await admin(node, "spend")).json()) as {
    spend: Array<{ deployment: string; hour_usd: number }>;
  };
  return spend.spend.find((row) => row.deployment === "budgeted")?.hour_usd;
}

/** Polls `probe` until it returns true; fails after `ms`. */
async function eventually(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const storeGauge = async (node: NodeProcess): Promise<string | undefined> =>
  /^rakka_store_available (\S+)$/m.exec(await (await fetch(`${node.url}/metrics`)).text())?.[1];

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startMockProvider();
  nodes = await Promise.all([
    startNode("node-1", nodeConfig(1, "open")),
    startNode("node-2", nodeConfig(2, "closed")),
  ]);
  await Promise.all(
    nodes.map((node) =>
      node.waitForLine((line) => line.includes('"msg":"deployment serving"') && line.includes('"budgeted"')),
    ),
  );
  for (const node of nodes)
    await eventually(async () => (await readyz(node)).body.cluster?.nodes.length === 2, 5_000, "two nodes");
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.stop(5_000)));
  killAllNodes();
  await upstream?.close();
  await redis?.stop();
}, 30_000);

describe.skipIf(Boolean(process.env.REDIS_URL))("a cluster whose Redis goes away and comes back", () => {
  it("open serves its share, closed answers 503, and shared state resumes within 5 s of the restart", async () => {
    const [open, closed] = nodes as [NodeProcess, NodeProcess];
    expect(await chat(open)).toEqual({ status: 200 });
    await eventually(async () => (await hourSpend(closed)) === 3, 5_000, "$3 spent in Redis");

    await redis.kill();
    await eventually(async () => (await readyz(open)).body.cluster?.store === "unavailable", 5_000, "lost");
    expect(await storeGauge(open)).toBe("0");
    // open: node 1 enforces (15 − 3 last known) ÷ 2 live nodes = $6, two more $3 requests
    expect(await chat(open)).toEqual({ status: 200 });
    expect(await chat(open)).toEqual({ status: 200 });
    expect(await chat(open)).toMatchObject({ status: 429, code: "budget_exceeded" });
    expect((await readyz(open)).status).toBe(200);
    // closed: refused, and not ready
    const refused = await chat(closed);
    expect(refused).toMatchObject({ status: 503, code: "unavailable" });
    expect(refused.message).toContain("cluster store unavailable");
    await eventually(async () => (await readyz(closed)).status === 503, 2_000, "closed node not ready");
    expect((await readyz(closed)).body.cluster?.store).toBe("unavailable");

    await redis.restart();
    const restarted = Date.now();
    for (const node of nodes)
      await eventually(
        async () => {
          const { body } = await readyz(node);
          return body.cluster?.store === "available" && body.cluster.nodes.length === 2;
        },
        5_000,
        `${node.name} re-registered`,
      );
    // the restarted server starts empty: what it holds is node 1's $6 from the outage, written back
    await eventually(async () => (await hourSpend(closed)) === 6, 5_000, "buffered spend in Redis");
    expect(Date.now() - restarted).toBeLessThan(5_000);
    expect(await storeGauge(open)).toBe("1");
    expect(await chat(closed)).toEqual({ status: 200 });
    // the empty server lost the catalog too: a node wrote it back, and both serve on
    await eventually(
      async () =>
        nodes.some((node) => node.lines.some((line) => line.includes("written back from this node's copy"))),
      3_000,
      "a node wrote the catalog back",
    );
    for (const node of nodes) expect(await chat(node)).toEqual({ status: 200 });
    // logged once per change of state
    const logged = (text: string) => open.lines.filter((line) => line.includes(text)).length;
    expect(logged("cluster store unavailable: Redis cannot be reached")).toBe(1);
    expect(logged("cluster store available again")).toBe(1);
  }, 40_000);
});
