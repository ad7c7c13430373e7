// Remote gateway benchmark (`npm run bench:remote-gateway`): `rakka serve` in front of a mock
// OpenAI upstream (upstream.js, its own process, answering at once), beside, in the same run,
// (a) the upstream called directly and (b) a minimal pass-through proxy (minimal-proxy.js:
// node:http + an undici keep-alive Pool). The gateway has one deployment, runtime
// "openai-compatible", base_url = the upstream, serving.max_concurrent = 128, queue_capacity = 1024.
// Unary and streaming chat completions (32 content chunks), at concurrency 1, 16 and 64, with
// autocannon in this process. The gateway always calls the upstream in streaming mode (and
// assembles a unary answer), so a unary client asks all three targets for a non-streaming answer;
// a streaming client asks all three with stream_options.include_usage, as the gateway asks its
// upstream.
//
// Each cell: a warm-up, then a measurement of fixed duration; the matrix runs interleaved (the
// three targets back to back per cell, the order rotated each round) ROUNDS times and the tables
// show medians. Per round, a small sequential client also measures the time to the first SSE event
// with content at concurrency 1 for each target. Afterwards a fresh gateway runs under
// `node --cpu-prof` with the c=16 load, once streaming and once unary; each profile is cut to the
// measured part (NAME.window.cpuprofile) and summarised by running bench/gateway/summarize-profile.js.
// Results are recorded in docs/benchmarks.md ("Remote gateway").
//
// CPU placement (2 CPUs): by default this process (autocannon, the TTFC client) and the upstream
// run on CPU 0 and the process in the middle (gateway or proxy) alone on CPU 1 (`taskset`), so the
// middle has one CPU to itself, like a gateway in front of a remote provider.
//
// Progress goes to stderr, the results (markdown) to stdout. Knobs (environment):
//   REMOTE_BENCH_ROUNDS (3), REMOTE_BENCH_WARMUP_S (1), REMOTE_BENCH_MEASURE_S (3),
//   REMOTE_BENCH_TTFC_REQUESTS (300 per target and round), REMOTE_BENCH_PROFILE_S (5; 0 skips the
//   profiles), REMOTE_BENCH_PROFILE_DIR (bench/remote-gateway/profile; *.cpuprofile is git-ignored),
//   REMOTE_BENCH_PIN (1; 0: no pinning), REMOTE_BENCH_DEADLINE_S (600: everything is killed and the
//   run fails after this long).

import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeGatewayConfig } from "../lib/gateway-config.js";
import { exchange } from "../lib/http.js";
import { countFromEnv, folderFromEnv, numberFromEnv } from "../lib/knobs.js";
import { autocannonLoad, warmUpAndMeasure } from "../lib/load.js";
import { describeMachine, pinToCpu0 } from "../lib/machine.js";
import {
  clockTicksPerSecond,
  cpuTicks,
  machineBusyTicks,
  median,
  percentile,
  resetPeakRss,
  vmKib,
} from "../lib/measure.js";
import { stopProcess } from "../lib/processes.js";
import { newProfiles, profilesBefore, profileWindow, summarizeWithTool } from "../lib/profile.js";
import { acrossRounds, matrixResults } from "../lib/rounds.js";
import { exitAfter, runBenchmark, setUpRun } from "../lib/run.js";
import { startGateway, startServer } from "../lib/server-process.js";
import {
  formatInt as formatInteger,
  formatMib as formatMebibytes,
  formatRatio,
  msFormat,
  orDash,
} from "../lib/table.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const here = fileURLToPath(new URL("./", import.meta.url));

