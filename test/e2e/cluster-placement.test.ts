// Local model replicas placed across `rakka serve` processes on one real redis-server (docs/cluster.md,
// "Placement"): a llama deployment with replicas = 2 on three nodes with model_slots = 1 loads on
// two different nodes, not the third; every node serves it (the third by forwarding, with
// `x-rakka-node` naming the node whose engine ran it; its /readyz lists the two serving nodes, and
// `GET /admin/v1/cluster` the plan with their ready reports); when a node holding a replica is
// killed, the lease holder places that replica on the node that had none and the deployment serves
// on. Real llama.cpp on a generated model; the official openai SDK, retries off. Bounded in time.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisConnection } from "../../src/cluster/redis-connection.js";
import { detectGpus } from "../../src/runtimes/llama/gpu-detection.js";
import { makeModel } from "../../src/runtimes/llama/make-model.js";
import {
  eventually,
  killAllNodes,
  type NodeProcess,
  nodesWithReadyReplica,
  nodeTables,
  startNode,
} from "../support/cluster-nodes.js";
import { type RedisServer, startRedisServer, uniqueKeyPrefix } from "../support/redis-server.js";

let redis: RedisServer;
let dir: string;
let modelPath: string;
const nodes = new Map<string, NodeProcess>();
const prefix = uniqueKeyPrefix("e2e-placement");

function nodeConfig(nodeId: string): string {
  const tables = nodeTables({
    redisUrl: redis.url,
    nodeId,
    keyPrefix: prefix,
    adminKey: "admin-key-placement",
    nodeKey: "node-key-placement",
    cluster: "model_slots = 1",
    // a loaded machine can delay a heartbeat past 1 s: no node may look dead unless it is
    nodeTimeoutMs: 3_000,
  });
  return `${tables}
[[deployment]]
name = "tiny"
model = "${modelPath}"
runtime = "llama"
replicas = 2
[deployment.serving]
max_concurrent = 2
`;
}

/** The node ids that `node`'s /readyz lists as serving "tiny" (from its membership view). */
async function servingNodes(node: NodeProcess): Promise<string[] | undefined> {
  const ready = (await (await fetch(`${node.url}/readyz`)).json()) as {
    ready: boolean;
    deployments: Array<{ name: string; serving_nodes?: string[] }>;
  };
  return ready.ready ? ready.deployments.find((d) => d.name === "tiny")?.serving_nodes : undefined;
}

interface ClusterAnswer {
  placement: {
    version: number;
    lease_holder: string | null;
    plan: Array<{ deployment: string; index: number; node_id: string }>;
    reports: Array<{ deployment: string; index: number; node_id: string; state: string; reason?: string }>;
  } | null;
}

/** GET /admin/v1/cluster on `node`, with the admin key. */
async function clusterStatus(node: NodeProcess): Promise<ClusterAnswer> {
  const response = await fetch(`${node.url}/admin/v1/cluster`, {
    headers: { authorization: "Bearer admin-key-placement" },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as ClusterAnswer;
}

async function ask(node: NodeProcess): Promise<string | null> {
  const client = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 20_000 });
  const { data, response } = await client.chat.completions
    .create({ model: "tiny", messages: [{ role: "user", content: "hello" }], max_tokens: 3 })
    .withResponse();
  expect(data.choices[0]?.finish_reason).toBe("length");
  return response.headers.get("x-rakka-node");
}

beforeAll(async () => {
  redis = await startRedisServer();
  dir = await mkdtemp(join(tmpdir(), "rakka-placement-"));
  modelPath = join(dir, "tiny.gguf");
  await makeModel({ out: modelPath, size: "tiny", seed: 1, quant: "q8_0" });
  const started = await Promise.all(
    ["node-a", "node-b", "node-c"].map(async (id) => [id, await startNode(id, nodeConfig(id))] as const),
  );
  for (const [id, node] of started) nodes.set(id, node);
}, 60_000);

