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

import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import {
  clockTicksPerSecond,
  cpuTicks,
  formatRatio,
  machineBusyTicks,
  median,
  numberFromEnv,
  percentile,
  vmKib,
} from "../lib/measure.js";
import { summarizeProfile } from "./summarize-profile.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const here = fileURLToPath(new URL("./", import.meta.url));

const ROUNDS = Math.round(numberFromEnv("GATEWAY_BENCH_ROUNDS", 3));
const WARMUP_S = numberFromEnv("GATEWAY_BENCH_WARMUP_S", 2);
const MEASURE_S = Math.max(1, numberFromEnv("GATEWAY_BENCH_MEASURE_S", 5));
const PROFILE_S = numberFromEnv("GATEWAY_BENCH_PROFILE_S", 10);
const PROFILE_MODE = process.env.GATEWAY_BENCH_PROFILE_MODE === "unary" ? "unary" : "streaming";
const PROFILE_DIR = path.resolve(process.env.GATEWAY_BENCH_PROFILE_DIR ?? path.join(here, "profile"));
const CONCURRENCY = [1, 16, 64];
const MODES = ["unary", "streaming"];
const TOKENS = 32;
const GOAL_RATIO = 0.25;
const GOAL_CONCURRENCY = 16;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 30_000;
const HOST = "127.0.0.1";
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

// ── child processes: every one is killed when this process exits, however it exits ────────────

const children = new Set();
const tmpDir = mkdtempSync(path.join(os.tmpdir(), "rakka-bench-gateway-"));

process.on("exit", () => {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(tmpDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    console.error(`\nreceived ${signal}: stopping the servers`);
    process.exit(130); // the exit handler kills the children
  });
}

/**
 * Spawns `node [nodeArgs] script args` and resolves once it prints a JSON line whose msg is
 * "listening" (pino's line from `rakka serve`, or the baseline's), with its url.
 */