const ROUNDS = countFromEnv("REMOTE_BENCH_ROUNDS", 3, 1);
const WARMUP_S = numberFromEnv("REMOTE_BENCH_WARMUP_S", 1);
const MEASURE_S = Math.max(1, numberFromEnv("REMOTE_BENCH_MEASURE_S", 3));
const TTFC_REQUESTS = countFromEnv("REMOTE_BENCH_TTFC_REQUESTS", 300, 1);
const PROFILE_S = numberFromEnv("REMOTE_BENCH_PROFILE_S", 5);
const PROFILE_DIR = folderFromEnv("REMOTE_BENCH_PROFILE_DIR", path.join(here, "profile"));
const DEADLINE_S = numberFromEnv("REMOTE_BENCH_DEADLINE_S", 600);
const CONCURRENCY = [1, 16, 64];
const MODES = ["unary", "streaming"];
const TARGETS = ["direct", "proxy", "gateway"];
const TOKENS = 32;
const GOAL_RATIO = 0.6;
const GOAL_CONCURRENCY = 16;
const GOAL_ADDED_P50_MS = 1;
const GOAL_RSS_MB = 150; // 10^6 bytes
const DEPLOYMENT = "bench";
const CHAT_PATH = "/v1/chat/completions";

const messages = [{ role: "user", content: "Spell the NATO alphabet, then count to six." }];
const requestBodies = {
  unary: JSON.stringify({ model: DEPLOYMENT, max_tokens: TOKENS, messages }),
  streaming: JSON.stringify({
    model: DEPLOYMENT,
    max_tokens: TOKENS,
    stream: true,
    stream_options: { include_usage: true },
    messages,
  }),
};

// Every child process is killed when this process exits, however it exits; every load below has a
// fixed duration, and REMOTE_BENCH_DEADLINE_S bounds the whole run too.
const tmpDir = setUpRun("rakka-bench-remote-");
const deadline = exitAfter(DEADLINE_S, "REMOTE_BENCH_DEADLINE_S");

// ── CPU pinning ────────────────────────────────────────────────────────────────────────────────
// This process and the upstream on CPU 0, the process in the middle on CPU 1 (see the header).

const pinning = pinToCpu0("REMOTE_BENCH_PIN") ? { loadCpu: 0, upstreamCpu: 0, middleCpu: 1 } : undefined;

// ── plain HTTP exchanges (checks, time to first chunk) ─────────────────────────────────────────

const isContentEvent = (event) => event.includes('"content":"') && !event.includes('"content":""');

/** Each target must answer a unary request with 32 tokens and a stream with 32 content events. */
async function checkTarget(name, url) {
  const unary = await exchange(`${url}${CHAT_PATH}`, "POST", requestBodies.unary);
  if (unary.status !== 200) throw new Error(`${name} unary answer: HTTP ${unary.status}: ${unary.body}`);
  const completion = JSON.parse(unary.body);
  if (completion.usage?.completion_tokens !== TOKENS || !completion.choices?.[0]?.message?.content)
    throw new Error(`${name} unary answer is not ${TOKENS} tokens: ${unary.body}`);
  const streaming = await exchange(`${url}${CHAT_PATH}`, "POST", requestBodies.streaming);
  if (streaming.status !== 200)
    throw new Error(`${name} streaming answer: HTTP ${streaming.status}: ${streaming.body}`);
  const events = streaming.body.split("\n\n").filter(Boolean);
  const contentEvents = events.filter(isContentEvent);
  if (
    events.at(-1) !== "data: [DONE]" ||
    contentEvents.length !== TOKENS ||
    !streaming.body.includes('"usage":')
  )
    throw new Error(
      `${name} streaming answer is not ${TOKENS} content events, usage and [DONE]:\n${streaming.body}`,
    );
  return {
    unaryBytes: Buffer.byteLength(unary.body),
    streamingBytes: Buffer.byteLength(streaming.body),
    events: events.length,
  };
}

/**
 * Time to first chunk at concurrency 1: `count` sequential streaming requests on one keep-alive
 * connection (after `warmup` unmeasured ones), each timed from the request's send to the first
 * SSE event with content; every response is read to its end. Returns the sorted samples in ms.
 */
