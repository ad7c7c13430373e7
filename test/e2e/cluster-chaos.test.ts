// Chaos across `rakka serve` processes on one real redis-server (docs/cluster.md; issue 11,
// criterion 8): a bounded mixed load (a llama deployment placed on two of three nodes, a remote
// one in front of the mock upstream; unary and streaming; some streams aborted by the client after
// their first chunk) runs against three nodes while a seeded schedule SIGKILLs or SIGTERMs one
// node at a time and restarts it. Every request gets exactly one terminal outcome, counted here:
// a completion, a typed error, a client abort, or a connection error to a node the schedule
// SIGKILLed while the request was in flight ("node gone"); nothing hangs. Afterwards the cluster
// converges: three live nodes that agree on membership, the plan (two ready llama replicas on two
// different nodes), readiness and the routing table, and every node answers every deployment.
// Replay a run with CHAOS_SEED=<the printed seed>. Real llama.cpp on a generated model; the
// official openai SDK, retries off. Bounded in time (about 30 s; the test itself at most 75 s).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisConnection } from "../../src/cluster/redis-connection.js";
import { RedisRoutingTable } from "../../src/cluster/redis-routing-table.js";
import { makeModel } from "../../src/runtimes/llama/make-model.js";
import { complete, type MockProvider, startMockProvider } from "../../src/testkit/mock-provider.js";
import { killAllNodes, type NodeProcess, nodeTables, startNode } from "../support/cluster-nodes.js";
import { type RedisServer, startRedisServer, uniqueKeyPrefix } from "../support/redis-server.js";

const DEFAULT_SEED = 0x5eed_c4a0;
const SEED = parseSeed(process.env.CHAOS_SEED);
const NODE_IDS = ["node-a", "node-b", "node-c"] as const;
const LOCAL = "tiny"; // llama, replicas = 2
const REMOTE = "echo"; // openai-compatible, in front of the mock upstream
const ADMIN_KEY = "admin-key-chaos";
/** Client loops sending at once. */
const LOOPS = 4;
/** The load stops at this many requests even if the schedule is still running. */
const MAX_REQUESTS = 2_000;
/** Chaos events start within this window from the start of the load. */
const CHAOS_WINDOW_MS = 22_000;
/** A request still unsettled after this long is a hang (the test fails). */
const CLIENT_TIMEOUT_MS = 15_000;
const CONVERGE_MS = 20_000;
const ABORT_PROBABILITY = 0.1;

let redis: RedisServer;
let upstream: MockProvider;
let store: Redis;
let dir: string;
let modelPath: string;
const prefix = uniqueKeyPrefix("e2e-chaos");

