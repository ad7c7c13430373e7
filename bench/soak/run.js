// Soak harness (`npm run bench:soak`): `rakka serve` (its own process group) with mock
// deployments that fail, stall and pace, and openai-compatible deployments in front of the
// testkit's mock upstream in this process (5xx, 429, stalls, cut streams); see soak-config.js.
// SOAK_CONCURRENCY workers send a seeded mix of requests (request-kinds.js) for SOAK_SECONDS over a
// keep-alive undici Pool and over fresh connections: successes (unary and stream), failures
// before and after commit, stalls past the deadline, client aborts, unknown models, oversize and
// invalid bodies. Every answer is checked against its documented outcome; afterwards the
// gateway's rakka_requests_total is compared with what was sent, and its open file descriptors
// with those before the load. RSS (and the heap, when /metrics exports it) is sampled throughout.
//
// The summary goes to stdout, progress to stderr; the results as JSON to SOAK_JSON when set. Exit
// code 0 only when the goals hold: 0 lost, 0 double-ended, 0 hung, 0 unexpected, the metrics
// equal to what was sent, the fd count back within SOAK_FD_TOLERANCE, the server alive to the end.
// Knobs (environment): SOAK_SECONDS (120), SOAK_CONCURRENCY (32), SOAK_SEED (1),
// SOAK_MAX_REQUESTS (2000 per second of SOAK_SECONDS), SOAK_FRESH_SHARE (0.3 of the requests on a
// fresh connection), SOAK_HANG_MARGIN_MS (3000 past the request deadline), SOAK_SAMPLE_MS (1000),
// SOAK_FD_TOLERANCE (8), SOAK_JSON (unset), SOAK_DEADLINE_S (SOAK_SECONDS + 180: everything is
// killed and the run fails after this long).

import { writeFileSync } from "node:fs";
import { exchange } from "../lib/http.js";
import { countFromEnv, numberFromEnv } from "../lib/knobs.js";
import { describeMachine } from "../lib/machine.js";
import { median } from "../lib/measure.js";
import { killGroupAtExit, ownGroup, stopGroup } from "../lib/process-group.js";
import { exitAfter, runBenchmark, setUpRun } from "../lib/run.js";
import { startGateway } from "../lib/server-process.js";
import { formatInt, formatMib } from "../lib/table.js";
import { keepAlivePool, send } from "./client.js";
import { classify, planRequest, requestKinds } from "./request-kinds.js";
import {
  byOutcome,
  countsBetween,
  fdKinds,
  openFds,
  rssKib,
  scrapeMetrics,
  socketsToPort,
} from "./server-readings.js";
import { soakServer, writeSoakConfig } from "./soak-config.js";
import { startSoakUpstream } from "./upstream.js";

const SECONDS = numberFromEnv("SOAK_SECONDS", 120);
const CONCURRENCY = countFromEnv("SOAK_CONCURRENCY", 32, 1);
const SEED = countFromEnv("SOAK_SEED", 1);
const MAX_REQUESTS = countFromEnv("SOAK_MAX_REQUESTS", Math.max(1000, SECONDS * 2000), 1);
const FRESH_SHARE = Math.min(1, numberFromEnv("SOAK_FRESH_SHARE", 0.3));
const HANG_MARGIN_MS = numberFromEnv("SOAK_HANG_MARGIN_MS", 3000);
const SAMPLE_MS = Math.max(100, numberFromEnv("SOAK_SAMPLE_MS", 1000));
const FD_TOLERANCE = countFromEnv("SOAK_FD_TOLERANCE", 8);
const DEADLINE_S = numberFromEnv("SOAK_DEADLINE_S", SECONDS + 180);
const JSON_PATH = process.env.SOAK_JSON || undefined;
const HANG_AFTER_MS = soakServer.requestTimeoutMs + HANG_MARGIN_MS;
const KEPT_FAILURES = 40;
const VERDICTS = ["verified", "unexpected", "lost", "double-ended", "hung"];

const tmpDir = setUpRun("rakka-soak-");
const deadline = exitAfter(DEADLINE_S, "SOAK_DEADLINE_S");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (line) => process.stderr.write(`${line}\n`);