async function timeToFirstChunk(url, count, warmup) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples = [];
  try {
    for (let i = 0; i < warmup + count; i++) {
      const sample = await new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        let first = Number.NaN;
        let buffer = "";
        const request = http.request(
          `${url}${CHAT_PATH}`,
          { method: "POST", agent, headers: { "content-type": "application/json" } },
          (response) => {
            response.setEncoding("utf8");
            response.on("data", (text) => {
              if (!Number.isNaN(first)) return;
              buffer += text;
              for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
                const event = buffer.slice(0, end);
                buffer = buffer.slice(end + 2);
                if (event.startsWith("data: ") && isContentEvent(event)) {
                  first = Number(process.hrtime.bigint() - started) / 1e6;
                  return;
                }
              }
            });
            response.on("end", () =>
              response.statusCode === 200 && !Number.isNaN(first)
                ? resolve(first)
                : reject(new Error(`TTFC request to ${url}: HTTP ${response.statusCode}, no content event`)),
            );
            response.on("error", reject);
          },
        );
        request.setTimeout(10_000, () => request.destroy(new Error("no answer within 10 s")));
        request.on("error", reject);
        request.end(requestBodies.streaming);
      });
      if (i >= warmup) samples.push(sample);
    }
  } finally {
    agent.destroy();
  }
  return samples.sort((a, b) => a - b);
}

// ── load ───────────────────────────────────────────────────────────────────────────────────────

/**
 * autocannon against one target for `seconds` (bench/lib/load.js); CPU of the middle process
 * (gateway or proxy, none for direct) and of the upstream from /proc before and after.
 */
function load(target, mode, connections, seconds) {
  return autocannonLoad({
    url: `${target.url}${CHAT_PATH}`,
    body: requestBodies[mode],
    connections,
    seconds,
    processes: target.processes,
    sample: () => {
      const middleBefore = target.middle ? cpuTicks(target.middle.pid) : 0;
      const upstreamBefore = cpuTicks(target.upstream.pid);
      const busyBefore = machineBusyTicks();
      return ({ elapsed, ok, ownCpu }) => {
        const middleTicks = target.middle ? cpuTicks(target.middle.pid) - middleBefore : Number.NaN;
        const upstreamTicks = cpuTicks(target.upstream.pid) - upstreamBefore;
        const busyTicks = machineBusyTicks() - busyBefore;
        const perRequest = (ticks) => (ok > 0 ? (ticks * 1e6) / clockTicksPerSecond / ok : Number.NaN);
        return {
          middleCpuMicrosPerRequest: perRequest(middleTicks),
          upstreamCpuMicrosPerRequest: perRequest(upstreamTicks),
          middleCpuPercent: (100 * middleTicks) / clockTicksPerSecond / elapsed,
          machineCpuPercent: (100 * busyTicks) / clockTicksPerSecond / elapsed,
          // CPU that neither the servers nor this process used: other processes on the machine
          otherCpuPercent: Math.max(
            0,
            (100 * (busyTicks - (target.middle ? middleTicks : 0) - upstreamTicks)) /
              clockTicksPerSecond /
              elapsed -
              (ownCpu.user + ownCpu.system) / 1e4 / elapsed,
          ),
        };
      };
    },
  });
}

/** A warm-up, then the measurement; the middle's peak RSS is over both (VmHWM reset before). */
const cell = (target, mode, connections) =>
  warmUpAndMeasure((seconds) => load(target, mode, connections, seconds), {
    warmupS: WARMUP_S,
    measureS: MEASURE_S,
    pid: target.middle?.pid,
  });

// ── statistics and formatting ──────────────────────────────────────────────────────────────────

// "—" where nothing was measured (direct has no middle process).
const formatInt = orDash(formatInteger);
const formatMs = msFormat(3);
const formatMib = orDash(formatMebibytes);
const formatMibMb = (kib) => `${formatMib(kib)} (${((kib * 1024) / 1e6).toFixed(1)} MB)`;

// ── main ───────────────────────────────────────────────────────────────────────────────────────

function machine() {
  const placement = pinning
    ? `autocannon and the upstream pinned to CPU ${pinning.loadCpu}, the gateway / proxy to CPU ${pinning.middleCpu}`
    : "not pinned";
  return describeMachine(placement);
}

const writeConfig = (upstreamUrl) =>
  writeGatewayConfig(
    tmpDir,
    "bench/remote-gateway/run.js",
    { name: DEPLOYMENT, model: "bench-upstream", runtime: "openai-compatible" },
    ["max_concurrent = 128", "queue_capacity = 1024"],
    [`base_url = "${upstreamUrl}/v1"`],
  );

const startMiddleGateway = (configFile, nodeArgs = []) =>
  startGateway(configFile, { nodeArgs, cpu: pinning?.middleCpu });