function parseSeed(text: string | undefined): number {
  if (text === undefined || text.trim() === "") return DEFAULT_SEED;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`CHAOS_SEED must be an integer, not ${text}`);
  return seed >>> 0;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pick = <T>(rng: () => number, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
const between = (rng: () => number, low: number, high: number): number => low + rng() * (high - low);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function nodeConfig(nodeId: string): string {
  const tables = nodeTables({
    redisUrl: redis.url,
    nodeId,
    keyPrefix: prefix,
    adminKey: ADMIN_KEY,
    nodeKey: "node-key-chaos",
    cluster: "model_slots = 1",
  });
  return `${tables}
[[deployment]]
name = "${LOCAL}"
model = "${modelPath}"
runtime = "llama"
replicas = 2
[deployment.serving]
max_concurrent = 4

[[deployment]]
name = "${REMOTE}"
model = "m-echo"
runtime = "openai-compatible"
[deployment.serving]
max_concurrent = 16
[deployment.runtime_config]
base_url = "${upstream.url}/v1"
retry = { max_retries = 0 }
timeouts = { first_byte_timeout_ms = 10000, read_timeout_ms = 10000 }
`;
}

// ── the nodes, as the test (the "load balancer") sees them ────────────────────────────────────

interface Member {
  readonly id: string;
  readonly process: NodeProcess;
  /** 0 for the first process of this node id, +1 per restart. */
  readonly incarnation: number;
  readonly client: OpenAI;
  /** Whether the load may send to it (false from the moment the schedule kills or stops it). */
  live: boolean;
}

const members = new Map<string, Member>();
/** Every process started, restarted ones included (their logs, on failure). */
const processes: Array<{ id: string; incarnation: number; process: NodeProcess }> = [];

async function startMember(id: string, incarnation: number): Promise<Member> {
  const process = await startNode(`${id}.${incarnation}`, nodeConfig(id));
  processes.push({ id, incarnation, process });
  const client = new OpenAI({
    baseURL: `${process.url}/v1`,
    apiKey: "unused",
    maxRetries: 0,
    timeout: CLIENT_TIMEOUT_MS + 5_000, // a backstop only: the test's own timer comes first
  });
  const member: Member = { id, process, incarnation, client, live: true };
  members.set(id, member);
  return member;
}

const member = (id: string): Member => members.get(id) as Member;

// ── requests and their outcomes ───────────────────────────────────────────────────────────────

type OutcomeKind =
  | "completion"
  | "typed-error"
  | "client-abort"
  | "node-gone"
  // none of the kinds below is allowed
  | "connection-error"
  | "truncated"
  | "hang"
  | "unexpected";

const ALLOWED: ReadonlySet<OutcomeKind> = new Set(["completion", "typed-error", "client-abort", "node-gone"]);

interface RequestRecord {
  readonly id: number;
  readonly loop: number;
  readonly node: string;
  readonly incarnation: number;
  readonly deployment: string;
  readonly stream: boolean;
  /** The test aborts this stream after its first chunk. */
  readonly abort: boolean;
  readonly startedAt: number;
  endedAt?: number;
  outcome?: OutcomeKind;
  detail?: string;
  settles: number;
}

const records: RequestRecord[] = [];
const inFlight = new Set<RequestRecord>();
/** Settles beyond the first, each a failure. */
const extraSettles: string[] = [];

interface ChaosEvent {
  readonly at: number;
  readonly node: string;
  readonly incarnation: number;
  readonly signal: "SIGKILL" | "SIGTERM";
  readonly downMs: number;
  /** Ids of the requests in flight to the node's process when the signal was sent. */
  readonly inFlight: ReadonlySet<number>;
  exitCode?: number | null;
  stopMs?: number;
  restartedAt?: number;
}

const events: ChaosEvent[] = [];

function settle(record: RequestRecord, outcome: OutcomeKind, detail?: string): void {
  record.settles++;
  if (record.settles > 1) {
    extraSettles.push(`request ${record.id}: ${record.outcome} then ${outcome}`);
    return;
  }
  record.outcome = outcome;
  if (detail !== undefined) record.detail = detail;
  record.endedAt = Date.now();
}

/** Whether the schedule SIGKILLed this request's node process while the request was in flight. */
function killedUnder(record: RequestRecord): boolean {
  return events.some((event) => event.signal === "SIGKILL" && event.inFlight.has(record.id));
}

function describeError(error: unknown): string {
  if (error instanceof APIError) {
    return `${error.constructor.name} status=${error.status} code=${error.code} ${error.message}`;
  }
  const failure = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const cause = failure.cause ? ` (cause: ${failure.cause.code ?? ""} ${failure.cause.message ?? ""})` : "";
  return `${failure.name ?? typeof error}: ${failure.message ?? String(error)}${cause}`;
}

/** An error thrown by a call (or its stream) that neither the test's abort nor its timeout caused. */
function classify(record: RequestRecord, error: unknown): [OutcomeKind, string] {
  const detail = describeError(error);
  if (
    !(error instanceof APIError) ||
    error instanceof APIConnectionError ||
    error instanceof APIUserAbortError
  )
    return [killedUnder(record) ? "node-gone" : "connection-error", detail];
  // a typed error: an HTTP error with its status and code, or a typed SSE error event (no status)
  const typed =
    typeof error.code === "string" && error.code !== "" && (record.stream || error.status !== undefined);
  return [typed ? "typed-error" : "unexpected", detail];
}

async function send(record: RequestRecord, client: OpenAI): Promise<void> {
  const controller = new AbortController();
  let aborted: "by-test" | "timeout" | undefined;
  const timer = setTimeout(() => {
    aborted ??= "timeout";
    controller.abort();
  }, CLIENT_TIMEOUT_MS);
  const body = {
    model: record.deployment,
    messages: [{ role: "user" as const, content: `chaos request ${record.id}` }],
    max_tokens: record.deployment === LOCAL ? 12 : 4,
  };
  try {
    if (!record.stream) {
      const answer = await client.chat.completions.create(body, { signal: controller.signal });
      const finish = answer.choices[0]?.finish_reason;
      if (aborted === "timeout") settle(record, "hang");
      else if (finish) settle(record, "completion", finish);
      else settle(record, "unexpected", `a unary answer without a finish reason: ${JSON.stringify(answer)}`);
      return;
    }
    const stream = await client.chat.completions.create(
      { ...body, stream: true },
      { signal: controller.signal },
    );
    let chunks = 0;
    let finish: string | undefined;
    for await (const chunk of stream) {
      chunks++;
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (record.abort && chunks === 1) {
        aborted ??= "by-test";
        controller.abort();
        break;
      }
    }
    if (aborted === "timeout") settle(record, "hang", `after ${chunks} chunks`);
    else if (aborted === "by-test") settle(record, "client-abort");
    else if (finish) settle(record, "completion", finish);
    else settle(record, "truncated", `the stream ended after ${chunks} chunks without a finish reason`);
  } catch (error) {
    if (aborted === "timeout") settle(record, "hang", describeError(error));
    else if (aborted === "by-test") settle(record, "client-abort");
    else settle(record, ...classify(record, error));
  } finally {
    clearTimeout(timer);
  }
}

let loading = false;

async function clientLoop(loop: number): Promise<void> {
  const rng = mulberry32((SEED ^ Math.imul(loop + 1, 0x9e3779b9)) >>> 0);
  while (loading && records.length < MAX_REQUESTS) {
    const live = [...members.values()].filter((m) => m.live);
    const target = pick(rng, live);
    const stream = rng() < 0.5;
    const record: RequestRecord = {
      id: records.length,
      loop,
      node: target.id,
      incarnation: target.incarnation,
      deployment: rng() < 0.5 ? LOCAL : REMOTE,
      stream,
      abort: stream && rng() < ABORT_PROBABILITY,
      startedAt: Date.now(),
      settles: 0,
    };
    records.push(record);
    inFlight.add(record);
    try {
      await send(record, target.client);
    } catch (error) {
      // send settles everything itself; anything escaping it is a test bug, counted as a failure
      settle(record, "unexpected", `escaped send: ${describeError(error)}`);
    }
    inFlight.delete(record);
    await sleep(between(rng, 20, 80));
  }
}

// ── the schedule ──────────────────────────────────────────────────────────────────────────────

/**
 * Seeded: every 3–6 s one node, at random, is SIGKILLed or SIGTERMed and restarted (same id, same
 * config) 1–3 s after it is gone. One node at a time: at least two are live throughout.
 */
async function chaos(startedAt: number, log: (line: string) => void): Promise<void> {
  const rng = mulberry32(SEED);
  let next = startedAt + between(rng, 3_000, 6_000);
  while (next < startedAt + CHAOS_WINDOW_MS && records.length < MAX_REQUESTS) {
    const nodeId = pick(rng, NODE_IDS);
    const signal = rng() < 0.5 ? "SIGKILL" : "SIGTERM";
    const downMs = between(rng, 1_000, 3_000);
    const gapMs = between(rng, 3_000, 6_000);
    await sleep(next - Date.now());
    const victim = member(nodeId);
    victim.live = false;
    const at = Date.now();
    const event: ChaosEvent = {
      at,
      node: nodeId,
      incarnation: victim.incarnation,
      signal,
      downMs,
      inFlight: new Set(
        [...inFlight]
          .filter((r) => r.node === nodeId && r.incarnation === victim.incarnation)
          .map((r) => r.id),
      ),
    };
    events.push(event);
    log(
      `+${((at - startedAt) / 1000).toFixed(1)} s ${signal} ${nodeId}.${victim.incarnation} ` +
        `(${event.inFlight.size} requests in flight to it), back in ${Math.round(downMs)} ms`,
    );
    if (signal === "SIGKILL") victim.process.kill();
    else {
      event.exitCode = await victim.process.stop(15_000);
      event.stopMs = Date.now() - at;
      log(`  ${nodeId}.${victim.incarnation} exited ${event.exitCode} after ${event.stopMs} ms`);
    }
    await sleep(downMs);
    const back = await startMember(nodeId, victim.incarnation + 1);
    event.restartedAt = Date.now();
    log(`+${((event.restartedAt - startedAt) / 1000).toFixed(1)} s ${nodeId}.${back.incarnation} listening`);
    next = Math.max(at + gapMs, Date.now() + 1_000);
  }
}

// ── convergence ───────────────────────────────────────────────────────────────────────────────

interface ClusterAnswer {
  nodes: Array<{ node_id: string; replicas: Array<{ deployment: string }> }>;
  placement: {
    version: number;
    lease_holder: string | null;
    plan: Array<{ deployment: string; index: number; node_id: string }>;
    reports: Array<{ deployment: string; index: number; node_id: string; state: string; reason?: string }>;
  } | null;
  placement_error?: string;
}

interface ReadyAnswer {
  ready: boolean;
  cluster?: { node: string; nodes: string[] };
  deployments: Array<{ name: string; state: string; serving_nodes?: string[] }>;
}

const sorted = (items: Iterable<string>): string[] => [...items].sort();
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Undefined once the cluster has converged; else what is not there yet. */
async function notConverged(): Promise<string | undefined> {
  const ids = sorted(NODE_IDS);
  const live = [...members.values()];
  if (live.length !== 3 || live.some((m) => !m.live)) return "not every node is up";
  const views: Array<{ id: string; cluster: ClusterAnswer; ready: ReadyAnswer; readyStatus: number }> = [];
  for (const m of live) {
    const clusterResponse = await fetch(`${m.process.url}/admin/v1/cluster`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    if (clusterResponse.status !== 200) return `${m.id}: GET /admin/v1/cluster ${clusterResponse.status}`;
    const readyResponse = await fetch(`${m.process.url}/readyz`);
    views.push({
      id: m.id,
      cluster: (await clusterResponse.json()) as ClusterAnswer,
      ready: (await readyResponse.json()) as ReadyAnswer,
      readyStatus: readyResponse.status,
    });
  }
  // membership: every node sees the three
  for (const view of views) {
    const seen = sorted(view.cluster.nodes.map((n) => n.node_id));
    if (!same(seen, ids)) return `${view.id} sees nodes ${seen.join()}`;
  }
  // the plan: two replicas of the llama deployment on two different live nodes, both reported ready
  const first = views[0] as (typeof views)[number];
  const plan = first.cluster.placement;
  if (!plan) return `${first.id}: no placement (${first.cluster.placement_error})`;
  const placed = plan.plan.filter((p) => p.deployment === LOCAL);
  const placedNodes = sorted(placed.map((p) => p.node_id));
  if (placed.length !== 2 || new Set(placedNodes).size !== 2 || placedNodes.some((n) => !ids.includes(n)))
    return `plan v${plan.version} places ${LOCAL} on ${placedNodes.join() || "nothing"}`;
  if (!same(sorted(placed.map((p) => String(p.index))), ["0", "1"]))
    return `plan v${plan.version} places indexes ${placed.map((p) => p.index).join()}`;
  const reports = plan.reports.filter((r) => r.deployment === LOCAL);
  const reported = sorted(reports.map((r) => `${r.node_id}#${r.index}:${r.state}`));
  const expected = sorted(placed.map((p) => `${p.node_id}#${p.index}:ready`));
  if (!same(reported, expected)) return `reports for ${LOCAL}: ${reported.join()} (want ${expected.join()})`;
  if (plan.lease_holder === null || !ids.includes(plan.lease_holder))
    return `lease holder ${plan.lease_holder}`;
  // every node reads the same plan and the same view of who serves what
  const replicasView = (view: (typeof views)[number]) =>
    sorted(
      view.cluster.nodes.map((n) => `${n.node_id}:${sorted(n.replicas.map((r) => r.deployment)).join("+")}`),
    );
  for (const view of views.slice(1)) {
    const other = view.cluster.placement;
    if (!other || other.version !== plan.version || !same(other.plan, plan.plan))
      return `${view.id} reads plan v${other?.version}, ${first.id} v${plan.version}`;
    if (!same(replicasView(view), replicasView(first)))
      return `${view.id} sees replicas ${replicasView(view).join(" ")}, ${first.id} ${replicasView(first).join(" ")}`;
  }
  // readiness: ready everywhere, the llama deployment served by the two planned nodes, the remote by all
  for (const view of views) {
    if (view.readyStatus !== 200)
      return `${view.id} /readyz ${view.readyStatus}: ${JSON.stringify(view.ready)}`;
    const serving = (name: string) => view.ready.deployments.find((d) => d.name === name)?.serving_nodes;
    if (!same(serving(LOCAL), placedNodes)) return `${view.id} /readyz: ${LOCAL} served by ${serving(LOCAL)}`;
    if (!same(serving(REMOTE), ids)) return `${view.id} /readyz: ${REMOTE} served by ${serving(REMOTE)}`;
  }
  // the routing table every node copies: exactly the live engines, none draining, nothing stale
  const table = new RedisRoutingTable({ client: store, prefix });
  const targets = (await Promise.all((await table.deployments()).map((d) => table.list(d)))).flat();
  const routes = sorted(targets.map((t) => `${t.deployment}@${t.nodeId}${t.draining ? " (draining)" : ""}`));
  const wanted = sorted([...placedNodes.map((n) => `${LOCAL}@${n}`), ...ids.map((n) => `${REMOTE}@${n}`)]);
  if (!same(routes, wanted)) return `routing table ${routes.join(", ")} (want ${wanted.join(", ")})`;
  // and every node answers each deployment
  for (const m of live) {
    for (const deployment of [LOCAL, REMOTE]) {
      try {
        const { data, response } = await m.client.chat.completions
          .create(
            { model: deployment, messages: [{ role: "user", content: "converged?" }], max_tokens: 2 },
            { timeout: 5_000 },
          )
          .withResponse();
        if (!data.choices[0]?.finish_reason) return `${m.id} ${deployment}: no finish reason`;
        const ranOn = response.headers.get("x-rakka-node") ?? "?";
        if (deployment === LOCAL && !placedNodes.includes(ranOn))
          return `${m.id} ${deployment} ran on ${ranOn}, not a planned node`;
      } catch (error) {
        return `${m.id} ${deployment}: ${describeError(error)}`;
      }
    }
  }
  return undefined;
}

/** Polls notConverged every 200 ms; resolves with how long it took, rejects with the last reason. */
async function converge(ms: number): Promise<number> {
  const start = Date.now();
  let last = "never checked";
  for (;;) {
    try {
      const missing = await notConverged();
      if (missing === undefined) return Date.now() - start;
      last = missing;
    } catch (error) {
      last = describeError(error);
    }
    if (Date.now() - start > ms) throw new Error(`the cluster did not converge within ${ms} ms: ${last}`);
    await sleep(200);
  }
}

// ── the test ──────────────────────────────────────────────────────────────────────────────────

beforeAll(async () => {
  console.log(`cluster chaos: seed ${SEED} (replay with CHAOS_SEED=${SEED})`);
  redis = await startRedisServer();
  store = createRedisConnection(redis.url, { connectionName: "rakka-e2e-chaos" });
  upstream = await startMockProvider();
  upstream.setDefault(complete({ content: ["ok"] }));
  dir = await mkdtemp(join(tmpdir(), "rakka-chaos-"));
  modelPath = join(dir, "tiny.gguf");
  await makeModel({ out: modelPath, size: "tiny", seed: 1, quant: "q8_0" });
  await Promise.all(NODE_IDS.map((id) => startMember(id, 0)));
  // the load starts on a healthy cluster
  await converge(CONVERGE_MS);
}, 60_000);

afterAll(async () => {
  loading = false;
  killAllNodes();
  store?.disconnect();
  await upstream?.close();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("chaos: nodes killed and restarted under a mixed load", () => {
  it("every request gets exactly one allowed outcome, nothing hangs, and the cluster converges", async () => {
    // printed together at the end (vitest prefixes every console.log with a header)
    const lines: string[] = [];
    const log = (line: string) => lines.push(`[chaos seed ${SEED}] ${line}`);
    try {
      await run(log);
    } finally {
      console.log(lines.join("\n"));
    }
  }, 75_000);
});

async function run(log: (line: string) => void): Promise<void> {
  log(`load: ${LOOPS} client loops, ${LOCAL} (llama, replicas = 2) and ${REMOTE} (remote)`);
  const startedAt = Date.now();
  loading = true;
  const loops = Array.from({ length: LOOPS }, (_, loop) => clientLoop(loop));
  try {
    await chaos(startedAt, log);
    await sleep(1_000); // a little load on the whole cluster again
  } finally {
    loading = false;
    await Promise.all(loops);
  }
  const loadMs = Date.now() - startedAt;
  const counts: Record<string, number> = {};
  const codes: Record<string, number> = {};
  for (const record of records) {
    const kind = record.outcome ?? "unsettled";
    counts[kind] = (counts[kind] ?? 0) + 1;
    if (record.outcome === "typed-error") {
      const code = /status=(\S+) code=(\S+)/.exec(record.detail ?? "");
      const key = `${record.deployment} ${code?.[1]} ${code?.[2]}`;
      codes[key] = (codes[key] ?? 0) + 1;
    }
  }
  const killedInFlight = events
    .filter((e) => e.signal === "SIGKILL")
    .reduce((sum, e) => sum + e.inFlight.size, 0);
  log(
    `${records.length} requests in ${(loadMs / 1000).toFixed(1)} s, ${events.length} chaos events ` +
      `(${events.filter((e) => e.signal === "SIGKILL").length} SIGKILL, ` +
      `${events.filter((e) => e.signal === "SIGTERM").length} SIGTERM)`,
  );
  log(`outcomes: ${JSON.stringify(counts)}; requests in flight to a SIGKILLed node: ${killedInFlight}`);
  log(`typed errors (deployment status code): ${JSON.stringify(codes)}`);
  const line = (r: RequestRecord) =>
    `request ${r.id} ${r.outcome} to ${r.node}.${r.incarnation} ${r.deployment} ` +
    `${r.stream ? "stream" : "unary"} at +${r.startedAt - startedAt} ms for ` +
    `${(r.endedAt ?? Date.now()) - r.startedAt} ms: ${r.detail}`;
  for (const r of records
    .filter((r) => r.outcome === "typed-error" || r.outcome === "node-gone")
    .slice(0, 20))
    log(line(r));
  const bad = records.filter((r) => r.outcome === undefined || !ALLOWED.has(r.outcome));
  for (const r of bad.slice(0, 20)) log(`not allowed: ${line(r)}`);

  const convergedMs = await converge(CONVERGE_MS).catch((error: Error) => {
    for (const { id, incarnation, process } of processes.filter((p) => member(p.id).process === p.process))
      log(`${id}.${incarnation} last lines:\n${process.lines.slice(-15).join("\n")}`);
    throw new Error(`[chaos seed ${SEED}] ${error.message}`);
  });

  log(`converged ${convergedMs} ms after the load stopped`);

  expect(extraSettles, `seed ${SEED}: a second outcome`).toEqual([]);
  expect(
    records.filter((r) => r.settles !== 1).map((r) => r.id),
    `seed ${SEED}: not one outcome`,
  ).toEqual([]);
  expect(counts.hang ?? 0, `seed ${SEED}: requests that hung`).toBe(0);
  expect(
    bad.map((r) => `${r.id} ${r.outcome}: ${r.detail}`),
    `seed ${SEED}: outcomes outside the allowed kinds`,
  ).toEqual([]);
  expect(counts["node-gone"] ?? 0, `seed ${SEED}: node-gone outcomes`).toBeLessThanOrEqual(killedInFlight);
  for (const event of events.filter((e) => e.signal === "SIGTERM"))
    expect(event.exitCode, `seed ${SEED}: ${event.node} exit code after SIGTERM`).toBe(0);
  expect(events.length).toBeGreaterThanOrEqual(2);
  expect(records.length).toBeLessThanOrEqual(MAX_REQUESTS);
  expect(counts.completion ?? 0).toBeGreaterThan(records.length / 2);
}
