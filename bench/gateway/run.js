// Gateway benchmark (`npm run bench:gateway`): the whole serving path of `rakka serve` (HTTP,
// request parsing, the actor system, the mock engine at tokens_per_second = 0, JSON/SSE encoding)
// beside a bare node:http baseline (baseline-server.js) that answers the same response bytes,
// measured in the same run. Unary and streaming chat completions of 32 tokens, at concurrency 1,
// 16 and 64; autocannon runs in this process, each server is a child process, all on 127.0.0.1.
// Each cell: a warm-up, then a measurement of fixed duration; the whole matrix runs interleaved
// (gateway, baseline, gateway, baseline, ...) ROUNDS times and the table shows medians. Afterwards
// a fresh gateway, then a fresh baseline, runs under `node --cpu-prof` with the c=16 streaming
// load, and the top functions by self time are printed (summarize-profile.js). Results are
// recorded in docs/benchmarks.md.
//
// Progress goes to stderr, the results (markdown) to stdout. Knobs (environment):
//   GATEWAY_BENCH_ROUNDS (3; 0 skips the matrix), GATEWAY_BENCH_WARMUP_S (2), GATEWAY_BENCH_MEASURE_S (5),
//   GATEWAY_BENCH_PROFILE_S (10; 0 skips the profile), GATEWAY_BENCH_PROFILE_MODE (streaming|unary),
//   GATEWAY_BENCH_PROFILE_DIR (bench/gateway/profile; *.cpuprofile is git-ignored),
//   GATEWAY_BENCH_PIN (1: autocannon on CPU 0, servers on CPU 1; 0: no pinning).

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeGatewayConfig } from "../lib/gateway-config.js";
import { exchange } from "../lib/http.js";
import { countFromEnv, folderFromEnv, numberFromEnv } from "../lib/knobs.js";
import { autocannonLoad, warmUpAndMeasure } from "../lib/load.js";
import { describeMachine, pinToCpu0 } from "../lib/machine.js";
import { clockTicksPerSecond, cpuTicks, machineBusyTicks, vmKib } from "../lib/measure.js";
import { stopProcess } from "../lib/processes.js";
import { newProfiles, profilesBefore } from "../lib/profile.js";
import { acrossRounds, matrixResults } from "../lib/rounds.js";
import { runBenchmark, setUpRun } from "../lib/run.js";
import { startGateway, startServer } from "../lib/server-process.js";
import { formatInt, formatMib, formatRatio, msFormat } from "../lib/table.js";
import { summarizeProfile } from "./summarize-profile.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const here = fileURLToPath(new URL("./", import.meta.url));

const ROUNDS = countFromEnv("GATEWAY_BENCH_ROUNDS", 3);
const WARMUP_S = numberFromEnv("GATEWAY_BENCH_WARMUP_S", 2);
const MEASURE_S = Math.max(1, numberFromEnv("GATEWAY_BENCH_MEASURE_S", 5));
const PROFILE_S = numberFromEnv("GATEWAY_BENCH_PROFILE_S", 10);
const PROFILE_MODE = process.env.GATEWAY_BENCH_PROFILE_MODE === "unary" ? "unary" : "streaming";
const PROFILE_DIR = folderFromEnv("GATEWAY_BENCH_PROFILE_DIR", path.join(here, "profile"));
const CONCURRENCY = [1, 16, 64];
const MODES = ["unary", "streaming"];
const TOKENS = 32;
const GOAL_RATIO = 0.25;
const GOAL_CONCURRENCY = 16;
const DEPLOYMENT = "bench";

// 32 words, one token each: the mock answers with them, in order, up to max_tokens.
const PROMPT = [
  "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa",
  "quebec romeo sierra tango uniform victor whiskey xray yankee zulu one two three four five six",
].join(" ");
const requestBodies = {
  unary: JSON.stringify({
    model: DEPLOYMENT,
    max_tokens: TOKENS,
    messages: [{ role: "user", content: PROMPT }],
  }),
  streaming: JSON.stringify({
    model: DEPLOYMENT,
    max_tokens: TOKENS,
    stream: true,
    messages: [{ role: "user", content: PROMPT }],
  }),
};
const CHAT_PATH = "/v1/chat/completions";

// Every child process is killed when this process exits, however it exits.
const tmpDir = setUpRun("rakka-bench-gateway-");

// ── CPU pinning ────────────────────────────────────────────────────────────────────────────────
// Left to the scheduler, a client and a server that wake each other over loopback are often put
// on the same CPU (wake-affine placement), and then run one at a time: the baseline's req/s jumps
// between two levels about 2× apart from one cell to the next. So by default this process (and
// autocannon in it) runs on CPU 0 and every server on CPU 1 (`taskset`; Linux, ≥ 2 CPUs).
// GATEWAY_BENCH_PIN=0 leaves placement to the scheduler.

