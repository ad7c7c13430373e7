// A llama deployment's only replica lost with its node (docs/cluster.md, "Placement" and
// "Forwarding"): three `rakka serve` processes on one real redis-server, one model slot each, a
// llama deployment with replicas = 1. The node running it is killed (SIGKILL) while a load runs
// against the two others; every request sent meanwhile ends with a completion or a typed error
// (an HTTP 503 / 502 / 500 / 429 with an error code, or a typed SSE error), none hangs (each has a
// 15 s client limit, and a timeout fails the test), and requests succeed again within
// node_timeout_ms + the model's load time (12 s here), served by a survivor (`x-rakka-node`), and
// keep succeeding. Real llama.cpp on a generated model; the official openai SDK, retries off.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { APIConnectionTimeoutError, APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeModel } from "../../src/runtimes/llama/make-model.js";
import { killAllNodes, type NodeProcess, nodeTables, startNode } from "../support/cluster-nodes.js";
import { type RedisServer, startRedisServer, uniqueKeyPrefix } from "../support/redis-server.js";

const RECOVERY_MS = 12_000;
let redis: RedisServer;
let dir: string;
let modelPath: string;
const nodes = new Map<string, NodeProcess>();
const prefix = uniqueKeyPrefix("e2e-replica-loss");

function nodeConfig(nodeId: string): string {
  const tables = nodeTables({
    redisUrl: redis.url,
    nodeId,
    keyPrefix: prefix,
    adminKey: "admin-key-replica-loss",
    nodeKey: "node-key-replica-loss",
    cluster: "model_slots = 1",
  });
  return `${tables}
[[deployment]]
name = "solo"
model = "${modelPath}"
runtime = "llama"
replicas = 1
[deployment.serving]
max_concurrent = 4
`;
}

/** Polls `probe` every 100 ms until it returns true; fails after `ms`. */
async function eventually(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The node ids whose /readyz lists a ready local replica of "solo". */
async function nodesRunningSolo(): Promise<string[]> {
  const running: string[] = [];
  for (const [id, node] of nodes) {
    const ready = (await (
      await fetch(`${node.url}/readyz`, { signal: AbortSignal.timeout(2_000) })
    ).json()) as {
      deployments: Array<{ name: string; ready_replicas: number }>;
    };
    if ((ready.deployments.find((d) => d.name === "solo")?.ready_replicas ?? 0) > 0) running.push(id);
  }
  return running.sort();
}

interface Outcome {
  readonly seq: number;
  readonly node: string;
  readonly stream: boolean;
  readonly startedAt: number;
  readonly endedAt: number;
  /** completion: 200 with a finish reason; http-error: a typed error answer; sse-error: a typed error event mid-stream. */
  readonly kind: "completion" | "http-error" | "sse-error" | "timeout" | "other";
  readonly status?: number;
  readonly code?: string;
  readonly message?: string;
  readonly servedBy?: string | null;
}

const clients = new Map<string, OpenAI>();
const clientOf = (node: NodeProcess): OpenAI => {
  let client = clients.get(node.url);
  if (!client) {
    client = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 15_000 });
    clients.set(node.url, client);
  }
  return client;
};

/** One chat request to `node`, unary or streaming, and what it ended with. */
async function oneRequest(seq: number, node: NodeProcess, stream: boolean): Promise<Outcome> {
  const startedAt = Date.now();
  const base = { seq, node: node.name, stream, startedAt };
  const request = {
    model: "solo",
    messages: [{ role: "user" as const, content: `request ${seq}` }],
    max_tokens: 3,
  };
  let servedBy: string | null = null;
  try {
    let finish: string | null | undefined;
    if (stream) {
      const { data, response } = await clientOf(node)
        .chat.completions.create({ ...request, stream: true })
        .withResponse();
      servedBy = response.headers.get("x-rakka-node");
      for await (const chunk of data) finish = chunk.choices[0]?.finish_reason ?? finish;
    } else {
      const { data, response } = await clientOf(node).chat.completions.create(request).withResponse();
      servedBy = response.headers.get("x-rakka-node");
      finish = data.choices[0]?.finish_reason;
    }
    const endedAt = Date.now();
    if (!finish) return { ...base, endedAt, kind: "other", message: "no finish_reason", servedBy };
    return { ...base, endedAt, kind: "completion", status: 200, servedBy };
  } catch (error) {
    const endedAt = Date.now();
    if (error instanceof APIConnectionTimeoutError)
      return { ...base, endedAt, kind: "timeout", message: error.message };
    if (error instanceof APIError && error.code) {
      const typed = { ...base, endedAt, code: error.code, message: error.message, servedBy };
      // a stream's error event has no HTTP status of its own
      return error.status === undefined
        ? { ...typed, kind: "sse-error" }
        : { ...typed, kind: "http-error", status: error.status };
    }
    const failure = error as { status?: number; message?: string; name?: string };
    return {
      ...base,
      endedAt,
      kind: "other",
      ...(failure.status === undefined ? {} : { status: failure.status }),
      message: `${failure.name ?? "Error"}: ${failure.message ?? String(error)}`,
    };
  }
}

