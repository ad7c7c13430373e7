// A node stopped with SIGTERM hands its llama replica over before it exits (docs/cluster.md,
// "Placement"): its heartbeat says it is draining, the lease holder places the replica on a node
// with a free slot, the replica keeps serving on the stopping node until its replacement is ready,
// and only then does the node drain and exit. Clients of the other nodes see no failure (counted).
// Three `rakka serve` processes on one real redis-server, real llama.cpp on a generated model, the
// official openai SDK with retries off. Bounded in time. RAKKA_E2E_NODE_LOGS=1 prints every node's
// log at the end.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
const prefix = uniqueKeyPrefix("e2e-graceful");

function nodeConfig(nodeId: string): string {
  const tables = nodeTables({
    redisUrl: redis.url,
    nodeId,
    keyPrefix: prefix,
    adminKey: "admin-key-graceful",
    nodeKey: "node-key-graceful",
    cluster: "model_slots = 1",
    // a loaded machine can delay a heartbeat past 1 s: no node may look dead unless it is
    nodeTimeoutMs: 3_000,
    // the hand-over waits for the replacement to load and for every node's routes to reach it
    // (a few heartbeats): on a loaded machine that can take most of 2 s, so it gets 10
    drainTimeoutMs: 10_000,
  });
  return `${tables}
[[deployment]]
name = "tiny"
model = "${modelPath}"
runtime = "llama"
replicas = 1
`;
}

/** The node that runs the replica of "tiny", if any. */
const owner = async (): Promise<string | undefined> => (await nodesWithReadyReplica(nodes, "tiny"))[0];

beforeAll(async () => {
  redis = await startRedisServer();
  dir = await mkdtemp(join(tmpdir(), "rakka-graceful-"));
  modelPath = join(dir, "tiny.gguf");
  await makeModel({ out: modelPath, size: "tiny", seed: 1, quant: "q8_0" });
  const started = await Promise.all(
    ["node-a", "node-b", "node-c"].map(async (id) => [id, await startNode(id, nodeConfig(id))] as const),
  );
  for (const [id, node] of started) nodes.set(id, node);
  await eventually(async () => (await owner()) !== undefined, 20_000, "one node runs the replica");
  // and every node routes to it (the others through their routing copies)
  await eventually(
    async () => {
      for (const node of nodes.values()) {
        const reply = await fetch(`${node.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "tiny",
            messages: [{ role: "user", content: "warm" }],
            max_tokens: 1,
          }),
        });
        await reply.text();
        if (reply.status !== 200) return false;
      }
      return true;
    },
    10_000,
    "every node serves the deployment",
  );
}, 60_000);

const stoppedNodes: NodeProcess[] = [];

afterAll(async () => {
  if (process.env.RAKKA_E2E_NODE_LOGS)
    for (const node of [...nodes.values(), ...stoppedNodes])
      console.log(`--- ${node.name}\n${node.lines.join("\n")}`);
  killAllNodes();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("graceful node shutdown", () => {
  it("SIGTERM hands the replica over first: the other nodes' clients see no failure", async () => {
    const stopping = (await owner()) as string;
    const others = [...nodes.entries()].filter(([id]) => id !== stopping).map(([, node]) => node);
    const outcomes: string[] = [];
    const servedBy = new Set<string>();
    let loading = true;
    const load = (async () => {
      // sequential requests alternating over the two other nodes, until told to stop (≤ 400)
      for (let i = 0; loading && i < 400; i++) {
        const node = others[i % others.length] as NodeProcess;
        const client = new OpenAI({
          baseURL: `${node.url}/v1`,
          apiKey: "unused",
          maxRetries: 0,
          timeout: 15_000,
        });
        try {
          const { response } = await client.chat.completions
            .create({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 2 })
            .withResponse();
          servedBy.add(response.headers.get("x-rakka-node") ?? "?");
          outcomes.push("ok");
        } catch (error) {
          const failure = error as { status?: number; message?: string };
          outcomes.push(`${failure.status}: ${failure.message}`);
        }
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const code = await (nodes.get(stopping) as NodeProcess).stop(20_000);
    stoppedNodes.push(nodes.get(stopping) as NodeProcess);
    nodes.delete(stopping);
    expect(code).toBe(0);
    // the replica now runs on one of the others, and the load goes on a little longer
    await eventually(async () => (await owner()) !== undefined, 5_000, "a survivor runs the replica");
    await new Promise((resolve) => setTimeout(resolve, 500));
    loading = false;
    await load;
    expect(outcomes.filter((outcome) => outcome !== "ok")).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(10);
    expect(servedBy.has(stopping)).toBe(true);
    expect([...servedBy].some((id) => id !== stopping)).toBe(true);
  });
});
