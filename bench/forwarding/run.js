// Forwarding benchmark (`npm run bench:forwarding`): what one forwarding hop between two cluster
// nodes costs a request (docs/cluster.md, "Forwarding"). Two `rakka serve` nodes share one Redis
// and one mock OpenAI upstream (bench/remote-gateway/upstream.js, its own process, answering at
// once); both carry the same remote deployment "bench" (bench/forwarding/node-config.js):
//   - "owner": the default `egress = true`, so it runs the engine for "bench";
//   - "entry": `[cluster] egress = false`, so it has no engine for "bench" and sends every request
//     through its peer engine to the owner (HTTP, /internal/v1/execute); `x-rakka-node` on its
//     answers names the owner, which the pre-flight checks.
// Unary and streaming chat completions (32 content chunks) with autocannon in this process:
//   - concurrency 1 straight to the owner ("direct") and to the entry ("forwarded"): p50 and p99;
//     forwarded − direct p50 is the added latency of one hop, the goal (≤ 1 ms), per round and
//     the median;
//   - concurrency 16 direct and forwarded: req/s and the CPU per request of each node (utime +
//     stime from /proc), reported only.
// The cells run interleaved (the two targets back to back per mode and concurrency, the order
// rotated each round) ROUNDS times; the table shows medians. Results are recorded in
// docs/benchmarks.md ("Forwarding").
//
// Redis: $REDIS_URL when set (only this run's keys, under a unique key_prefix, are touched and
// deleted afterwards), else a private redis-server on a free loopback port, no persistence, in its
// own process group, killed at the end (bench/cluster/redis-server.js). CPU placement (2 CPUs):
// this process (autocannon), the upstream and redis-server on CPU 0, both nodes on CPU 1
// (`taskset`), so on a 2-CPU machine the entry and the owner share one CPU.
//
// Progress goes to stderr, the results (markdown) to stdout. Knobs (environment):
//   FORWARDING_BENCH_ROUNDS (5), FORWARDING_BENCH_WARMUP_S (1), FORWARDING_BENCH_MEASURE_S (3),
//   FORWARDING_BENCH_PIN (1; 0: no pinning), FORWARDING_BENCH_DEADLINE_S (300: everything is
//   killed and the run fails after this long), REDIS_URL.

import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { deleteKeys, startRedis } from "../cluster/redis-server.js";
import { CHAT_PATH, chatRequestBodies, checkChatAnswers } from "../lib/chat-answers.js";
import { exchange } from "../lib/http.js";
import { countFromEnv, numberFromEnv } from "../lib/knobs.js";
import { autocannonLoad, warmUpAndMeasure } from "../lib/load.js";
import { describeMachine, pinToCpu0 } from "../lib/machine.js";
import { clockTicksPerSecond, cpuTicks, machineBusyTicks, median } from "../lib/measure.js";
import { assertRunning, stopProcess } from "../lib/processes.js";
import { acrossRounds, matrixResults } from "../lib/rounds.js";
import { exitAfter, runBenchmark, setUpRun } from "../lib/run.js";
import { startGateway, startServer } from "../lib/server-process.js";
import { formatInt as formatInteger, msFormat, orDash } from "../lib/table.js";
import { writeForwardingConfig } from "./node-config.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

const ROUNDS = countFromEnv("FORWARDING_BENCH_ROUNDS", 5, 1);
const WARMUP_S = numberFromEnv("FORWARDING_BENCH_WARMUP_S", 1);
const MEASURE_S = Math.max(1, numberFromEnv("FORWARDING_BENCH_MEASURE_S", 3));
const DEADLINE_S = numberFromEnv("FORWARDING_BENCH_DEADLINE_S", 300);
const CONCURRENCY = 16;
const MODES = ["unary", "streaming"];
const TARGETS = ["direct", "forwarded"];
const CONCURRENCIES = [1, CONCURRENCY];
const TOKENS = 32;
const HEARTBEAT_MS = 200;
const ROUTE_WAIT_MS = 15_000;
const GOAL_ADDED_P50_MS = 1.0;
const KEY_PREFIX = `rakka-bench:${Date.now().toString(36)}-${randomUUID().slice(0, 8)}:`;
const OWNER_ID = "bench-owner";
const ENTRY_ID = "bench-entry";

