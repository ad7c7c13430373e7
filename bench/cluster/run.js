// Cluster benchmark (`npm run bench:cluster`): what a [cluster] table costs one `rakka serve`
// process. The same gateway config served twice, in memory (no [cluster]) and as a node on Redis
// (the shared rate-limit, circuit and spend stores), in front of the mock OpenAI upstream of the
// remote gateway benchmark (bench/remote-gateway/upstream.js, its own process, answering at once);
// unary and streaming chat completions (32 content chunks) with autocannon in this process:
//   - concurrency 16 against each: req/s, p50/p99, and the gateway's CPU per request (utime +
//     stime from /proc), the ratio cluster ÷ memory being the goal;
//   - concurrency 1 against each: the p50 the Redis round trips add to an unloaded request;
//   - concurrency 16 split over two Redis nodes (8 connections each, both nodes on the gateway
//     CPU): their aggregate req/s, reported only (on 2 CPUs they share one);
//   - Redis's INFO commandstats around each cluster cell: the commands per request on the hot path.
// The cells run interleaved (the targets back to back per mode, the order rotated each round)
// ROUNDS times; the table shows medians. Then the over-admission test (admission.js): three nodes
// on Redis hammered at once with requests to a deployment with requests_per_minute = N and
// on_capacity_exhausted = "reject"; the counting mock provider (src/testkit) is the upstream.
// Results are recorded in docs/benchmarks.md ("Cluster").
//
// Redis: $REDIS_URL when set (only this run's keys, under a unique key_prefix, are touched and
// deleted afterwards), else a private redis-server on a free loopback port, no persistence, in its
// own process group, killed at the end. CPU placement (2 CPUs): this process (autocannon), the
// upstream and redis-server on CPU 0, the gateways on CPU 1 (`taskset`).
//
// Progress goes to stderr, the results (markdown) to stdout. Knobs (environment):
//   CLUSTER_BENCH_ROUNDS (3), CLUSTER_BENCH_WARMUP_S (1), CLUSTER_BENCH_MEASURE_S (3),
//   CLUSTER_BENCH_LIMIT (N = 120 requests per minute for the over-admission test),
//   CLUSTER_BENCH_RPM (100000000: the never-reached request limit of the load's deployment; 0: none),
//   CLUSTER_BENCH_PIN (1; 0: no pinning), CLUSTER_BENCH_DEADLINE_S (420: everything is killed and
//   the run fails after this long), REDIS_URL.

import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { CHAT_PATH, chatRequestBodies, checkChatAnswers } from "../lib/chat-answers.js";
import { countFromEnv, numberFromEnv } from "../lib/knobs.js";
import { autocannonLoad, warmUpAndMeasure } from "../lib/load.js";
import { describeMachine, pinToCpu0 } from "../lib/machine.js";
import { clockTicksPerSecond, cpuTicks, machineBusyTicks } from "../lib/measure.js";
import { stopProcess } from "../lib/processes.js";
import { acrossRounds, matrixResults } from "../lib/rounds.js";
import { exitAfter, runBenchmark, setUpRun } from "../lib/run.js";
import { startGateway, startServer } from "../lib/server-process.js";
import { formatInt as formatInteger, msFormat, orDash } from "../lib/table.js";
import { admissionVerdict, hammer } from "./admission.js";
import { writeNodeConfig } from "./node-config.js";
import { deleteKeys, startRedis } from "./redis-server.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

const ROUNDS = countFromEnv("CLUSTER_BENCH_ROUNDS", 3, 1);
const WARMUP_S = numberFromEnv("CLUSTER_BENCH_WARMUP_S", 1);
const MEASURE_S = Math.max(1, numberFromEnv("CLUSTER_BENCH_MEASURE_S", 3));
const LIMIT = countFromEnv("CLUSTER_BENCH_LIMIT", 120, 1);
const BENCH_RPM = countFromEnv("CLUSTER_BENCH_RPM", 100_000_000);
const DEADLINE_S = numberFromEnv("CLUSTER_BENCH_DEADLINE_S", 420);
const CONCURRENCY = 16;
const MODES = ["unary", "streaming"];
const C16_TARGETS = ["memory", "cluster", "2 nodes"];
const C1_TARGETS = ["memory", "cluster"];
const TOKENS = 32;
const GOAL_CPU_RATIO = 1.18;
const GOAL_ADDED_P50_MS = 0.3;
const GOAL_ADMISSION = 1.0;
const KEY_PREFIX = `rakka-bench:${Date.now().toString(36)}-${randomUUID().slice(0, 8)}:`;

const requestBodies = chatRequestBodies("bench", TOKENS);