afterAll(async () => {
  killAllNodes();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("local replicas placed across nodes", () => {
  it("replicas = 2 on three nodes with one slot each run on two different nodes, and every node serves", async () => {
    await eventually(
      async () => (await nodesWithReadyReplica(nodes, "tiny")).length === 2,
      20_000,
      "two nodes run a replica",
    );
    const running = await nodesWithReadyReplica(nodes, "tiny");
    // and it stays at two: the third never loads one
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await nodesWithReadyReplica(nodes, "tiny")).toEqual(running);
    for (const node of nodes.values()) {
      const servedBy = await ask(node);
      expect(running).toContain(servedBy);
    }
    const idle = [...nodes.keys()].find((id) => !running.includes(id)) as string;
    // the node without a replica forwards to one that has it
    expect(running).toContain(await ask(nodes.get(idle) as NodeProcess));
    // its /readyz lists where "tiny" serves, and cluster status shows the plan and the reports
    const idleNode = nodes.get(idle) as NodeProcess;
    await eventually(
      async () => JSON.stringify(await servingNodes(idleNode)) === JSON.stringify(running),
      5_000,
      "the idle node's /readyz lists the two serving nodes",
    );
    await eventually(
      async () => {
        const placement = (await clusterStatus(idleNode)).placement;
        const ready = placement?.reports.filter((r) => r.deployment === "tiny" && r.state === "ready");
        return (
          ready
            ?.map((r) => r.node_id)
            .sort()
            .join() === running.join()
        );
      },
      5_000,
      "cluster status has a ready report from each serving node",
    );
    const { placement } = await clusterStatus(idleNode);
    expect([...nodes.keys()]).toContain(placement?.lease_holder);
    expect(
      placement?.plan
        .filter((p) => p.deployment === "tiny")
        .map((p) => p.node_id)
        .sort(),
    ).toEqual(running);
    expect(placement?.plan.map((p) => p.index).sort()).toEqual([0, 1]);
    for (const report of placement?.reports ?? []) expect(report).not.toHaveProperty("reason");
  });

  it("a killed node's replica is placed on the node that had none, and the deployment serves on", async () => {
    const before = await nodesWithReadyReplica(nodes, "tiny");
    const victim = before[0] as string;
    const idle = [...nodes.keys()].find((id) => !before.includes(id)) as string;
    nodes.get(victim)?.kill();
    nodes.delete(victim);
    await eventually(
      async () => {
        const running = await nodesWithReadyReplica(nodes, "tiny");
        return running.length === 2 && running.includes(idle);
      },
      15_000,
      "the dead node's replica runs on the idle node",
    );
    for (const node of nodes.values()) expect([...nodes.keys()]).toContain(await ask(node));
  });

  it("GPUs are counted only once a deployment that needs them is to be placed, and it goes only where they are free", async () => {
    const store = createRedisConnection(redis.url);
    const heartbeats = async () =>
      Promise.all(
        [...nodes.keys()].map(
          async (id) => JSON.parse((await store.get(`${prefix}node:${id}`)) ?? "{}") as { freeGpus?: number },
        ),
      );
    try {
      // no deployment needs a GPU yet: no node has counted them
      for (const beat of await heartbeats()) expect(beat).not.toHaveProperty("freeGpus");
      const [entry] = [...nodes.values()] as [NodeProcess];
      const applied = await fetch(`${entry.url}/admin/v1/deployments`, {
        method: "POST",
        headers: { authorization: "Bearer admin-key-placement", "content-type": "application/json" },
        body: JSON.stringify({ name: "big", model: modelPath, runtime: "llama", gpus: 1 }),
      });
      expect(applied.status).toBe(200);
      const found = (await detectGpus()).count;
      await eventually(
        async () => (await heartbeats()).every((beat) => beat.freeGpus === found),
        10_000,
        `every node's heartbeat says ${found} free GPUs`,
      );
      if (found === 0) {
        // a CPU build: the plan never places the replica, and no node runs one
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const { placement } = await clusterStatus(entry);
        expect(placement?.plan.filter((p) => p.deployment === "big")).toEqual([]);
        expect(await nodesWithReadyReplica(nodes, "big")).toEqual([]);
      }
    } finally {
      store.disconnect();
    }
  }, 30_000);
});