async function runMatrix(targets) {
  // `${mode} c${connections} ${target}` → results per round
  const { runs, record } = matrixResults(ROUNDS * MODES.length * CONCURRENCY.length * TARGETS.length, 22);
  const ttfc = new Map(); // target → p50 per round (and all samples)
  for (let round = 1; round <= ROUNDS; round++) {
    const order = TARGETS.map((_, i) => TARGETS[(i + round - 1) % TARGETS.length]);
    for (const mode of MODES) {
      for (const connections of CONCURRENCY) {
        for (const name of order) {
          const result = await cell(targets[name], mode, connections);
          console.error(
            `${record(round, `${mode} c${connections} ${name}`, result)} ${formatInt(result.rps).padStart(7)} req/s ` +
              `p50 ${formatMs(result.p50)} p99 ${formatMs(result.p99)} ` +
              `middle ${Number.isFinite(result.middleCpuMicrosPerRequest) ? result.middleCpuMicrosPerRequest.toFixed(0) : "—"} µs/req ` +
              `(${Number.isFinite(result.middleCpuPercent) ? result.middleCpuPercent.toFixed(0) : "—"} %), ` +
              `upstream ${result.upstreamCpuMicrosPerRequest.toFixed(0)} µs/req, peak ${formatMib(result.peakRssKib)}, ` +
              `autocannon ${result.loadgenCpuPercent.toFixed(0)} %, others ${result.otherCpuPercent.toFixed(0)} %` +
              (result.failed > 0 ? ` (${result.failed} failed/non-2xx)` : ""),
          );
        }
      }
    }
    for (const name of order) {
      const samples = await timeToFirstChunk(targets[name].url, TTFC_REQUESTS, 30);
      if (!ttfc.has(name)) ttfc.set(name, []);
      ttfc.get(name).push({ p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) });
      console.error(
        `round ${round} time to first chunk, c=1, ${name}: p50 ${formatMs(percentile(samples, 0.5))} ` +
          `p99 ${formatMs(percentile(samples, 0.99))} (${samples.length} requests)`,
      );
    }
  }
  return { runs, ttfc };
}

