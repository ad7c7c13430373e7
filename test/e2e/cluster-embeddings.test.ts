// Embeddings and token counts forwarded between `rakka serve` processes on one real redis-server
// (docs/cluster.md, "Forwarding"; docs/api.md, "Embeddings"): a llama deployment with one
// replica on two nodes with one model slot each runs on one node; the other node answers
// `POST /v1/embeddings` and `POST /v1/messages/count_tokens` through it (peer wire version 4), with
// the vectors and the count of the node that ran them. Real llama.cpp on a generated model; the
// official openai SDK, retries off. Bounded in time.

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
const prefix = uniqueKeyPrefix("e2e-embeddings");

function nodeConfig(nodeId: string): string {
  const tables = nodeTables({
    redisUrl: redis.url,
    nodeId,
    keyPrefix: prefix,
    adminKey: "admin-key-embeddings",
    nodeKey: "node-key-embeddings",
    cluster: "model_slots = 1",
    nodeTimeoutMs: 3_000,
  });
  return `${tables}
[[deployment]]
name = "tiny"
model = "${modelPath}"
runtime = "llama"
replicas = 1
[deployment.runtime_config]
context_size = 256
threads = 1
`;
}

const client = (node: NodeProcess) =>
  new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 20_000 });

beforeAll(async () => {
  redis = await startRedisServer();
  dir = await mkdtemp(join(tmpdir(), "rakka-cluster-embeddings-"));
  modelPath = join(dir, "tiny.gguf");
  await makeModel({ out: modelPath, size: "tiny", seed: 3, quant: "q8_0" });
  const started = await Promise.all(
    ["node-a", "node-b"].map(async (id) => [id, await startNode(id, nodeConfig(id))] as const),
  );
  for (const [id, node] of started) nodes.set(id, node);
}, 60_000);

afterAll(async () => {
  killAllNodes();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("embeddings and token counts across nodes", () => {
  it("the node without the replica embeds and counts through the node that has it", async () => {
    await eventually(
      async () => (await nodesWithReadyReplica(nodes, "tiny")).length === 1,
      20_000,
      "one node runs the replica",
    );
    const [owner] = await nodesWithReadyReplica(nodes, "tiny");
    const entryId = [...nodes.keys()].find((id) => id !== owner) as string;
    const entry = nodes.get(entryId) as NodeProcess;
    const ownerNode = nodes.get(owner as string) as NodeProcess;
    const input = ["hello world", "a second text"];
    // the entry node learns the owner's target from the routing table (heartbeat or change notice)
    await eventually(
      async () => {
        const { response } = await client(entry).embeddings.create({ model: "tiny", input }).withResponse();
        return response.headers.get("x-rakka-node") === owner;
      },
      10_000,
      "the entry node forwards to the owner",
    );
    const forwarded = await client(entry).embeddings.create({ model: "tiny", input });
    const local = await client(ownerNode).embeddings.create({ model: "tiny", input });
    expect(forwarded.data.map((item) => item.embedding)).toEqual(local.data.map((item) => item.embedding));
    expect(forwarded.data[0]?.embedding).toHaveLength(128);
    expect(forwarded.usage).toEqual(local.usage);

    const count = async (node: NodeProcess) => {
      const response = await fetch(`${node.url}/v1/messages/count_tokens`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "how many tokens" }] }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("x-rakka-token-count")).toBeNull();
      return (await response.json()) as { input_tokens: number };
    };
    const counted = await count(entry);
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(counted).toEqual(await count(ownerNode));
  });
});