// Every child is killed when this process exits, however it exits (redis-server by process group);
// every load has a fixed duration or count, and CLUSTER_BENCH_DEADLINE_S bounds the whole run.
const tmpDir = setUpRun("rakka-bench-cluster-");
const deadline = exitAfter(DEADLINE_S, "CLUSTER_BENCH_DEADLINE_S");
const pinning = pinToCpu0("CLUSTER_BENCH_PIN") ? { loadCpu: 0, gatewayCpu: 1 } : undefined;
const onLoadCpu = pinning?.loadCpu;
const onGatewayCpu = pinning?.gatewayCpu;

// ── checks ─────────────────────────────────────────────────────────────────────────────────────

// ── Redis commands per request ─────────────────────────────────────────────────────────────────

/** INFO commandstats as command → { calls, usec }; undefined without a monitor connection. */
async function commandStats(monitor) {
  if (!monitor) return undefined;
  const stats = new Map();
  for (const line of (await monitor.info("commandstats")).split("\r\n")) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (match) stats.set(match[1], { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

/** Calls and server µs per command between two readings, INFO itself left out. */
function commandDelta(before, after) {
  if (!before || !after) return undefined;
  const delta = new Map();
  for (const [command, { calls, usec }] of after) {
    if (command === "info") continue;
    const was = before.get(command) ?? { calls: 0, usec: 0 };
    if (calls > was.calls) delta.set(command, { calls: calls - was.calls, usec: usec - was.usec });
  }
  return delta;
}

// ── load ───────────────────────────────────────────────────────────────────────────────────────

/**
 * /proc readings around a load: CPU ticks of the gateways, Redis (ours only), the upstream and the
 * whole machine; the returned function turns them into per-request figures for `ok` requests.
 */
function cpuReadings({ gateways, redis, upstream }) {
  const ticks = (pids) => pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const gatewayPids = gateways.map((gateway) => gateway.pid);
  const redisPids = redis ? [redis.pid] : [];
  const before = {
    gateways: ticks(gatewayPids),
    redis: ticks(redisPids),
    upstream: ticks([upstream.pid]),
    busy: machineBusyTicks(),
  };
  return ({ elapsed, ok, ownCpu }) => {
    const gatewayTicks = ticks(gatewayPids) - before.gateways;
    const redisTicks = ticks(redisPids) - before.redis;
    const upstreamTicks = ticks([upstream.pid]) - before.upstream;
    const busyTicks = machineBusyTicks() - before.busy;
    const perRequest = (value) => (ok > 0 ? (value * 1e6) / clockTicksPerSecond / ok : Number.NaN);
    const percent = (value) => (100 * value) / clockTicksPerSecond / elapsed;
    return {
      gatewayCpuMicrosPerRequest: perRequest(gatewayTicks),
      redisCpuMicrosPerRequest: redis ? perRequest(redisTicks) : Number.NaN,
      gatewayCpuPercent: percent(gatewayTicks),
      // CPU that neither the servers nor this process used: other processes on the machine
      otherCpuPercent: Math.max(
        0,
        percent(busyTicks - gatewayTicks - redisTicks - upstreamTicks) -
          (ownCpu.user + ownCpu.system) / 1e4 / elapsed,
      ),
    };
  };
}

/**
 * One load of `seconds` on `target` ({ gateways, onRedis }): `connections` split evenly over its
 * gateways, one autocannon each, all at once; req/s summed, latencies from the first gateway
 * alone when there are several (reported as "—").
 */
async function load(context, target, mode, connections, seconds) {
  const { upstream, redis, monitor } = context;
  const processes = [...target.gateways, upstream, ...(redis ? [redis] : [])];
  const statsBefore = target.onRedis ? await commandStats(monitor) : undefined;
  const ownBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  const finish = cpuReadings({
    gateways: target.gateways,
    redis: target.onRedis ? redis : undefined,
    upstream,
  });
  const share = connections / target.gateways.length;
  const results = await Promise.all(
    target.gateways.map((gateway) =>
      autocannonLoad({
        url: `${gateway.url}${CHAT_PATH}`,
        body: requestBodies[mode],
        connections: share,
        seconds,
        processes,
        sample: () => () => ({}),
      }),
    ),
  );
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const ok = results.reduce((sum, result) => sum + result.requests, 0);
  const readings = finish({ elapsed, ok, ownCpu: process.cpuUsage(ownBefore) });
  const commands = target.onRedis ? commandDelta(statsBefore, await commandStats(monitor)) : undefined;
  const single = results.length === 1;
  return {
    requests: ok,
    failed: results.reduce((sum, result) => sum + result.failed, 0),
    rps: results.reduce((sum, result) => sum + result.rps, 0),
    p50: single ? results[0].p50 : Number.NaN,
    p99: single ? results[0].p99 : Number.NaN,
    loadgenCpuPercent: results.reduce((sum, result) => sum + result.loadgenCpuPercent, 0) / results.length,
    ...readings,
    commandsPerRequest: commands
      ? [...commands].reduce((sum, [, { calls }]) => sum + calls, 0) / Math.max(1, ok)
      : Number.NaN,
    commands,
  };
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
const formatFixed = (digits) => orDash((value) => value.toFixed(digits));
const rotate = (list, round) => list.map((_, i) => list[(i + round - 1) % list.length]);

async function runRounds(context, targets) {
  const cells = MODES.length * (C16_TARGETS.length + C1_TARGETS.length);
  const { runs, record } = matrixResults(ROUNDS * cells, 26);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      for (const [connections, names] of [
        [CONCURRENCY, C16_TARGETS],
        [1, C1_TARGETS],
      ]) {
        for (const name of rotate(names, round)) {
          const result = await cell(context, targets[name], mode, connections);
          console.error(
            `${record(round, `${mode} c${connections} ${name}`, result)} ${formatInt(result.rps).padStart(6)} req/s ` +
              `p50 ${formatMs(result.p50)} p99 ${formatMs(result.p99)} ` +
              `gateway ${formatInt(result.gatewayCpuMicrosPerRequest)} µs/req (${result.gatewayCpuPercent.toFixed(0)} %), ` +
              `redis ${formatInt(result.redisCpuMicrosPerRequest)} µs/req, ` +
              `${formatFixed(2)(result.commandsPerRequest)} Redis commands/req, ` +
              `autocannon ${result.loadgenCpuPercent.toFixed(0)} %, others ${result.otherCpuPercent.toFixed(0)} %` +
              (result.failed > 0 ? ` (${result.failed} failed/non-2xx)` : ""),
          );
        }
      }
    }
  }
  return runs;
}

// ── the report ─────────────────────────────────────────────────────────────────────────────────

/** Redis commands per request of a row, over all its rounds: "evalsha 3.00 (4.1 µs), hmget 2.00 (…)". */
function commandMix(results) {
  const total = new Map();
  let requests = 0;
  for (const result of results) {
    if (!result.commands) continue;
    requests += result.requests;
    for (const [command, { calls, usec }] of result.commands) {
      const sum = total.get(command) ?? { calls: 0, usec: 0 };
      total.set(command, { calls: sum.calls + calls, usec: sum.usec + usec });
    }
  }
  if (requests === 0) return "—";
  return [...total]
    .sort(([, a], [, b]) => b.calls - a.calls)
    .filter(([, { calls }]) => calls / requests >= 0.005)
    .map(
      ([command, { calls, usec }]) =>
        `${command} ${(calls / requests).toFixed(2)} (${(usec / calls).toFixed(1)} µs)`,
    )
    .join(", ");
}

function report(runs, admission) {
  const lines = [];
  lines.push(
    `median of ${ROUNDS} interleaved rounds; each cell ${WARMUP_S} s warm-up + ${MEASURE_S} s measured; ` +
      `${TOKENS} content chunks per answer; CLK_TCK ${clockTicksPerSecond}; key_prefix ${KEY_PREFIX}`,
  );
  lines.push("");
  lines.push(
    "| mode | conc. | target | req/s | req/s min – max | p50 | p99 | gateway CPU µs/req | Redis CPU µs/req | " +
      "Redis commands/req | autocannon CPU | other processes' CPU (max) |",
  );
  lines.push("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  const medians = {};
  let failed = 0;
  for (const mode of MODES) {
    for (const [connections, names] of [
      [CONCURRENCY, C16_TARGETS],
      [1, C1_TARGETS],
    ]) {
      for (const name of names) {
        const key = `${mode} c${connections} ${name}`;
        const results = runs.get(key);
        failed += results.reduce((sum, result) => sum + result.failed, 0);
        const m = acrossRounds(results, {
          rps: ["median", "rps"],
          min: ["min", "rps"],
          max: ["max", "rps"],
          p50: ["median", "p50"],
          p99: ["median", "p99"],
          cpu: ["median", "gatewayCpuMicrosPerRequest"],
          redisCpu: ["median", "redisCpuMicrosPerRequest"],
          commands: ["median", "commandsPerRequest"],
          loadgen: ["median", "loadgenCpuPercent"],
          others: ["max", "otherCpuPercent"],
        });
        medians[key] = m;
        lines.push(
          `| ${mode} | ${connections} | ${name} | ${formatInt(m.rps)} | ${formatInt(m.min)} – ${formatInt(m.max)} | ` +
            `${formatMs(m.p50)} | ${formatMs(m.p99)} | ${formatInt(m.cpu)} | ${formatInt(m.redisCpu)} | ` +
            `${formatFixed(2)(m.commands)} | ${m.loadgen.toFixed(0)} % | ${m.others.toFixed(0)} % |`,
        );
      }
    }
  }
  lines.push("");
  lines.push("Redis commands per request on a node on Redis (calls per request, Redis's own µs per call):");
  lines.push("");
  for (const mode of MODES)
    lines.push(
      `- ${mode}, c=${CONCURRENCY}, one node: ${commandMix(runs.get(`${mode} c${CONCURRENCY} cluster`))}`,
    );
  lines.push("");
  const goals = [];
  for (const mode of MODES) {
    const key = (name, connections = CONCURRENCY) => `${mode} c${connections} ${name}`;
    const ratio = medians[key("cluster")].cpu / medians[key("memory")].cpu;
    const perRound = runs
      .get(key("cluster"))
      .map((run, i) =>
        (run.gatewayCpuMicrosPerRequest / runs.get(key("memory"))[i].gatewayCpuMicrosPerRequest).toFixed(2),
      )
      .join(", ");
    goals.push(
      `- ${mode}, c=${CONCURRENCY}: gateway CPU per request cluster ÷ memory ${ratio.toFixed(2)} ` +
        `(${formatInt(medians[key("cluster")].cpu)} vs ${formatInt(medians[key("memory")].cpu)} µs; goal ≤ ` +
        `${GOAL_CPU_RATIO.toFixed(2)}): ${ratio <= GOAL_CPU_RATIO ? "met" : "NOT met"}; per round ${perRound}; ` +
        `req/s cluster ÷ memory ${(medians[key("cluster")].rps / medians[key("memory")].rps).toFixed(2)}`,
    );
  }
  for (const mode of MODES) {
    const key = (name, connections) => `${mode} c${connections} ${name}`;
    const added = medians[key("cluster", 1)].p50 - medians[key("memory", 1)].p50;
    const addedLoaded = medians[key("cluster", CONCURRENCY)].p50 - medians[key("memory", CONCURRENCY)].p50;
    goals.push(
      `- ${mode}, c=1: p50 cluster ${formatMs(medians[key("cluster", 1)].p50)} vs memory ` +
        `${formatMs(medians[key("memory", 1)].p50)}: added ${formatMs(added)} (goal ≤ ${GOAL_ADDED_P50_MS} ms): ` +
        `${added <= GOAL_ADDED_P50_MS ? "met" : "NOT met"}; at c=${CONCURRENCY} the p50 differs by ${formatMs(addedLoaded)}`,
    );
  }
  for (const mode of MODES) {
    const key = (name) => `${mode} c${CONCURRENCY} ${name}`;
    goals.push(
      `- ${mode}, c=${CONCURRENCY} over two nodes on Redis: ${formatInt(medians[key("2 nodes")].rps)} req/s together ` +
        `(one node on Redis ${formatInt(medians[key("cluster")].rps)}, in memory ${formatInt(medians[key("memory")].rps)}; ` +
        `both nodes on the same CPU): reported, no goal`,
    );
  }
  const verdict = admission.verdict;
  const statuses = [...admission.burst.statuses].map(([status, count]) => `${status}: ${count}`).join(", ");
  const refusals = [...admission.burst.refusals].map(([code, count]) => `${code}: ${count}`).join(", ");
  goals.push(
    `- over-admission, 3 nodes on Redis, requests_per_minute = ${LIMIT}, on_capacity_exhausted = "reject": ` +
      `${admission.burst.sent} requests (${admission.perNode} per node, ${CONCURRENCY} in flight per node) in ` +
      `${admission.burst.elapsedS.toFixed(2)} s; the upstream received ${verdict.admitted}, the limit allows ` +
      `${verdict.allowed} (${LIMIT} + the refill of ${LIMIT}/60 per second over the burst, rounded down): ` +
      `upstream-admitted ÷ limit ${verdict.ratio.toFixed(2)} (goal ${GOAL_ADMISSION.toFixed(2)}): ` +
      `${verdict.admitted <= verdict.allowed && verdict.admitted >= LIMIT ? "met" : "NOT met"}; ` +
      `÷ ${LIMIT} alone ${verdict.rawRatio.toFixed(3)}; answers ${statuses}; 429 codes ${refusals || "none"}`,
  );
  lines.push(...goals);
  if (failed > 0) lines.push(`WARNING: ${failed} requests failed or were not 2xx in the rounds; see stderr.`);
  return lines.join("\n");
}

// ── main ───────────────────────────────────────────────────────────────────────────────────────

async function admissionTest(nodes, counting) {
  const perNode = LIMIT;
  const before = counting.arrivals;
  const burst = await hammer(
    nodes.map((node) => node.url),
    { perNode, concurrency: CONCURRENCY, deadlineMs: 30_000 },
  );
  const admitted = counting.arrivals - before;
  const ok = burst.statuses.get(200) ?? 0;
  if (ok !== admitted)
    console.error(`over-admission: ${ok} answers 200 but the upstream received ${admitted} requests`);
  return { perNode, burst, verdict: admissionVerdict({ admitted, limit: LIMIT, elapsedS: burst.elapsedS }) };
}

async function main() {
  const placement = pinning
    ? `autocannon, the upstream and redis-server pinned to CPU ${onLoadCpu}, the gateways to CPU ${onGatewayCpu}`
    : "not pinned";
  console.log(describeMachine(placement));
  const { startMockProvider } = await import(path.join(repoRoot, "dist", "testkit", "index.js"));
  let redis;
  let monitor;
  let counting;
  let upstream;
  const gateways = [];
  try {
    redis = await startRedis({ cpu: onLoadCpu });
    monitor = new Redis(redis.url, {
      connectTimeout: 10_000,
      commandTimeout: 10_000,
      maxRetriesPerRequest: 1,
    });
    counting = await startMockProvider();
    upstream = await startServer(
      "upstream",
      path.join(repoRoot, "bench", "remote-gateway", "upstream.js"),
      [],
      {
        cpu: onLoadCpu,
      },
    );
    const config = (name, cluster) =>
      writeNodeConfig(tmpDir, name, {
        upstreamUrl: upstream.url,
        countingUrl: counting.url,
        benchRpm: BENCH_RPM,
        limitRpm: LIMIT,
        cluster,
      });
    const onRedis = (nodeId) => ({ redisUrl: redis.url, nodeId, keyPrefix: KEY_PREFIX });
    const start = async (name, configFile) => {
      const gateway = await startGateway(configFile, { cpu: onGatewayCpu });
      gateway.name = name;
      gateways.push(gateway);
      return gateway;
    };
    const memory = await start("memory", config("memory", undefined));
    const nodeA = await start("node-a", config("node-a", onRedis("bench-node-a")));
    const nodeB = await start("node-b", config("node-b", onRedis("bench-node-b")));
    console.error(
      `redis ${redis.external ? "(REDIS_URL)" : `(pid ${redis.tracked.pid})`}, upstream (pid ${upstream.pid}) ` +
        `${upstream.url}, ${gateways.map((g) => `${g.name} (pid ${g.pid}) ${g.url}`).join(", ")}`,
    );
    for (const gateway of gateways) await checkChatAnswers(gateway.name, gateway.url, requestBodies, TOKENS);
    const context = { upstream, redis: redis.tracked, monitor };
    const targets = {
      memory: { gateways: [memory], onRedis: false },
      cluster: { gateways: [nodeA], onRedis: true },
      "2 nodes": { gateways: [nodeA, nodeB], onRedis: true },
    };
    // One unmeasured pass, so that no gateway meets its first load cold.
    for (const name of ["memory", "2 nodes"])
      for (const mode of MODES) await load(context, targets[name], mode, CONCURRENCY, Math.max(1, WARMUP_S));
    const runs = await runRounds(context, targets);
    await stopProcess(memory);
    const nodeC = await start("node-c", config("node-c", onRedis("bench-node-c")));
    console.error(`over-admission: ${LIMIT} requests to each of 3 nodes at once, limit ${LIMIT} per minute`);
    const admission = await admissionTest([nodeA, nodeB, nodeC], counting);
    console.error(
      `over-admission: upstream received ${admission.verdict.admitted} of ${admission.burst.sent} in ` +
        `${admission.burst.elapsedS.toFixed(2)} s (allowed ${admission.verdict.allowed})`,
    );
    console.log(report(runs, admission));
  } finally {
    await Promise.all(gateways.map((gateway) => stopProcess(gateway)));
    await stopProcess(upstream);
    await counting?.close();
    if (redis?.external)
      await deleteKeys(redis.url, KEY_PREFIX).catch((error) => console.error(error.message));
    monitor?.disconnect();
    await redis?.stop();
  }
}

await runBenchmark(main, () => clearTimeout(deadline));
