// Forwarding between `rakka serve` processes on one real redis-server: a node without egress
// serves a remote deployment through the engine of a node that has it (docs/cluster.md,
// "Forwarding"). Unary and streaming answers pass through whole (token by token), carry
// `x-rakka-node` of the node whose engine ran them, reach the upstream once and are counted once;
// a client that leaves frees the owning node's slot within a second; the internal endpoint refuses
// calls without the node key; when the owning node dies, requests end in a typed error, never a
// hang. Clients: the official openai SDK, retries off, over a keep-alive agent. Bounded in time.

import OpenAI from "openai";
import { Agent, fetch as undiciFetch } from "undici";
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

const ADMIN_KEY = "admin-key-forwarding";
const NODE_KEY = "node-key-forwarding";
let redis: RedisServer;
let upstream: MockProvider;
let owner: NodeProcess;
let gateway: NodeProcess;
const agent = new Agent({ connections: 4, keepAliveTimeout: 60_000 });
const prefix = uniqueKeyPrefix("e2e-forwarding");

function nodeConfig(nodeId: string, egress: boolean): string {
  const tables = nodeTables({
    redisUrl: redis.url,
    nodeId,
    keyPrefix: prefix,
    adminKey: ADMIN_KEY,
    nodeKey: NODE_KEY,
    cluster: `egress = ${egress}`,
  });
  return `${tables}
[[deployment]]
name = "fwd"
model = "m-fwd"
runtime = "openai-compatible"
[deployment.runtime_config]
base_url = "${upstream.url}/v1"
retry = { max_retries = 0 }
`;
}

const client = (url: string) =>
  new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: "unused",
    maxRetries: 0,
    timeout: 10_000,
    fetch: undiciFetch as unknown as typeof fetch,
    fetchOptions: { dispatcher: agent } as Record<string, unknown>,
  });

/** The sum of a metric's series for one deployment (its other labels summed over). */
async function metric(url: string, name: string, deployment: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) && line.includes(`deployment="${deployment}"`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startMockProvider();
  upstream.setDefault(complete({ content: ["for", "war", "ded"] }));
  [owner, gateway] = await Promise.all([
    startNode("owner", nodeConfig("node-owner", true)),
    startNode("gateway", nodeConfig("node-gateway", false)),
  ]);
  // the gateway learns the owner's engine from the routing table (heartbeat or change notice)
  await eventually(
    async () => {
      const reply = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "fwd", messages: [{ role: "user", content: "warm" }], max_tokens: 3 }),
      });
      await reply.text();
      return reply.status === 200;
    },
    10_000,
    "the gateway node forwards to the owner",
  );
  // every warm-up request is booked (just after its answer) before the tests count anything:
  // the count holds still for 300 ms
  let seen = -1;
  await eventually(
    async () => {
      const now = await metric(gateway.url, "rakka_requests_total", "fwd");
      const settled = now === seen && now > 0;
      seen = now;
      return settled;
    },
    5_000,
    "the warm-up requests are counted",
    300,
  );
}, 60_000);

afterAll(async () => {
  killAllNodes();
  await agent.close();
  await upstream?.close();
  await redis?.stop();
});

describe("forwarding to the node that owns the engine", () => {
  it("a node without egress serves a unary request through the owner's engine, once", async () => {
    const upstreamBefore = upstream.arrivals;
    const gatewayBefore = await metric(gateway.url, "rakka_requests_total", "fwd");
    const ownerBefore = await metric(owner.url, "rakka_requests_total", "fwd");
    const { data, response } = await client(gateway.url)
      .chat.completions.create({
        model: "fwd",
        messages: [{ role: "user", content: "hello" }],
        max_tokens: 3,
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("forwarded");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(response.headers.get("x-rakka-node")).toBe("node-owner");
    expect(response.headers.get("x-rakka-deployment")).toBe("fwd");
    expect(upstream.arrivals - upstreamBefore).toBe(1);
    // counted once, by the entry node (its metrics actor books it just after the answer); the
    // owner ran the engine and nothing else
    await eventually(
      async () => (await metric(gateway.url, "rakka_requests_total", "fwd")) - gatewayBefore === 1,
      2_000,
      "the entry node counted the request",
    );
    expect((await metric(owner.url, "rakka_requests_total", "fwd")) - ownerBefore).toBe(0);
  });

  it("a stream passes through chunk by chunk with its usage, and the owner serves its own requests itself", async () => {
    const { data: stream, response } = await client(gateway.url)
      .chat.completions.create({
        model: "fwd",
        messages: [{ role: "user", content: "hello there" }],
        max_tokens: 3,
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    expect(response.headers.get("x-rakka-node")).toBe("node-owner");
    const pieces: string[] = [];
    let usage: { completion_tokens: number } | undefined;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece) pieces.push(piece);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(pieces).toEqual(["for", "war", "ded"]);
    expect(usage?.completion_tokens).toBe(3);

    const own = await client(owner.url)
      .chat.completions.create({ model: "fwd", messages: [{ role: "user", content: "hi" }], max_tokens: 3 })
      .withResponse();
    expect(own.response.headers.get("x-rakka-node")).toBe("node-owner");
  });

  it("a client that leaves mid-stream frees the owner's slot within a second", async () => {
    upstream.script(complete({ content: ["a", "b", "c"], pauseAfterEvents: 2 }));
    const controller = new AbortController();
    const stream = await client(gateway.url).chat.completions.create(
      { model: "fwd", messages: [{ role: "user", content: "hold" }], max_tokens: 3, stream: true },
      { signal: controller.signal },
    );
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) break; // leaving the loop aborts the request
    }
    controller.abort();
    const leftAt = Date.now();
    await eventually(
      async () => (await metric(owner.url, "rakka_num_requests_running", "fwd")) === 0,
      1_000,
      "the owner's engine freed the slot",
    );
    expect(Date.now() - leftAt).toBeLessThan(1_000);
  });

  it("the internal endpoint refuses calls without the node key", async () => {
    for (const headers of [{}, { "x-rakka-node-key": "wrong" }] as Array<Record<string, string>>) {
      const reply = await fetch(`${owner.url}/internal/v1/execute`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: "{}",
      });
      expect(reply.status).toBe(401);
      expect(await reply.text()).not.toContain(NODE_KEY);
    }
    // and it is no public API path
    const publicPath = await fetch(`${owner.url}/v1/internal/v1/execute`, { method: "POST", body: "{}" });
    expect(publicPath.status).toBe(404);
  });

  it("when the owner dies, requests end in a typed error and never hang", async () => {
    owner.kill();
    const outcomes: number[] = [];
    const startedAt = Date.now();
    for (let i = 0; i < 6; i++) {
      try {
        await client(gateway.url).chat.completions.create({
          model: "fwd",
          messages: [{ role: "user", content: "anyone?" }],
          max_tokens: 3,
        });
        outcomes.push(200);
      } catch (error) {
        const failure = error as { status?: number; code?: string };
        expect(failure.status).toBe(503);
        expect(failure.code).toBe("unavailable");
        outcomes.push(503);
      }
    }
    expect(outcomes.every((status) => status === 503)).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    // once the owner's heartbeat expires, its targets leave the gateway's routing copy
    await eventually(
      async () => {
        const reply = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "fwd", messages: [{ role: "user", content: "x" }], max_tokens: 1 }),
        });
        const body = await reply.text();
        return reply.status === 503 && body.includes("has no live replica");
      },
      5_000,
      "the dead owner's engine left the routing copy",
    );
  });
});