const requestBodies = chatRequestBodies("bench", TOKENS);

// Every child is killed when this process exits, however it exits (redis-server by process group);
// every load has a fixed duration, every wait a bound, and FORWARDING_BENCH_DEADLINE_S bounds the run.
const tmpDir = setUpRun("rakka-bench-forwarding-");
const deadline = exitAfter(DEADLINE_S, "FORWARDING_BENCH_DEADLINE_S");
const pinning = pinToCpu0("FORWARDING_BENCH_PIN") ? { loadCpu: 0, gatewayCpu: 1 } : undefined;
const onLoadCpu = pinning?.loadCpu;
const onGatewayCpu = pinning?.gatewayCpu;

// ── checks ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Polls the entry with unary requests until one answers 200 (its routing copy has learned the
 * owner's engine): the milliseconds it took; fails after ROUTE_WAIT_MS with the last answer.
 */
async function waitForRoute(entry) {
  const started = Date.now();
  let last = "no answer";
  for (;;) {
    assertRunning(entry);
    const answer = await exchange(`${entry.url}${CHAT_PATH}`, "POST", requestBodies.unary).catch((error) => ({
      status: `error: ${error.message}`,
      body: "",
    }));
    if (answer.status === 200) return Date.now() - started;
    last = `HTTP ${answer.status}: ${answer.body}`;
    if (Date.now() - started > ROUTE_WAIT_MS)
      throw new Error(`the entry did not answer 200 for "bench" within ${ROUTE_WAIT_MS / 1000} s: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ── load ───────────────────────────────────────────────────────────────────────────────────────

/**
 * /proc readings around a load: CPU ticks of the owner, the entry, redis-server (ours only), the
 * upstream and the whole machine; the returned function turns them into per-request figures.
 */
function cpuReadings({ owner, entry, redis, upstream }) {
  const ticks = (tracked) => (tracked ? cpuTicks(tracked.pid) : 0);
  const before = {
    owner: ticks(owner),
    entry: ticks(entry),
    redis: ticks(redis),
    upstream: ticks(upstream),
    busy: machineBusyTicks(),
  };
  return ({ elapsed, ok, ownCpu }) => {
    const ownerTicks = ticks(owner) - before.owner;
    const entryTicks = ticks(entry) - before.entry;
    const redisTicks = ticks(redis) - before.redis;
    const upstreamTicks = ticks(upstream) - before.upstream;
    const busyTicks = machineBusyTicks() - before.busy;
    const perRequest = (value) => (ok > 0 ? (value * 1e6) / clockTicksPerSecond / ok : Number.NaN);
    const percent = (value) => (100 * value) / clockTicksPerSecond / elapsed;
    return {
      ownerCpuMicrosPerRequest: perRequest(ownerTicks),
      entryCpuMicrosPerRequest: perRequest(entryTicks),
      nodesCpuMicrosPerRequest: perRequest(ownerTicks + entryTicks),
      nodesCpuPercent: percent(ownerTicks + entryTicks),
      // CPU that neither the servers nor this process used: other processes on the machine
      otherCpuPercent: Math.max(
        0,
        percent(busyTicks - ownerTicks - entryTicks - redisTicks - upstreamTicks) -
          (ownCpu.user + ownCpu.system) / 1e4 / elapsed,
      ),
    };
  };
}

/** One load of `seconds` on the target's node: `connections` autocannon connections. */
function load(context, target, mode, connections, seconds) {
  const { owner, entry, upstream, redis } = context;
  const node = target === "direct" ? owner : entry;
  return autocannonLoad({
    url: `${node.url}${CHAT_PATH}`,
    body: requestBodies[mode],
    connections,
    seconds,
    processes: [owner, entry, upstream, ...(redis ? [redis] : [])],
    sample: () => cpuReadings({ owner, entry, redis, upstream }),
  });
}

const cell = (context, target, mode, connections) =>
  warmUpAndMeasure((seconds) => load(context, target, mode, connections, seconds), {
    warmupS: WARMUP_S,
    measureS: MEASURE_S,
    pid: undefined,
  });

// ── the rounds ─────────────────────────────────────────────────────────────────────────────────

const formatInt = orDash(formatInteger);
const formatMs = orDash(msFormat(3));
const rotate = (list, round) => list.map((_, i) => list[(i + round - 1) % list.length]);
const keyOf = (mode, connections, target) => `${mode} c${connections} ${target}`;

async function runRounds(context) {
  const { runs, record } = matrixResults(ROUNDS * MODES.length * CONCURRENCIES.length * TARGETS.length, 24);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      for (const connections of CONCURRENCIES) {
        for (const target of rotate(TARGETS, round)) {
          const result = await cell(context, target, mode, connections);
          console.error(
            `${record(round, keyOf(mode, connections, target), result)} ${formatInt(result.rps).padStart(6)} req/s ` +
              `p50 ${formatMs(result.p50)} p99 ${formatMs(result.p99)} ` +
              `owner ${formatInt(result.ownerCpuMicrosPerRequest)} µs/req, entry ${formatInt(result.entryCpuMicrosPerRequest)} µs/req ` +
              `(nodes ${result.nodesCpuPercent.toFixed(0)} %), autocannon ${result.loadgenCpuPercent.toFixed(0)} %, ` +
              `others ${result.otherCpuPercent.toFixed(0)} %` +
              (result.failed > 0 ? ` (${result.failed} failed/non-2xx)` : ""),
          );
        }
      }
    }
  }
  return runs;
}

// ── the report ─────────────────────────────────────────────────────────────────────────────────

function report(runs, routeMs) {
  const lines = [];
  lines.push(
    `median of ${ROUNDS} interleaved rounds; each cell ${WARMUP_S} s warm-up + ${MEASURE_S} s measured; ` +
      `${TOKENS} content chunks per answer; heartbeat_ms ${HEARTBEAT_MS}; the entry answered 200 for "bench" ` +
      `${routeMs} ms after it was ready; x-rakka-node ${OWNER_ID} on both targets' answers; ` +
      `CLK_TCK ${clockTicksPerSecond}; key_prefix ${KEY_PREFIX}`,
  );
  lines.push("");
  lines.push(
    "| mode | conc. | target | req/s | req/s min – max | p50 | p99 | owner CPU µs/req | entry CPU µs/req | " +
      "both nodes CPU µs/req | autocannon CPU | other processes' CPU (max) |",
  );
  lines.push("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  const medians = {};
  let failed = 0;
  for (const mode of MODES) {
    for (const connections of CONCURRENCIES) {
      for (const target of TARGETS) {
        const key = keyOf(mode, connections, target);
        const results = runs.get(key);
        failed += results.reduce((sum, result) => sum + result.failed, 0);
        const m = acrossRounds(results, {
          rps: ["median", "rps"],
          min: ["min", "rps"],
          max: ["max", "rps"],
          p50: ["median", "p50"],
          p99: ["median", "p99"],
          owner: ["median", "ownerCpuMicrosPerRequest"],
          entry: ["median", "entryCpuMicrosPerRequest"],
          nodes: ["median", "nodesCpuMicrosPerRequest"],
          loadgen: ["median", "loadgenCpuPercent"],
          others: ["max", "otherCpuPercent"],
        });
        medians[key] = m;
        lines.push(
          `| ${mode} | ${connections} | ${target} | ${formatInt(m.rps)} | ${formatInt(m.min)} – ${formatInt(m.max)} | ` +
            `${formatMs(m.p50)} | ${formatMs(m.p99)} | ${formatInt(m.owner)} | ${formatInt(m.entry)} | ` +
            `${formatInt(m.nodes)} | ${m.loadgen.toFixed(0)} % | ${m.others.toFixed(0)} % |`,
        );
      }
    }
  }
  lines.push("");
  const goals = [];
  for (const mode of MODES) {
    const direct = runs.get(keyOf(mode, 1, "direct"));
    const forwarded = runs.get(keyOf(mode, 1, "forwarded"));
    const perRound = forwarded.map((run, i) => run.p50 - direct[i].p50);
    const added = median(perRound);
    const ofMedians = medians[keyOf(mode, 1, "forwarded")].p50 - medians[keyOf(mode, 1, "direct")].p50;
    const addedP99 = medians[keyOf(mode, 1, "forwarded")].p99 - medians[keyOf(mode, 1, "direct")].p99;
    goals.push(
      `- ${mode}, c=1: p50 forwarded ${formatMs(medians[keyOf(mode, 1, "forwarded")].p50)} vs direct ` +
        `${formatMs(medians[keyOf(mode, 1, "direct")].p50)}: added p50, median of the rounds, ${formatMs(added)} ` +
        `(goal ≤ ${GOAL_ADDED_P50_MS} ms): ${added <= GOAL_ADDED_P50_MS ? "met" : "NOT met"}; per round ` +
        `${perRound.map((value) => value.toFixed(3)).join(", ")} ms; difference of the medians ${formatMs(ofMedians)}; ` +
        `added p99 ${formatMs(addedP99)}`,
    );
  }
  for (const mode of MODES) {
    const direct = medians[keyOf(mode, CONCURRENCY, "direct")];
    const forwarded = medians[keyOf(mode, CONCURRENCY, "forwarded")];
    goals.push(
      `- ${mode}, c=${CONCURRENCY}: ${formatInt(forwarded.rps)} req/s forwarded vs ${formatInt(direct.rps)} direct ` +
        `(÷ ${(forwarded.rps / direct.rps).toFixed(2)}); CPU per request forwarded: entry ${formatInt(forwarded.entry)} + ` +
        `owner ${formatInt(forwarded.owner)} µs, direct: owner ${formatInt(direct.owner)} µs (both nodes ÷ ` +
        `${(forwarded.nodes / direct.nodes).toFixed(2)}); both nodes on the same CPU: reported, no goal`,
    );
  }
  lines.push(...goals);
  if (failed > 0) lines.push(`WARNING: ${failed} requests failed or were not 2xx in the rounds; see stderr.`);
  return lines.join("\n");
}

// ── main ───────────────────────────────────────────────────────────────────────────────────────

async function main() {
  const placement = pinning
    ? `autocannon, the upstream and redis-server pinned to CPU ${onLoadCpu}, both nodes to CPU ${onGatewayCpu}`
    : "not pinned";
  console.log(describeMachine(placement));
  let redis;
  let upstream;
  const gateways = [];
  try {
    redis = await startRedis({ cpu: onLoadCpu });
    upstream = await startServer(
      "upstream",
      path.join(repoRoot, "bench", "remote-gateway", "upstream.js"),
      [],
      { cpu: onLoadCpu },
    );
    const start = async (name, nodeId, egress) => {
      const configFile = writeForwardingConfig(tmpDir, name, {
        upstreamUrl: upstream.url,
        cluster: { redisUrl: redis.url, nodeId, keyPrefix: KEY_PREFIX, heartbeatMs: HEARTBEAT_MS, egress },
      });
      const gateway = await startGateway(configFile, { cpu: onGatewayCpu });
      gateway.name = name;
      gateways.push(gateway);
      return gateway;
    };
    const owner = await start("owner", OWNER_ID, true);
    const entry = await start("entry", ENTRY_ID, false);
    console.error(
      `redis ${redis.external ? "(REDIS_URL)" : `(pid ${redis.tracked.pid})`}, upstream (pid ${upstream.pid}) ` +
        `${upstream.url}, ${gateways.map((g) => `${g.name} (pid ${g.pid}) ${g.url}`).join(", ")}`,
    );
    const routeMs = await waitForRoute(entry);
    console.error(`the entry answers 200 for "bench" after ${routeMs} ms`);
    await checkChatAnswers("owner", owner.url, requestBodies, TOKENS, { node: OWNER_ID });
    await checkChatAnswers("entry", entry.url, requestBodies, TOKENS, { node: OWNER_ID });
    const context = { owner, entry, upstream, redis: redis.tracked };
    // One unmeasured pass, so that no node meets its first load cold.
    for (const target of TARGETS)
      for (const mode of MODES) await load(context, target, mode, CONCURRENCY, Math.max(1, WARMUP_S));
    const runs = await runRounds(context);
    console.log(report(runs, routeMs));
  } finally {
    await Promise.all(gateways.map((gateway) => stopProcess(gateway)));
    await stopProcess(upstream);
    if (redis?.external)
      await deleteKeys(redis.url, KEY_PREFIX).catch((error) => console.error(error.message));
    await redis?.stop();
  }
}

await runBenchmark(main, () => clearTimeout(deadline));