const pinning = pinToCpu0("GATEWAY_BENCH_PIN") ? { loadCpu: 0, serverCpu: 1 } : undefined;

const startBaseline = (captureFile, nodeArgs = []) =>
  startServer("baseline", path.join(here, "baseline-server.js"), [captureFile], {
    nodeArgs,
    cpu: pinning?.serverCpu,
  });

// ── capture: the gateway's answers, for the baseline to replay ────────────────────────────────

/** The response headers to replay, minus those node:http writes itself for every response. */
function headersToReplay(rawHeaders, drop) {
  const headers = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (!drop.includes(name.toLowerCase())) headers[name] = rawHeaders[i + 1];
  }
  return headers;
}

/** One unary and one streaming answer from the gateway, checked, in the baseline's format. */
async function captureFromGateway(gateway) {
  const url = `${gateway.url}${CHAT_PATH}`;
  const unary = await exchange(url, "POST", requestBodies.unary);
  if (unary.status !== 200) throw new Error(`gateway unary answer: HTTP ${unary.status}: ${unary.body}`);
  const completion = JSON.parse(unary.body);
  if (completion.usage?.completion_tokens !== TOKENS)
    throw new Error(`gateway unary answer has ${completion.usage?.completion_tokens} tokens, not ${TOKENS}`);
  const streaming = await exchange(url, "POST", requestBodies.streaming);
  if (streaming.status !== 200)
    throw new Error(`gateway streaming answer: HTTP ${streaming.status}: ${streaming.body}`);
  const events = streaming.body.split(/(?<=\n\n)/);
  const contentEvents = events.filter(
    (event) => event.includes('"content":"') && !event.includes('"content":""'),
  );
  if (
    events.join("") !== streaming.body ||
    events.at(-1) !== "data: [DONE]\n\n" ||
    contentEvents.length !== TOKENS
  )
    throw new Error(
      `gateway streaming answer is not ${TOKENS} content events and [DONE]:\n${streaming.body}`,
    );
  return {
    unary: {
      headers: headersToReplay(unary.rawHeaders, ["date", "connection", "keep-alive", "content-length"]),
      body: unary.body,
    },
    streaming: {
      headers: headersToReplay(streaming.rawHeaders, [
        "date",
        "keep-alive",
        "transfer-encoding",
        "content-length",
      ]),
      events,
    },
  };
}

async function checkBaseline(baseline, capture) {
  const url = `${baseline.url}${CHAT_PATH}`;
  const unary = await exchange(url, "POST", requestBodies.unary);
  const streaming = await exchange(url, "POST", requestBodies.streaming);
  if (unary.status !== 200 || unary.body !== capture.unary.body)
    throw new Error("the baseline's unary answer differs from the captured one");
  if (streaming.status !== 200 || streaming.body !== capture.streaming.events.join(""))
    throw new Error("the baseline's streaming answer differs from the captured one");
}

// ── load ───────────────────────────────────────────────────────────────────────────────────────

/**
 * autocannon against one server for `seconds` (bench/lib/load.js); server CPU comes from /proc
 * before and after.
 */
function load(server, mode, connections, seconds) {
  return autocannonLoad({
    url: `${server.url}${CHAT_PATH}`,
    body: requestBodies[mode],
    connections,
    seconds,
    processes: [server],
    sample: () => {
      const ticksBefore = cpuTicks(server.pid);
      const busyBefore = machineBusyTicks();
      const ownTicksBefore = cpuTicks(process.pid);
      return ({ elapsed, ok }) => {
        const ticks = cpuTicks(server.pid) - ticksBefore;
        // CPU that neither the server nor this process used: other processes on the machine.
        const otherTicks = machineBusyTicks() - busyBefore - ticks - (cpuTicks(process.pid) - ownTicksBefore);
        return {
          cpuMicrosPerRequest: ok > 0 ? (ticks * 1e6) / clockTicksPerSecond / ok : Number.NaN,
          // Everything else on the machine, in % of one CPU: a busy neighbour skews the cell.
          otherCpuPercent: Math.max(0, (100 * otherTicks) / clockTicksPerSecond / elapsed),
        };
      };
    },
  });
}

/** A warm-up, then the measurement; the peak RSS is over both (VmHWM reset before). */
const cell = (server, mode, connections) =>
  warmUpAndMeasure((seconds) => load(server, mode, connections, seconds), {
    warmupS: WARMUP_S,
    measureS: MEASURE_S,
    pid: server.pid,
  });

