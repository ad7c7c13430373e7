// A node dies with requests in flight on it (docs/cluster.md, "Forwarding"): the entry node sees
// the owning node's stream break before the first token and routes each such request once more,
// to another replica of the same deployment, so the client still gets its completion. Three
// `rakka serve` processes on one real redis-server: two own engines of a remote deployment, one
// (without egress) forwards every request; the mock upstream holds every answer after its first
// (empty) event until the test lets it go. The official openai SDK, retries off. Bounded in time.

import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { complete, type MockProvider, startMockProvider } from "../../src/testkit/mock-provider.js";
import {
  eventually,
  killAllNodes,
  type NodeProcess,
  nodeTables,
  startNode,
} from "../support/cluster-nodes.js";
import { type RedisServer, startRedisServer, uniqueKeyPrefix } from "../support/redis-server.js";

let redis: RedisServer;
let upstream: MockProvider;
const nodes: Record<string, NodeProcess> = {};
const prefix = uniqueKeyPrefix("e2e-node-loss");

function nodeConfig(nodeId: string, egress: boolean): string {
  const tables = nodeTables({
    redisUrl: redis.url,
    nodeId,
    keyPrefix: prefix,
    adminKey: "admin-key-node-loss",
    nodeKey: "node-key-node-loss",
    cluster: `egress = ${egress}`,
  });
  return `${tables}
[[deployment]]
name = "held"
model = "m-held"
runtime = "openai-compatible"
[deployment.serving]
max_concurrent = 16
[deployment.runtime_config]
base_url = "${upstream.url}/v1"
retry = { max_retries = 0 }
timeouts = { first_byte_timeout_ms = 20000, read_timeout_ms = 20000 }
`;
}

const client = (node: NodeProcess) =>
  new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 20_000 });

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startMockProvider();
  upstream.setDefault(complete({ content: ["ok"] }));
  const [a, b, entry] = await Promise.all([
    startNode("owner-a", nodeConfig("node-a", true)),
    startNode("owner-b", nodeConfig("node-b", true)),
    startNode("entry", nodeConfig("node-entry", false)),
  ]);
  Object.assign(nodes, { a, b, entry });
  // the entry forwards to both owners once its routing copy has their engines
  await eventually(
    async () => {
      const seen = new Set<string | null>();
      for (let i = 0; i < 6; i++) {
        const { response } = await client(nodes.entry as NodeProcess)
          .chat.completions.create({
            model: "held",
            messages: [{ role: "user", content: "warm" }],
            max_tokens: 1,
          })
          .withResponse();
        seen.add(response.headers.get("x-rakka-node"));
      }
      return seen.has("node-a") && seen.has("node-b");
    },
    10_000,
    "the entry forwards to both owners",
  );
}, 60_000);

afterAll(async () => {
  killAllNodes();
  await upstream?.close();
  await redis?.stop();
});

describe("a node lost with requests in flight", () => {
  it("before the first token, each of its requests is routed once more, to the other replica, and completes", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // every answer sends its first (empty) event, then holds until the gate opens
    upstream.setDefault(complete({ content: ["after", " loss"], pauseAfterEvents: 1, resume: gate }));
    const arrived = upstream.arrivals;
    const entry = nodes.entry as NodeProcess;
    const requests = Array.from({ length: 6 }, (_, i) =>
      client(entry)
        .chat.completions.create({
          model: "held",
          messages: [{ role: "user", content: `request ${i}` }],
          max_tokens: 2,
        })
        .withResponse()
        .then(
          ({ data, response }) => ({
            content: data.choices[0]?.message.content,
            node: response.headers.get("x-rakka-node"),
          }),
          (error: { status?: number; message?: string }) => ({ error: `${error.status}: ${error.message}` }),
        ),
    );
    // all six are held upstream, spread over both owners
    await eventually(
      async () => upstream.arrivals - arrived >= 6,
      10_000,
      "six requests reached the upstream",
    );
    (nodes.a as NodeProcess).kill();
    // the re-routed ones reach the upstream again through node-b
    await eventually(
      async () => upstream.arrivals - arrived > 6,
      10_000,
      "re-routed requests reached node-b",
    );
    release();
    const outcomes = await Promise.all(requests);
    expect(outcomes).toEqual(Array.from({ length: 6 }, () => ({ content: "after loss", node: "node-b" })));
  });
});