beforeAll(async () => {
  redis = await startRedisServer();
  dir = await mkdtemp(join(tmpdir(), "rakka-replica-loss-"));
  modelPath = join(dir, "solo.gguf");
  await makeModel({ out: modelPath, size: "tiny", seed: 3, quant: "q8_0" });
  const started = await Promise.all(
    ["node-a", "node-b", "node-c"].map(async (id) => [id, await startNode(id, nodeConfig(id))] as const),
  );
  for (const [id, node] of started) nodes.set(id, node);
  await eventually(async () => (await nodesRunningSolo()).length === 1, 20_000, "one node runs the replica");
  // every node serves it (two by forwarding) before the test starts
  for (const node of nodes.values())
    await eventually(
      async () => (await oneRequest(-1, node, false)).kind === "completion",
      5_000,
      `${node.name} serves solo`,
    );
}, 45_000);

afterAll(async () => {
  killAllNodes();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the only replica's node is killed", () => {
  it("requests to the survivors end with a completion or a typed error, and are served again within 12 s", async () => {
    const [owner] = await nodesRunningSolo();
    const victim = nodes.get(owner as string) as NodeProcess;
    const survivors = [...nodes.values()].filter((node) => node !== victim);
    const survivorIds = survivors.map((node) => node.name);

    // 4 clients round-robin over the two survivors, unary and streaming mixed, each request after
    // the last; the load stops by itself 1.5 s after the first success following the kill, or
    // RECOVERY_MS + 3 s after the kill, or at 3000 requests
    const outcomes: Outcome[] = [];
    let issued = 0;
    let killedAt = 0;
    let firstSuccess: Outcome | undefined;
    const hardDeadline = Date.now() + 1_000 + RECOVERY_MS + 3_000;
    const running = () => {
      if (issued >= 3_000 || Date.now() > hardDeadline) return false;
      return firstSuccess === undefined || Date.now() < firstSuccess.endedAt + 1_500;
    };
    const worker = async () => {
      while (running()) {
        const seq = issued++;
        const outcome = await oneRequest(
          seq,
          survivors[seq % 2] as NodeProcess,
          Math.floor(seq / 2) % 2 === 1,
        );
        outcomes.push(outcome);
        if (
          killedAt > 0 &&
          outcome.startedAt > killedAt &&
          outcome.kind === "completion" &&
          (firstSuccess === undefined || outcome.endedAt < firstSuccess.endedAt)
        )
          firstSuccess = outcome;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, worker));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    killedAt = Date.now();
    victim.kill();
    await load;

    const after = outcomes.filter((o) => o.startedAt > killedAt);
    const by = new Map<string, number>();
    for (const o of outcomes) {
      const key = `${o.startedAt > killedAt ? "after" : "before"} kill: ${o.kind} ${o.status ?? ""} ${o.code ?? ""}`;
      by.set(key, (by.get(key) ?? 0) + 1);
    }
    console.log(
      `${outcomes.length} requests (${after.length} after the kill of ${victim.name});`,
      `first success ${firstSuccess ? firstSuccess.endedAt - killedAt : "none"} ms after the kill, served by ${firstSuccess?.servedBy}`,
      Object.fromEntries([...by].sort()),
    );

    // every request has exactly one outcome
    expect(outcomes.map((o) => o.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: issued }, (_, i) => i),
    );
    // each ended with a completion or a typed error: never a hang (timeout), never an untyped failure
    const untyped = outcomes.filter(
      (o) =>
        !(
          o.kind === "completion" ||
          o.kind === "sse-error" ||
          (o.kind === "http-error" && [429, 500, 502, 503].includes(o.status as number))
        ),
    );
    for (const o of untyped) console.log("FAILED", JSON.stringify(o));
    expect(untyped).toEqual([]);
    for (const o of outcomes) expect(o.endedAt - o.startedAt).toBeLessThan(15_000);

    // served again within 12 s of the kill, by a survivor
    expect(firstSuccess, "a request succeeded after the kill").toBeDefined();
    const success = firstSuccess as Outcome;
    expect(success.endedAt - killedAt).toBeLessThan(RECOVERY_MS);
    expect(survivorIds).toContain(success.servedBy);
    // and keeps being served: every request sent 500 ms after the first success completes, on a survivor
    const settled = outcomes.filter((o) => o.startedAt > success.endedAt + 500);
    expect(settled.length).toBeGreaterThan(0);
    for (const o of settled) {
      expect(o.kind, JSON.stringify(o)).toBe("completion");
      expect(survivorIds).toContain(o.servedBy);
    }
    // the replica now runs on one of the survivors
    nodes.delete(victim.name);
    await eventually(
      async () => {
        const running = await nodesRunningSolo();
        return running.length === 1 && survivorIds.includes(running[0] as string);
      },
      3_000,
      "a survivor runs the replica",
    );
  }, 40_000);
});