// ── statistics and formatting ──────────────────────────────────────────────────────────────────

const formatMs = msFormat(2);

// ── main ───────────────────────────────────────────────────────────────────────────────────────

function machine() {
  const placement = pinning
    ? `autocannon pinned to CPU ${pinning.loadCpu}, servers to CPU ${pinning.serverCpu}`
    : "not pinned";
  return describeMachine(placement);
}

const writeConfig = () =>
  writeGatewayConfig(
    tmpDir,
    "bench/gateway/run.js",
    { name: DEPLOYMENT, model: `${DEPLOYMENT}-1`, runtime: "mock" },
    ["max_concurrent = 256", "queue_capacity = 1024"],
    ["tokens_per_second = 0"],
  );

async function runMatrix(gateway, baseline) {
  const servers = { gateway, baseline };
  // `${mode} c${connections} ${target}` → results per round
  const { runs, record } = matrixResults(ROUNDS * MODES.length * CONCURRENCY.length * 2, 22);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      for (const connections of CONCURRENCY) {
        for (const target of ["gateway", "baseline"]) {
          const result = await cell(servers[target], mode, connections);
          console.error(
            `${record(round, `${mode} c${connections} ${target}`, result)} ${formatInt(result.rps).padStart(7)} req/s ` +
              `p50 ${formatMs(result.p50)} p99 ${formatMs(result.p99)} ` +
              `cpu ${result.cpuMicrosPerRequest.toFixed(0)} µs/req peak ${formatMib(result.peakRssKib)} ` +
              `autocannon ${result.loadgenCpuPercent.toFixed(0)} % CPU, others ${result.otherCpuPercent.toFixed(0)} %` +
              (result.failed > 0 ? ` (${result.failed} failed/non-2xx)` : ""),
          );
        }
      }
    }
  }
  return runs;
}