/** mulberry32: the same sequence for the same seed (each worker has its own). */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// ── the record of what every client got ───────────────────────────────────────────────────────

function newTally() {
  return {
    sent: 0,
    byKind: new Map(requestKinds.map((kind) => [kind.name, Object.fromEntries(VERDICTS.map((v) => [v, 0]))])),
    byVerdict: Object.fromEntries(VERDICTS.map((verdict) => [verdict, 0])),
    byTransport: { "keep-alive": 0, fresh: 0 },
    cancelled: 0,
    /** "deployment outcome" → requests whose count /metrics must show. */
    expected: new Map(),
    /** Client aborts at a random time: counted as cancelled, as success, or (body unread) not at all. */
    uncertain: 0,
    /** Refused before counting (413, invalid JSON). */
    notCounted: 0,
    failures: [],
  };
}

function record(tally, plan, seen, result) {
  tally.byVerdict[result.verdict]++;
  tally.byKind.get(plan.kind)[result.verdict]++;
  if (result.verdict !== "verified") {
    if (tally.failures.length < KEPT_FAILURES)
      tally.failures.push({
        verdict: result.verdict,
        kind: plan.kind,
        stream: plan.stream,
        transport: plan.transport,
        worker: plan.worker,
        sequence: plan.sequence,
        status: seen.status,
        elapsedMs: Math.round(seen.elapsedMs),
        detail: result.detail,
      });
    return;
  }
  if (result.outcome === "cancelled") tally.cancelled++;
  if (result.counting === "none") tally.notCounted++;
  else if (result.counting === "uncertain") tally.uncertain++;
  else {
    const key = `${plan.label} ${result.outcome}`;
    tally.expected.set(key, (tally.expected.get(key) ?? 0) + 1);
  }
}

// ── the load ──────────────────────────────────────────────────────────────────────────────────

async function runLoad(gatewayUrl, upstream, tally) {
  const pool = keepAlivePool(gatewayUrl, CONCURRENCY);
  const endAt = Date.now() + SECONDS * 1000;
  const forgetting = setInterval(() => upstream.forget(), 5000);
  const reporting = setInterval(() => {
    const left = Math.max(0, Math.round((endAt - Date.now()) / 1000));
    progress(`  ${formatInt(tally.sent)} sent, ${JSON.stringify(tally.byVerdict)}, ${left} s left`);
  }, 10_000);
  const worker = async (index) => {
    const random = seededRandom(Math.imul(SEED + 1, 0x9e3779b1) + index);
    for (let sequence = 0; Date.now() < endAt && tally.sent < MAX_REQUESTS; sequence++) {
      tally.sent++;
      const plan = planRequest(random, { baseUrl: gatewayUrl, freshShare: FRESH_SHARE });
      plan.worker = index;
      plan.sequence = sequence;
      tally.byTransport[plan.transport]++;
      const seen = await send(plan.target, {
        pool: plan.transport === "keep-alive" ? pool : undefined,
        abort: plan.abort,
        hangAfterMs: HANG_AFTER_MS,
      });
      record(tally, plan, seen, classify(seen, plan));
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, index) => worker(index)));
  } finally {
    clearInterval(forgetting);
    clearInterval(reporting);
    await pool.close();
  }
}

// ── readings over time ────────────────────────────────────────────────────────────────────────