function report({ runs, ttfc }, extra) {
  const lines = [];
  lines.push(
    `median of ${ROUNDS} interleaved rounds; each cell ${WARMUP_S} s warm-up + ${MEASURE_S} s measured; ` +
      `${TOKENS} content chunks per answer; CLK_TCK ${clockTicksPerSecond}`,
  );
  lines.push("");
  lines.push(
    "| mode | conc. | target | req/s | req/s min – max | p50 | p99 | middle CPU µs/req | upstream CPU µs/req | " +
      "middle peak RSS | autocannon CPU | other processes' CPU (max) | ÷ proxy req/s |",
  );
  lines.push("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  const medians = {};
  let failed = 0;
  for (const mode of MODES) {
    for (const connections of CONCURRENCY) {
      for (const name of TARGETS) {
        const results = runs.get(`${mode} c${connections} ${name}`);
        failed += results.reduce((sum, result) => sum + result.failed, 0);
        medians[`${mode} c${connections} ${name}`] = acrossRounds(results, {
          rps: ["median", "rps"],
          min: ["min", "rps"],
          max: ["max", "rps"],
          p50: ["median", "p50"],
          p99: ["median", "p99"],
          middleCpu: ["median", "middleCpuMicrosPerRequest"],
          upstreamCpu: ["median", "upstreamCpuMicrosPerRequest"],
          peak: ["max", "peakRssKib"],
          loadgen: ["median", "loadgenCpuPercent"],
          others: ["max", "otherCpuPercent"],
        });
      }
      const proxy = medians[`${mode} c${connections} proxy`];
      for (const name of TARGETS) {
        const m = medians[`${mode} c${connections} ${name}`];
        lines.push(
          `| ${mode} | ${connections} | ${name} | ${formatInt(m.rps)} | ${formatInt(m.min)} – ${formatInt(m.max)} | ` +
            `${formatMs(m.p50)} | ${formatMs(m.p99)} | ${formatInt(m.middleCpu)} | ${formatInt(m.upstreamCpu)} | ` +
            `${formatMib(m.peak)} | ${m.loadgen.toFixed(0)} % | ${m.others.toFixed(0)} % | ` +
            `${name === "proxy" ? "" : formatRatio(m.rps / proxy.rps)} |`,
        );
      }
    }
  }
  lines.push("");
  lines.push(
    "Time to the first SSE event with content, streaming, concurrency 1 (sequential client, one keep-alive connection):",
  );
  lines.push("");
  lines.push("| target | p50 | p99 | p50 added over direct |");
  lines.push("|---|--:|--:|--:|");
  const ttfcP50 = {};
  for (const name of TARGETS) {
    const perRound = ttfc.get(name);
    ttfcP50[name] = median(perRound.map((r) => r.p50));
    lines.push(
      `| ${name} | ${formatMs(ttfcP50[name])} | ${formatMs(median(perRound.map((r) => r.p99)))} | ` +
        `${name === "direct" ? "" : formatMs(ttfcP50[name] - ttfcP50.direct)} |`,
    );
  }
  lines.push("");
  const goals = [];
  for (const mode of MODES) {
    const key = (name) => `${mode} c${GOAL_CONCURRENCY} ${name}`;
    const ratio = medians[key("gateway")].rps / medians[key("proxy")].rps;
    const perRound = runs
      .get(key("gateway"))
      .map((run, i) => formatRatio(run.rps / runs.get(key("proxy"))[i].rps))
      .join(", ");
    const cpuRatio = medians[key("proxy")].middleCpu / medians[key("gateway")].middleCpu;
    goals.push(
      `- ${mode}, c=${GOAL_CONCURRENCY}: gateway ${formatRatio(ratio)} of the minimal proxy's req/s (goal ≥ ` +
        `${formatRatio(GOAL_RATIO)}): ${ratio >= GOAL_RATIO ? "met" : "NOT met"}; per round ${perRound}; ` +
        `proxy ÷ gateway CPU per request ${formatRatio(cpuRatio)} (${formatInt(medians[key("proxy")].middleCpu)} vs ` +
        `${formatInt(medians[key("gateway")].middleCpu)} µs)`,
    );
  }
  for (const mode of MODES) {
    const added = medians[`${mode} c1 gateway`].p50 - medians[`${mode} c1 direct`].p50;
    const proxyAdded = medians[`${mode} c1 proxy`].p50 - medians[`${mode} c1 direct`].p50;
    goals.push(
      `- ${mode}, c=1: gateway p50 ${formatMs(medians[`${mode} c1 gateway`].p50)} vs direct ` +
        `${formatMs(medians[`${mode} c1 direct`].p50)}: added ${formatMs(added)} (goal < ${GOAL_ADDED_P50_MS} ms): ` +
        `${added < GOAL_ADDED_P50_MS ? "met" : "NOT met"}; the proxy adds ${formatMs(proxyAdded)}`,
    );
  }
  goals.push(
    `- streaming, c=1, time to first chunk: gateway adds ${formatMs(ttfcP50.gateway - ttfcP50.direct)} at p50 ` +
      `over direct (the proxy ${formatMs(ttfcP50.proxy - ttfcP50.direct)})`,
  );
  const peak = Math.max(medians["unary c64 gateway"].peak, medians["streaming c64 gateway"].peak);
  goals.push(
    `- gateway peak RSS (VmHWM) at c=64: ${formatMibMb(peak)} (goal < ${GOAL_RSS_MB} MB): ` +
      `${(peak * 1024) / 1e6 < GOAL_RSS_MB ? "met" : "NOT met"}; the proxy's ${formatMibMb(
        Math.max(medians["unary c64 proxy"].peak, medians["streaming c64 proxy"].peak),
      )}`,
  );
  lines.push(...goals);
  lines.push("");
  lines.push(
    `RSS after start-up and the checks: gateway ${formatMib(extra.startRss.gateway)}, proxy ` +
      `${formatMib(extra.startRss.proxy)}, upstream ${formatMib(extra.startRss.upstream)}. Peak RSS per row: the ` +
      `highest VmHWM over the row's rounds, reset (clear_refs${extra.peakResetOk ? "" : ": NOT allowed here, so since start"}) before each cell's warm-up.`,
  );
  if (failed > 0) lines.push(`WARNING: ${failed} requests failed or were not 2xx; see stderr.`);
  return lines.join("\n");
}

/** A fresh gateway under `node --cpu-prof` with the c=16 `mode` load; returns the summary text. */
async function profileGateway(configFile, upstream, mode) {
  const before = profilesBefore(PROFILE_DIR);
  const gateway = await startMiddleGateway(configFile, ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`]);
  const target = { url: gateway.url, middle: gateway, upstream, processes: [gateway, upstream] };
  let result;
  try {
    if (WARMUP_S > 0) await load(target, mode, GOAL_CONCURRENCY, WARMUP_S);
    result = await load(target, mode, GOAL_CONCURRENCY, PROFILE_S);
  } finally {
    await stopProcess(gateway); // the profile is written as the process exits
  }
  const written = newProfiles(PROFILE_DIR, before);
  if (written.length === 0) throw new Error(`the gateway wrote no .cpuprofile into ${PROFILE_DIR}`);
  const windowFile = profileWindow(written[0], result.startUs, result.endUs);
  return [
    `CPU profile of the gateway under the ${mode} c=${GOAL_CONCURRENCY} load, cut to the ${PROFILE_S} s measured ` +
      `after a ${WARMUP_S} s warm-up (${formatInt(result.rps)} req/s under the profiler, ` +
      `${formatInt(result.middleCpuMicrosPerRequest)} gateway CPU µs/req): ${path.relative(repoRoot, windowFile)} ` +
      `(cut from ${path.relative(repoRoot, written[0])})`,
    "",
    summarizeWithTool(windowFile, 25, 15),
  ].join("\n");
}

async function main() {
  console.log(machine());
  let upstream;
  let proxy;
  let gateway;
  let configFile;
  try {
    upstream = await startServer("upstream", path.join(here, "upstream.js"), [], {
      cpu: pinning?.upstreamCpu,
    });
    proxy = await startServer("proxy", path.join(here, "minimal-proxy.js"), [upstream.url], {
      cpu: pinning?.middleCpu,
    });
    configFile = writeConfig(upstream.url);
    gateway = await startMiddleGateway(configFile);
    console.error(
      `upstream (pid ${upstream.pid}) ${upstream.url}, proxy (pid ${proxy.pid}) ${proxy.url}, gateway (pid ${gateway.pid}) ${gateway.url}`,
    );
    const targets = {
      direct: { url: upstream.url, middle: undefined, upstream, processes: [upstream] },
      proxy: { url: proxy.url, middle: proxy, upstream, processes: [proxy, upstream] },
      gateway: { url: gateway.url, middle: gateway, upstream, processes: [gateway, upstream] },
    };
    for (const name of TARGETS) {
      const check = await checkTarget(name, targets[name].url);
      console.error(
        `${name}: unary ${check.unaryBytes} bytes, streaming ${check.events} SSE events, ${check.streamingBytes} bytes`,
      );
    }
    const startRss = {
      gateway: vmKib(gateway.pid, "VmRSS"),
      proxy: vmKib(proxy.pid, "VmRSS"),
      upstream: vmKib(upstream.pid, "VmRSS"),
    };
    const peakResetOk = resetPeakRss(gateway.pid);
    // One unmeasured pass, so that no target meets its first load cold.
    for (const name of TARGETS)
      for (const mode of MODES) await load(targets[name], mode, 16, Math.max(1, WARMUP_S));
    const matrix = await runMatrix(targets);
    console.log(report(matrix, { startRss, peakResetOk }));
    await stopProcess(gateway);
    await stopProcess(proxy);
    if (PROFILE_S > 0) {
      for (const mode of ["streaming", "unary"]) {
        console.error(`profiling the gateway under the ${mode} c=${GOAL_CONCURRENCY} load`);
        console.log("");
        console.log(await profileGateway(configFile, upstream, mode));
      }
    }
  } finally {
    await Promise.all([stopProcess(gateway), stopProcess(proxy), stopProcess(upstream)]);
  }
}

await runBenchmark(main, () => clearTimeout(deadline));