function report(runs, startRss, endRss) {
  const lines = [];
  lines.push(
    `median of ${ROUNDS} interleaved rounds; each cell ${WARMUP_S} s warm-up + ${MEASURE_S} s measured; ` +
      `${TOKENS} tokens per request; CLK_TCK ${clockTicksPerSecond}`,
  );
  lines.push("");
  lines.push(
    "| mode | conc. | server | req/s | req/s min – max | p50 | p99 | server CPU µs/req | peak RSS | " +
      "autocannon CPU | other processes' CPU (max) | gateway ÷ baseline req/s |",
  );
  lines.push("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  const goals = [];
  let failed = 0;
  for (const mode of MODES) {
    for (const connections of CONCURRENCY) {
      const medians = {};
      for (const target of ["gateway", "baseline"]) {
        const results = runs.get(`${mode} c${connections} ${target}`);
        failed += results.reduce((sum, result) => sum + result.failed, 0);
        medians[target] = acrossRounds(results, {
          rps: ["median", "rps"],
          min: ["min", "rps"],
          max: ["max", "rps"],
          p50: ["median", "p50"],
          p99: ["median", "p99"],
          cpu: ["median", "cpuMicrosPerRequest"],
          peak: ["max", "peakRssKib"],
          loadgen: ["median", "loadgenCpuPercent"],
          others: ["max", "otherCpuPercent"],
        });
      }
      const ratio = medians.gateway.rps / medians.baseline.rps;
      for (const target of ["gateway", "baseline"]) {
        const m = medians[target];
        lines.push(
          `| ${mode} | ${connections} | ${target} | ${formatInt(m.rps)} | ${formatInt(m.min)} – ${formatInt(m.max)} | ` +
            `${formatMs(m.p50)} | ${formatMs(m.p99)} | ${m.cpu.toFixed(0)} | ${formatMib(m.peak)} | ` +
            `${m.loadgen.toFixed(0)} % | ${m.others.toFixed(0)} % | ` +
            `${target === "gateway" ? formatRatio(ratio) : ""} |`,
        );
      }
      if (connections === GOAL_CONCURRENCY) {
        // The same ratio per round (gateway and baseline measured back to back), and the ratio of
        // server CPU per request, which does not depend on how busy the machine was.
        const gatewayRuns = runs.get(`${mode} c${connections} gateway`);
        const baselineRuns = runs.get(`${mode} c${connections} baseline`);
        const perRound = gatewayRuns.map((run, i) => formatRatio(run.rps / baselineRuns[i].rps)).join(", ");
        const cpuRatio = medians.baseline.cpu / medians.gateway.cpu;
        goals.push(
          `- ${mode}, c=${connections}: gateway ${formatRatio(ratio)} of the baseline's req/s ` +
            `(goal ≥ ${formatRatio(GOAL_RATIO)}): ${ratio >= GOAL_RATIO ? "met" : "NOT met"}; ` +
            `per round ${perRound}; baseline ÷ gateway server CPU per request ${formatRatio(cpuRatio)}`,
        );
      }
    }
  }
  lines.push("");
  lines.push(...goals);
  lines.push("");
  lines.push(
    `RSS at start (after start-up and one request of each kind): gateway ${formatMib(startRss.gateway)}, ` +
      `baseline ${formatMib(startRss.baseline)}; VmHWM at the end (since the last reset): gateway ` +
      `${formatMib(endRss.gateway)}, baseline ${formatMib(endRss.baseline)}. Peak RSS per row: the ` +
      "highest VmHWM over the row's rounds, reset (clear_refs) before each cell's warm-up.",
  );
  if (failed > 0) lines.push(`WARNING: ${failed} requests failed or were not 2xx; see stderr.`);
  return lines.join("\n");
}

/** Runs one server under `node --cpu-prof` with the profile load; returns the load result and the profile file. */
async function profiledRun(startProfiled, onStarted = async () => {}) {
  const before = profilesBefore(PROFILE_DIR);
  const server = await startProfiled(["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`]);
  let result;
  try {
    await onStarted(server);
    if (WARMUP_S > 0) await load(server, PROFILE_MODE, GOAL_CONCURRENCY, WARMUP_S);
    result = await load(server, PROFILE_MODE, GOAL_CONCURRENCY, PROFILE_S);
  } finally {
    await stopProcess(server); // the profile is written as the process exits
  }
  const written = newProfiles(PROFILE_DIR, before);
  if (written.length === 0) throw new Error(`${server.name} wrote no .cpuprofile into ${PROFILE_DIR}`);
  return { result, file: written[0] };
}

/** Profiles the gateway, then the baseline (answering what the profiled gateway answered), under the same load. */
async function profileServers(configFile) {
  const captureFile = path.join(tmpDir, "capture-profile.json");
  const gateway = await profiledRun(
    (nodeArgs) => startGateway(configFile, { nodeArgs, cpu: pinning?.serverCpu }),
    async (server) => writeFileSync(captureFile, JSON.stringify(await captureFromGateway(server))),
  );
  const baseline = await profiledRun((nodeArgs) => startBaseline(captureFile, nodeArgs));
  const heading = (name, run) =>
    `CPU profile of the ${name} under the ${PROFILE_MODE} c=${GOAL_CONCURRENCY} load (${WARMUP_S} s warm-up + ` +
    `${PROFILE_S} s; ${formatInt(run.result.rps)} req/s under the profiler, ` +
    `${run.result.cpuMicrosPerRequest.toFixed(0)} server CPU µs/req; the profile spans the whole process): ` +
    path.relative(repoRoot, run.file);
  return [
    heading("gateway", gateway),
    "",
    summarizeProfile(JSON.parse(readFileSync(gateway.file, "utf8")), 25, 15),
    "",
    heading("baseline", baseline),
    "",
    summarizeProfile(JSON.parse(readFileSync(baseline.file, "utf8")), 10, 0),
  ].join("\n");
}

async function main() {
  console.log(machine());
  const configFile = writeConfig();
  if (ROUNDS > 0) await measureMatrix(configFile);
  if (PROFILE_S > 0) {
    console.log("");
    console.log(await profileServers(configFile));
  }
}

async function measureMatrix(configFile) {
  let gateway;
  let baseline;
  try {
    gateway = await startGateway(configFile, { cpu: pinning?.serverCpu });
    console.error(`gateway (pid ${gateway.pid}) at ${gateway.url}`);
    const capture = await captureFromGateway(gateway);
    const captureFile = path.join(tmpDir, "capture.json");
    writeFileSync(captureFile, JSON.stringify(capture));
    baseline = await startBaseline(captureFile);
    await checkBaseline(baseline, capture);
    console.error(`baseline (pid ${baseline.pid}) at ${baseline.url}`);
    console.error(
      `unary answer ${Buffer.byteLength(capture.unary.body)} bytes; streaming answer ` +
        `${capture.streaming.events.length} SSE events, ` +
        `${Buffer.byteLength(capture.streaming.events.join(""))} bytes`,
    );
    const startRss = { gateway: vmKib(gateway.pid, "VmRSS"), baseline: vmKib(baseline.pid, "VmRSS") };
    const runs = await runMatrix(gateway, baseline);
    const endRss = { gateway: vmKib(gateway.pid, "VmHWM"), baseline: vmKib(baseline.pid, "VmHWM") };
    console.log(report(runs, startRss, endRss));
  } finally {
    await Promise.all([stopProcess(gateway), stopProcess(baseline)]);
  }
}

await runBenchmark(main);