function startSampling(gateway) {
  const samples = [];
  const startedAt = Date.now();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const sample = {
        t: (Date.now() - startedAt) / 1000,
        rssKib: rssKib(gateway.pid),
        fds: openFds(gateway.pid),
      };
      const metrics = await scrapeMetrics(gateway.url).catch(() => undefined);
      if (metrics?.heapUsedBytes !== undefined) sample.heapUsedBytes = metrics.heapUsedBytes;
      samples.push(sample);
      await sleep(SAMPLE_MS);
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Scrapes until the counts stop changing (two scrapes alike, 250 ms apart) or 5 s have passed. */
async function settledMetrics(url) {
  let last = await scrapeMetrics(url);
  for (const until = Date.now() + 5000; Date.now() < until; ) {
    await sleep(250);
    const next = await scrapeMetrics(url);
    const same =
      next.requests.size === last.requests.size &&
      [...next.requests].every(([key, value]) => last.requests.get(key) === value);
    last = next;
    if (same) break;
  }
  return last;
}

/**
 * The fd count once it is back to `before` (idle keep-alive connections, the gateway's to the
 * upstream included, close after their timeouts), or what it is after 15 s.
 */
async function settledFds(pid, before) {
  let count = openFds(pid);
  for (const until = Date.now() + 15_000; count > before && Date.now() < until; ) {
    await sleep(500);
    count = openFds(pid);
  }
  return count;
}

/**
 * /metrics against what was sent, per outcome: equal, except that uncertain aborts may show as
 * cancelled or success or not at all, and requests that were lost, hung or unexpected (whose
 * count cannot be predicted) may explain that many differences.
 */
function compareMetrics(tally, delta) {
  const expected = byOutcome(tally.expected);
  const observed = byOutcome(delta);
  const outcomes = [...new Set([...expected.keys(), ...observed.keys()])].sort();
  const rows = outcomes.map((outcome) => {
    const sent = expected.get(outcome) ?? 0;
    const range = outcome === "cancelled" || outcome === "success" ? tally.uncertain : 0;
    return { outcome, sent, allowed: [sent, sent + range], metrics: observed.get(outcome) ?? 0 };
  });
  const diff = (outcome) => (observed.get(outcome) ?? 0) - (expected.get(outcome) ?? 0);
  let excess = 0;
  for (const { outcome } of rows)
    if (outcome !== "cancelled" && outcome !== "success") excess += Math.abs(diff(outcome));
  const extra = Math.max(0, diff("cancelled")) + Math.max(0, diff("success"));
  excess += Math.max(0, -diff("cancelled")) + Math.max(0, -diff("success"));
  excess += Math.max(0, extra - tally.uncertain);
  const unpredictable = tally.byVerdict.lost + tally.byVerdict.hung + tally.byVerdict.unexpected;
  return {
    rows,
    uncertainAborts: tally.uncertain,
    uncountedAborts: Math.max(0, tally.uncertain - extra),
    notCounted: tally.notCounted,
    unexplained: excess,
    unpredictable,
    match: excess === 0,
  };
}

// ── the run ───────────────────────────────────────────────────────────────────────────────────

function memorySummary(samples) {
  const rss = samples.map((sample) => sample.rssKib).filter(Number.isFinite);
  const quarter = Math.max(1, Math.floor(rss.length / 4));
  const heap = samples.map((sample) => sample.heapUsedBytes).filter((value) => value !== undefined);
  return {
    rssFirstKib: rss[0],
    rssPeakKib: Math.max(...rss),
    rssLastKib: rss.at(-1),
    rssFirstQuarterMedianKib: median(rss.slice(0, quarter)),
    rssLastQuarterMedianKib: median(rss.slice(-quarter)),
    heap:
      heap.length > 0
        ? {
            source: "nodejs_heap_size_used_bytes",
            firstBytes: heap[0],
            peakBytes: Math.max(...heap),
            lastBytes: heap.at(-1),
          }
        : "not exported by the server (/metrics has no process metrics): RSS only",
  };
}

/** About ten "t s: RSS" points spread over the samples. */
function rssOverTime(samples) {
  const step = Math.max(1, Math.ceil(samples.length / 10));
  return samples
    .filter((_, index) => index % step === 0 || index === samples.length - 1)
    .map((sample) => `${Math.round(sample.t)} s ${(sample.rssKib / 1024).toFixed(0)}`)
    .join(", ")
    .concat(" MiB");
}

function printSummary(results) {
  const { requests, metrics, memory, fds } = results;
  const lines = [
    "## Soak",
    "",
    `${describeMachine("no pinning")}`,
    `SOAK_SECONDS=${SECONDS} SOAK_CONCURRENCY=${CONCURRENCY} SOAK_SEED=${SEED}; request_timeout_ms ${soakServer.requestTimeoutMs}, max_body_bytes ${soakServer.maxBodyBytes}`,
    "",
    `requests sent: ${formatInt(requests.sent)} (keep-alive ${formatInt(requests.byTransport["keep-alive"])}, fresh connections ${formatInt(requests.byTransport.fresh)}; ${formatInt(requests.sent / SECONDS)}/s)`,
    `terminal outcomes verified: ${formatInt(requests.byVerdict.verified)} of ${formatInt(requests.sent)} (of which cancelled by the client: ${formatInt(requests.cancelled)})`,
    `unexpected: ${requests.byVerdict.unexpected}, lost: ${requests.byVerdict.lost}, double-ended: ${requests.byVerdict["double-ended"]}, hung: ${requests.byVerdict.hung}`,
    "",
    "| kind | verified | unexpected | lost | double-ended | hung |",
    "|---|--:|--:|--:|--:|--:|",
    ...Object.entries(requests.byKind).map(
      ([kind, counts]) =>
        `| ${kind} | ${VERDICTS.map((verdict) => formatInt(counts[verdict])).join(" | ")} |`,
    ),
    "",
    `rakka_requests_total by outcome, sent vs /metrics (${metrics.notCounted} refused before counting: 413 and invalid JSON; ${metrics.uncertainAborts} aborts at a random time, of which ${metrics.uncountedAborts} not counted):`,
    "",
    "| outcome | sent (certain) | allowed | /metrics |",
    "|---|--:|--:|--:|",
    ...metrics.rows.map(
      ({ outcome, sent, allowed: [low, high], metrics: count }) =>
        `| ${outcome} | ${formatInt(sent)} | ${low === high ? formatInt(low) : `${formatInt(low)}–${formatInt(high)}`} | ${formatInt(count)} |`,
    ),
    "",
    `metrics match: ${metrics.match ? "yes" : `no (${metrics.unexplained} unexplained)`}`,
    `RSS: ${formatMib(memory.rssFirstKib)} at the start, peak ${formatMib(memory.rssPeakKib)}, ${formatMib(memory.rssLastKib)} at the end (median first quarter ${formatMib(memory.rssFirstQuarterMedianKib)}, last quarter ${formatMib(memory.rssLastQuarterMedianKib)})`,
    `RSS over time: ${rssOverTime(results.memory.samples)}`,
    `heap: ${typeof memory.heap === "string" ? memory.heap : `${formatMib(memory.heap.firstBytes / 1024)} → peak ${formatMib(memory.heap.peakBytes / 1024)} → ${formatMib(memory.heap.lastBytes / 1024)}`}`,
    `open fds: ${fds.before} before, ${fds.peak} peak, ${fds.after} after, of which idle pooled connections to the upstream ${fds.upstreamPooledBefore} → ${fds.upstreamPooledAfter} (tolerance ${FD_TOLERANCE} for the rest); before ${JSON.stringify(fds.kindsBefore)}, after ${JSON.stringify(fds.kindsAfter)}`,
    `server: ${results.server.healthyAtEnd ? "answered /healthz at the end" : "did NOT answer /healthz at the end"}; exit after SIGTERM: ${results.server.exit}`,
  ];
  if (requests.failures.length > 0) {
    lines.push("", `first ${requests.failures.length} failures:`);
    for (const failure of requests.failures) lines.push(`- ${JSON.stringify(failure)}`);
  }
  lines.push("", results.verdictLine);
  process.stdout.write(`${lines.join("\n")}\n`);
}

let finalCode = 1;

async function main() {
  const upstream = await startSoakUpstream();
  const configFile = writeSoakConfig(tmpDir, upstream.url);
  progress(`starting rakka serve (${configFile}); upstream ${upstream.url}`);
  const gateway = await startGateway(configFile, { spawnOptions: ownGroup });
  killGroupAtExit(gateway);
  const fdsBefore = openFds(gateway.pid);
  const pooledBefore = socketsToPort(gateway.pid, Number(new URL(upstream.url).port));
  const fdKindsBefore = fdKinds(gateway.pid);
  const metricsBefore = await scrapeMetrics(gateway.url);
  progress(
    `gateway ${gateway.url} (pid ${gateway.pid}, ${fdsBefore} fds); ${SECONDS} s at concurrency ${CONCURRENCY}, seed ${SEED}`,
  );

  const tally = newTally();
  const sampling = startSampling(gateway);
  try {
    await runLoad(gateway.url, upstream, tally);
  } finally {
    await sampling.stop();
  }
  progress(`load done: ${formatInt(tally.sent)} sent; settling`);
  const metricsAfter = await settledMetrics(gateway.url);
  const fdsAfter = await settledFds(gateway.pid, fdsBefore);
  const fdKindsAfter = fdKinds(gateway.pid);
  // the gateway's pools keep idle connections to the upstream for their keep-alive time (bounded
  // by each deployment's max_concurrent): not a leak, so they are counted apart
  const upstreamPort = Number(new URL(upstream.url).port);
  const pooledAfter = socketsToPort(gateway.pid, upstreamPort);
  const upstreamConnectionsAfter = upstream.openConnections;
  const health = await exchange(`${gateway.url}/healthz`, "GET").catch(() => undefined);
  const stopped = await stopGroup(gateway, { timeoutMs: 15_000 });
  await upstream.close();

  const delta = countsBetween(metricsBefore, metricsAfter);
  const metrics = compareMetrics(tally, delta);
  const fds = {
    before: fdsBefore,
    peak: Math.max(fdsBefore, ...sampling.samples.map((sample) => sample.fds).filter(Number.isFinite)),
    after: fdsAfter,
    kindsBefore: fdKindsBefore,
    kindsAfter: fdKindsAfter,
    upstreamPooledBefore: pooledBefore,
    upstreamPooledAfter: pooledAfter,
    ok: Number.isFinite(fdsAfter) && fdsAfter - pooledAfter <= fdsBefore - pooledBefore + FD_TOLERANCE,
  };
  const server = {
    healthyAtEnd: health?.status === 200,
    exit: stopped.late ? `killed (no exit within 15 s of SIGTERM: ${stopped.exit})` : stopped.exit,
    cleanExit: !stopped.late && stopped.exit === "code 0",
  };
  const goals = {
    noLost: tally.byVerdict.lost === 0,
    noDoubleEnded: tally.byVerdict["double-ended"] === 0,
    noHung: tally.byVerdict.hung === 0,
    everyOutcomeVerified: tally.byVerdict.verified === tally.sent,
    metricsMatch: metrics.match,
    noFdGrowth: fds.ok,
    serverAlive: server.healthyAtEnd,
  };
  const ok = Object.values(goals).every(Boolean);
  const failed = Object.entries(goals)
    .filter(([, met]) => !met)
    .map(([goal]) => goal);
  const verdictLine = ok
    ? `SOAK PASSED: ${formatInt(tally.sent)} requests, every outcome verified, 0 lost, 0 double-ended, 0 hung, metrics match, fds ${fds.before} → ${fds.after}`
    : `SOAK FAILED (${failed.join(", ")}): ${formatInt(tally.sent)} requests, ${tally.byVerdict.unexpected} unexpected, ${tally.byVerdict.lost} lost, ${tally.byVerdict["double-ended"]} double-ended, ${tally.byVerdict.hung} hung, metrics ${metrics.match ? "match" : "differ"}, fds ${fds.before} → ${fds.after}`;
  const results = {
    settings: {
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      seed: SEED,
      maxRequests: MAX_REQUESTS,
      freshShare: FRESH_SHARE,
      hangAfterMs: HANG_AFTER_MS,
      server: soakServer,
    },
    requests: {
      sent: tally.sent,
      byTransport: tally.byTransport,
      byVerdict: tally.byVerdict,
      cancelled: tally.cancelled,
      byKind: Object.fromEntries(tally.byKind),
      failures: tally.failures,
    },
    upstream: { arrivals: upstream.arrivals, openConnectionsAfter: upstreamConnectionsAfter },
    metrics: {
      ...metrics,
      byDeploymentAndOutcome: {
        sent: Object.fromEntries(tally.expected),
        metrics: Object.fromEntries(delta),
      },
    },
    memory: { ...memorySummary(sampling.samples), samples: sampling.samples },
    fds,
    server,
    goals,
    ok,
    verdictLine,
  };
  if (JSON_PATH) writeFileSync(JSON_PATH, `${JSON.stringify(results, null, 2)}\n`);
  printSummary(results);
  finalCode = ok ? 0 : 1;
}

await runBenchmark(main, () => clearTimeout(deadline));
process.exitCode = process.exitCode === 1 ? 1 : finalCode;