function startServer(name, script, args, nodeArgs = []) {
  // `taskset -c CPU node ...` execs node, so child.pid is the server's pid either way.
  const command = [process.execPath, ...nodeArgs, script, ...args];
  const [file, ...argv] = pinning ? ["taskset", "-c", String(pinning.serverCpu), ...command] : command;
  const child = spawn(file, argv, {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const server = { name, child, pid: child.pid, url: undefined, exit: undefined, stopping: false };
  let stdoutTail = "";
  let stderrTail = "";
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      children.delete(child);
      server.exit = signal ?? `code ${code}`;
      if (server.url && !server.stopping)
        console.error(`${name} (pid ${server.pid}) exited unexpectedly (${server.exit})\n${stderrTail}`);
      resolve();
    });
  });
  server.exited = exited;
  server.tails = () =>
    `--- ${name} stdout (tail) ---\n${stdoutTail}\n--- ${name} stderr (tail) ---\n${stderrTail}`;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text) => {
    stderrTail = (stderrTail + text).slice(-4000);
  });
  child.stdout.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let pending = "";
    const fail = (error) => {
      clearTimeout(timer);
      reject(new Error(`${name}: ${error.message}\n${server.tails()}`));
    };
    const timer = setTimeout(
      () => fail(new Error(`no "listening" line within ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS,
    );
    child.once("error", fail);
    exited.then(() => {
      if (!server.url) fail(new Error(`exited (${server.exit}) before listening`));
    });
    // Keep reading stdout for the whole run, so a logging child never blocks on a full pipe.
    child.stdout.on("data", (text) => {
      stdoutTail = (stdoutTail + text).slice(-4000);
      if (server.url) return;
      pending += text;
      for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        let record;
        try {
          record = JSON.parse(line);
        } catch {
          continue;
        }
        if (record?.msg !== "listening" || typeof record.url !== "string") continue;
        const url = new URL(record.url);
        if (url.hostname !== HOST) {
          fail(new Error(`listens on ${record.url}, not on ${HOST}`));
          return;
        }
        server.url = record.url;
        clearTimeout(timer);
        resolve(server);
        return;
      }
    });
  });
}

/** SIGTERM, then SIGKILL if the child has not exited within STOP_TIMEOUT_MS. */
async function stopServer(server) {
  if (!server || server.exit !== undefined) return;
  server.stopping = true;
  server.child.kill("SIGTERM");
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
  });
  const late = await Promise.race([server.exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    console.error(`${server.name} did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM: SIGKILL`);
    server.child.kill("SIGKILL");
    await server.exited;
  }
}

function assertRunning(server) {
  if (server.exit !== undefined)
    throw new Error(`${server.name} is not running (${server.exit})\n${server.tails()}`);
}

// ── CPU pinning ────────────────────────────────────────────────────────────────────────────────
// Left to the scheduler, a client and a server that wake each other over loopback are often put
// on the same CPU (wake-affine placement), and then run one at a time: the baseline's req/s jumps
// between two levels about 2× apart from one cell to the next. So by default this process (and
// autocannon in it) runs on CPU 0 and every server on CPU 1 (`taskset`; Linux, ≥ 2 CPUs).
// GATEWAY_BENCH_PIN=0 leaves placement to the scheduler.

const pinning = (() => {
  if (process.env.GATEWAY_BENCH_PIN === "0" || os.cpus().length < 2) return undefined;
  try {
    execFileSync("taskset", ["-a", "-cp", "0", String(process.pid)], { stdio: "ignore" });
    return { loadCpu: 0, serverCpu: 1 };
  } catch {
    return undefined; // no taskset, or not allowed: unpinned
  }
})();

// ── /proc readings ─────────────────────────────────────────────────────────────────────────────

/** Resets the peak RSS (VmHWM) to the current RSS (Linux ≥ 4.0); false when not allowed. */
function resetPeakRss(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

// ── plain HTTP exchanges (start-up checks and capture) ─────────────────────────────────────────

function exchange(url, method, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method,
        agent: false,
        headers: body === undefined ? {} : { "content-type": "application/json" },
      },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode,
            rawHeaders: response.rawHeaders,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error(`${method} ${url}: no answer within 10 s`)));
    request.on("error", reject);
    request.end(body);
  });
}

async function waitUntilReady(server) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    assertRunning(server);
    const answer = await exchange(`${server.url}/readyz`, "GET").catch(() => undefined);
    if (answer?.status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`${server.name}: /readyz not 200 within ${START_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

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
 * autocannon against one server for `seconds`: keep-alive connections, one request in flight on
 * each. Latencies are recorded here from each 2xx response (full precision, in ms); server CPU
 * comes from /proc before and after.
 */
function load(server, mode, connections, seconds) {
  assertRunning(server);
  return new Promise((resolve, reject) => {
    const latencies = [];
    let ok = 0;
    let failed = 0;
    const ticksBefore = cpuTicks(server.pid);
    const busyBefore = machineBusyTicks();
    const ownTicksBefore = cpuTicks(process.pid);
    const ownCpuBefore = process.cpuUsage();
    const start = process.hrtime.bigint();
    const instance = autocannon(
      {
        url: `${server.url}${CHAT_PATH}`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: requestBodies[mode],
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
      },
      (error, result) => {
        const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
        const ownCpu = process.cpuUsage(ownCpuBefore);
        if (error) {
          reject(error);
          return;
        }
        try {
          assertRunning(server);
          const ticks = cpuTicks(server.pid) - ticksBefore;
          // CPU that neither the server nor this process used: other processes on the machine.
          const otherTicks =
            machineBusyTicks() - busyBefore - ticks - (cpuTicks(process.pid) - ownTicksBefore);
          latencies.sort((a, b) => a - b);
          resolve({
            requests: ok,
            failed: failed + result.errors + result.timeouts,
            rps: ok / elapsed,
            p50: percentile(latencies, 0.5),
            p99: percentile(latencies, 0.99),
            cpuMicrosPerRequest: ok > 0 ? (ticks * 1e6) / clockTicksPerSecond / ok : Number.NaN,
            // This process (autocannon), in % of one CPU: near 100 % means the client is the limit.
            loadgenCpuPercent: (ownCpu.user + ownCpu.system) / 1e4 / elapsed,
            // Everything else on the machine, in % of one CPU: a busy neighbour skews the cell.
            otherCpuPercent: Math.max(0, (100 * otherTicks) / clockTicksPerSecond / elapsed),
          });
        } catch (failure) {
          reject(failure);
        }
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++;
        latencies.push(responseTimeMs);
      } else failed++;
    });
  });
}

/** A warm-up, then the measurement; the peak RSS is over both (VmHWM reset before). */
async function cell(server, mode, connections) {
  const peakReset = resetPeakRss(server.pid);
  if (WARMUP_S > 0) await load(server, mode, connections, WARMUP_S);
  const result = await load(server, mode, connections, MEASURE_S);
  result.peakRssKib = vmKib(server.pid, "VmHWM");
  result.peakReset = peakReset;
  return result;
}

// ── statistics and formatting ──────────────────────────────────────────────────────────────────

const formatInt = (value) => Math.round(value).toLocaleString("en-US");
const formatMs = (value) => `${value.toFixed(2)} ms`;
const formatMib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;

// ── main ───────────────────────────────────────────────────────────────────────────────────────

function machine() {
  const cpus = os.cpus(); // all CPUs, whatever this process's affinity (nproc would say 1 once pinned)
  const nproc = cpus.length;
  let model = cpus[0]?.model ?? "unknown";
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? model;
  } catch {
    // not Linux: os.cpus() it is
  }
  const placement = pinning
    ? `autocannon pinned to CPU ${pinning.loadCpu}, servers to CPU ${pinning.serverCpu}`
    : "not pinned";
  return `node ${process.version}, ${nproc} CPUs (${model}), ${os.type()} ${os.release()}; ${placement}`;
}

function writeConfig() {
  const file = path.join(tmpDir, "rakka.toml");
  writeFileSync(
    file,
    [
      "# Generated by bench/gateway/run.js",
      "[server]",
      `bind = "${HOST}:0"`,
      "",
      "[[deployment]]",
      `name    = "${DEPLOYMENT}"`,
      `model   = "${DEPLOYMENT}-1"`,
      `runtime = "mock"`,
      "[deployment.serving]",
      "max_concurrent = 256",
      "queue_capacity = 1024",
      "[deployment.runtime_config]",
      "tokens_per_second = 0",
      "",
    ].join("\n"),
  );
  return file;
}

const rakka = path.join(repoRoot, "bin", "rakka.js");

async function startGateway(configFile, nodeArgs = []) {
  const gateway = await startServer("gateway", rakka, ["serve", "--config", configFile], nodeArgs);
  await waitUntilReady(gateway);
  return gateway;
}

async function runMatrix(gateway, baseline) {
  const servers = { gateway, baseline };
  const runs = new Map(); // `${mode} c${connections} ${target}` → results per round
  const total = ROUNDS * MODES.length * CONCURRENCY.length * 2;
  let done = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      for (const connections of CONCURRENCY) {
        for (const target of ["gateway", "baseline"]) {
          const result = await cell(servers[target], mode, connections);
          const key = `${mode} c${connections} ${target}`;
          if (!runs.has(key)) runs.set(key, []);
          runs.get(key).push(result);
          done++;
          console.error(
            `[${done}/${total}] round ${round} ${key.padEnd(22)} ${formatInt(result.rps).padStart(7)} req/s ` +
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
        medians[target] = {
          rps: median(results.map((result) => result.rps)),
          min: Math.min(...results.map((result) => result.rps)),
          max: Math.max(...results.map((result) => result.rps)),
          p50: median(results.map((result) => result.p50)),
          p99: median(results.map((result) => result.p99)),
          cpu: median(results.map((result) => result.cpuMicrosPerRequest)),
          peak: Math.max(...results.map((result) => result.peakRssKib)),
          loadgen: median(results.map((result) => result.loadgenCpuPercent)),
          others: Math.max(...results.map((result) => result.otherCpuPercent)),
        };
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
  mkdirSync(PROFILE_DIR, { recursive: true });
  const before = new Set(readdirSync(PROFILE_DIR));
  const server = await startProfiled(["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`]);
  let result;
  try {
    await onStarted(server);
    if (WARMUP_S > 0) await load(server, PROFILE_MODE, GOAL_CONCURRENCY, WARMUP_S);
    result = await load(server, PROFILE_MODE, GOAL_CONCURRENCY, PROFILE_S);
  } finally {
    await stopServer(server); // the profile is written as the process exits
  }
  const written = readdirSync(PROFILE_DIR)
    .filter((name) => name.endsWith(".cpuprofile") && !before.has(name))
    .map((name) => path.join(PROFILE_DIR, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (written.length === 0) throw new Error(`${server.name} wrote no .cpuprofile into ${PROFILE_DIR}`);
  return { result, file: written[0] };
}

/** Profiles the gateway, then the baseline (answering what the profiled gateway answered), under the same load. */
async function profileServers(configFile) {
  const captureFile = path.join(tmpDir, "capture-profile.json");
  const gateway = await profiledRun(
    (nodeArgs) => startGateway(configFile, nodeArgs),
    async (server) => writeFileSync(captureFile, JSON.stringify(await captureFromGateway(server))),
  );
  const baseline = await profiledRun((nodeArgs) =>
    startServer("baseline", path.join(here, "baseline-server.js"), [captureFile], nodeArgs),
  );
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
    gateway = await startGateway(configFile);
    console.error(`gateway (pid ${gateway.pid}) at ${gateway.url}`);
    const capture = await captureFromGateway(gateway);
    const captureFile = path.join(tmpDir, "capture.json");
    writeFileSync(captureFile, JSON.stringify(capture));
    baseline = await startServer("baseline", path.join(here, "baseline-server.js"), [captureFile]);
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
    await Promise.all([stopServer(gateway), stopServer(baseline)]);
  }
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
} finally {
  // Nothing may outlive the benchmark: kill what is left (the exit handler does it again).
  for (const child of children) child.kill("SIGKILL");
}
