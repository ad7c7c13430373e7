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

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const here = fileURLToPath(new URL("./", import.meta.url));

const ROUNDS = Math.max(1, Math.round(numberFromEnv("REMOTE_BENCH_ROUNDS", 3)));
const WARMUP_S = numberFromEnv("REMOTE_BENCH_WARMUP_S", 1);
const MEASURE_S = Math.max(1, numberFromEnv("REMOTE_BENCH_MEASURE_S", 3));
const TTFC_REQUESTS = Math.max(1, Math.round(numberFromEnv("REMOTE_BENCH_TTFC_REQUESTS", 300)));
const PROFILE_S = numberFromEnv("REMOTE_BENCH_PROFILE_S", 5);
const PROFILE_DIR = path.resolve(process.env.REMOTE_BENCH_PROFILE_DIR ?? path.join(here, "profile"));
const DEADLINE_S = numberFromEnv("REMOTE_BENCH_DEADLINE_S", 600);
const CONCURRENCY = [1, 16, 64];
const MODES = ["unary", "streaming"];
const TARGETS = ["direct", "proxy", "gateway"];
const TOKENS = 32;
const GOAL_RATIO = 0.6;
const GOAL_CONCURRENCY = 16;
const GOAL_ADDED_P50_MS = 1;
const GOAL_RSS_MB = 150; // 10^6 bytes
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 30_000;
const HOST = "127.0.0.1";
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

// ── child processes: every one is killed when this process exits, however it exits ────────────

const children = new Set();
const tmpDir = mkdtempSync(path.join(os.tmpdir(), "rakka-bench-remote-"));

function killChildren() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}
process.on("exit", () => {
  killChildren();
  rmSync(tmpDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    console.error(`\nreceived ${signal}: stopping the servers`);
    process.exit(130); // the exit handler kills the children
  });
}
// Every load below has a fixed duration; this bounds the whole run too.
const deadline = setTimeout(() => {
  console.error(`the benchmark ran past REMOTE_BENCH_DEADLINE_S = ${DEADLINE_S} s: stopping`);
  process.exit(124);
}, DEADLINE_S * 1000);
deadline.unref();

// ── CPU pinning ────────────────────────────────────────────────────────────────────────────────
// This process and the upstream on CPU 0, the process in the middle on CPU 1 (see the header).

const pinning = (() => {
  if (process.env.REMOTE_BENCH_PIN === "0" || os.cpus().length < 2) return undefined;
  try {
    execFileSync("taskset", ["-a", "-cp", "0", String(process.pid)], { stdio: "ignore" });
    return { loadCpu: 0, upstreamCpu: 0, middleCpu: 1 };
  } catch {
    return undefined; // no taskset, or not allowed: unpinned
  }
})();

/**
 * Spawns `node [nodeArgs] script args` (on `cpu` when pinning) and resolves once it prints a JSON
 * line whose msg is "listening" on 127.0.0.1, with its url.
 */
function startServer(name, script, args, { nodeArgs = [], cpu } = {}) {
  const command = [process.execPath, ...nodeArgs, script, ...args];
  const [file, ...argv] = pinning && cpu !== undefined ? ["taskset", "-c", String(cpu), ...command] : command;
  const child = spawn(file, argv, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  const server = { name, child, pid: child.pid, url: undefined, exit: undefined, stopping: false };
  let stdoutTail = "";
  let stderrTail = "";
  server.exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      children.delete(child);
      server.exit = signal ?? `code ${code}`;
      if (server.url && !server.stopping)
        console.error(`${name} (pid ${server.pid}) exited unexpectedly (${server.exit})\n${stderrTail}`);
      resolve();
    });
  });
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
    server.exited.then(() => {
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
        if (new URL(record.url).hostname !== HOST) {
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

// ── plain HTTP exchanges (checks, readiness, time to first chunk) ──────────────────────────────

function exchange(url, method, body, agent = false) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method, agent, headers: body === undefined ? {} : { "content-type": "application/json" } },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode,
            headers: response.headers,
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
  const deadlineAt = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    assertRunning(server);
    const answer = await exchange(`${server.url}/readyz`, "GET").catch(() => undefined);
    if (answer?.status === 200) return;
    if (Date.now() > deadlineAt)
      throw new Error(`${server.name}: /readyz not 200 within ${START_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

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
 * autocannon against one target for `seconds`: keep-alive connections, one request in flight on
 * each. Latencies from each 2xx response (full precision, ms); CPU of the middle process (gateway
 * or proxy, none for direct) and of the upstream from /proc before and after.
 */
function load(target, mode, connections, seconds) {
  for (const server of target.processes) assertRunning(server);
  return new Promise((resolve, reject) => {
    const latencies = [];
    let ok = 0;
    let failed = 0;
    const middleBefore = target.middle ? cpuTicks(target.middle.pid) : 0;
    const upstreamBefore = cpuTicks(target.upstream.pid);
    const busyBefore = machineBusyTicks();
    const ownCpuBefore = process.cpuUsage();
    const start = process.hrtime.bigint();
    const startUs = Number(start / 1000n);
    const instance = autocannon(
      {
        url: `${target.url}${CHAT_PATH}`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: requestBodies[mode],
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
      },
      (error, result) => {
        const end = process.hrtime.bigint();
        const elapsed = Number(end - start) / 1e9;
        const ownCpu = process.cpuUsage(ownCpuBefore);
        if (error) {
          reject(error);
          return;
        }
        try {
          for (const server of target.processes) assertRunning(server);
          const middleTicks = target.middle ? cpuTicks(target.middle.pid) - middleBefore : Number.NaN;
          const upstreamTicks = cpuTicks(target.upstream.pid) - upstreamBefore;
          const busyTicks = machineBusyTicks() - busyBefore;
          const perRequest = (ticks) => (ok > 0 ? (ticks * 1e6) / clockTicksPerSecond / ok : Number.NaN);
          latencies.sort((a, b) => a - b);
          resolve({
            requests: ok,
            failed: failed + result.errors + result.timeouts,
            rps: ok / elapsed,
            p50: percentile(latencies, 0.5),
            p99: percentile(latencies, 0.99),
            middleCpuMicrosPerRequest: perRequest(middleTicks),
            upstreamCpuMicrosPerRequest: perRequest(upstreamTicks),
            middleCpuPercent: (100 * middleTicks) / clockTicksPerSecond / elapsed,
            loadgenCpuPercent: (ownCpu.user + ownCpu.system) / 1e4 / elapsed,
            machineCpuPercent: (100 * busyTicks) / clockTicksPerSecond / elapsed,
            // CPU that neither the servers nor this process used: other processes on the machine
            otherCpuPercent: Math.max(
              0,
              (100 * (busyTicks - (target.middle ? middleTicks : 0) - upstreamTicks)) /
                clockTicksPerSecond /
                elapsed -
                (ownCpu.user + ownCpu.system) / 1e4 / elapsed,
            ),
            // the measured interval on process.hrtime's monotonic clock, which CPU profiles share (µs)
            startUs,
            endUs: Number(end / 1000n),
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

/** A warm-up, then the measurement; the middle's peak RSS is over both (VmHWM reset before). */
async function cell(target, mode, connections) {
  const peakReset = target.middle ? resetPeakRss(target.middle.pid) : false;
  if (WARMUP_S > 0) await load(target, mode, connections, WARMUP_S);
  const result = await load(target, mode, connections, MEASURE_S);
  result.peakRssKib = target.middle ? vmKib(target.middle.pid, "VmHWM") : Number.NaN;
  result.peakReset = peakReset;
  return result;
}

// ── statistics and formatting ──────────────────────────────────────────────────────────────────

const formatInt = (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "—");
const formatMs = (value) => `${value.toFixed(3)} ms`;
const formatMib = (kib) => (Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : "—");
const formatMibMb = (kib) => `${formatMib(kib)} (${((kib * 1024) / 1e6).toFixed(1)} MB)`;

// ── main ───────────────────────────────────────────────────────────────────────────────────────

function machine() {
  const cpus = os.cpus(); // all CPUs, whatever this process's affinity
  let model = cpus[0]?.model ?? "unknown";
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? model;
  } catch {
    // not Linux
  }
  const placement = pinning
    ? `autocannon and the upstream pinned to CPU ${pinning.loadCpu}, the gateway / proxy to CPU ${pinning.middleCpu}`
    : "not pinned";
  return `node ${process.version}, ${cpus.length} CPUs (${model}), ${os.type()} ${os.release()}; ${placement}`;
}

function writeConfig(upstreamUrl) {
  const file = path.join(tmpDir, "rakka.toml");
  writeFileSync(
    file,
    [
      "# Generated by bench/remote-gateway/run.js",
      "[server]",
      `bind = "${HOST}:0"`,
      "",
      "[[deployment]]",
      `name    = "${DEPLOYMENT}"`,
      `model   = "bench-upstream"`,
      `runtime = "openai-compatible"`,
      "[deployment.serving]",
      "max_concurrent = 128",
      "queue_capacity = 1024",
      "[deployment.runtime_config]",
      `base_url = "${upstreamUrl}/v1"`,
      "",
    ].join("\n"),
  );
  return file;
}

const rakka = path.join(repoRoot, "bin", "rakka.js");

async function startGateway(configFile, nodeArgs = []) {
  const gateway = await startServer("gateway", rakka, ["serve", "--config", configFile], {
    nodeArgs,
    cpu: pinning?.middleCpu,
  });
  await waitUntilReady(gateway);
  return gateway;
}

async function runMatrix(targets) {
  const runs = new Map(); // `${mode} c${connections} ${target}` → results per round
  const ttfc = new Map(); // target → p50 per round (and all samples)
  const total = ROUNDS * MODES.length * CONCURRENCY.length * TARGETS.length;
  let done = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const order = TARGETS.map((_, i) => TARGETS[(i + round - 1) % TARGETS.length]);
    for (const mode of MODES) {
      for (const connections of CONCURRENCY) {
        for (const name of order) {
          const result = await cell(targets[name], mode, connections);
          const key = `${mode} c${connections} ${name}`;
          if (!runs.has(key)) runs.set(key, []);
          runs.get(key).push(result);
          done++;
          console.error(
            `[${done}/${total}] round ${round} ${key.padEnd(22)} ${formatInt(result.rps).padStart(7)} req/s ` +
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
        medians[`${mode} c${connections} ${name}`] = {
          rps: median(results.map((r) => r.rps)),
          min: Math.min(...results.map((r) => r.rps)),
          max: Math.max(...results.map((r) => r.rps)),
          p50: median(results.map((r) => r.p50)),
          p99: median(results.map((r) => r.p99)),
          middleCpu: median(results.map((r) => r.middleCpuMicrosPerRequest)),
          upstreamCpu: median(results.map((r) => r.upstreamCpuMicrosPerRequest)),
          peak: Math.max(...results.map((r) => r.peakRssKib)),
          loadgen: median(results.map((r) => r.loadgenCpuPercent)),
          others: Math.max(...results.map((r) => r.otherCpuPercent)),
        };
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

/**
 * The samples of a profile inside [startUs, endUs], written next to it as NAME.window.cpuprofile:
 * V8 stamps its samples on the monotonic clock that process.hrtime reads (in µs), in every process.
 */
function profileWindow(file, startUs, endUs) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  let time = profile.startTime;
  let first = -1;
  let last = -1;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i];
    if (time < startUs) continue;
    if (time > endUs) break;
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0) throw new Error(`${file}: no samples between ${startUs} and ${endUs} µs`);
  const windowFile = file.replace(/\.cpuprofile$/, ".window.cpuprofile");
  writeFileSync(
    windowFile,
    JSON.stringify({
      ...profile,
      startTime: startUs,
      endTime: endUs,
      samples: profile.samples.slice(first, last + 1),
      timeDeltas: profile.timeDeltas.slice(first, last + 1),
    }),
  );
  return windowFile;
}

/** A fresh gateway under `node --cpu-prof` with the c=16 `mode` load; returns the summary text. */
async function profileGateway(configFile, upstream, mode) {
  mkdirSync(PROFILE_DIR, { recursive: true });
  const before = new Set(readdirSync(PROFILE_DIR));
  const gateway = await startGateway(configFile, ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`]);
  const target = { url: gateway.url, middle: gateway, upstream, processes: [gateway, upstream] };
  let result;
  try {
    if (WARMUP_S > 0) await load(target, mode, GOAL_CONCURRENCY, WARMUP_S);
    result = await load(target, mode, GOAL_CONCURRENCY, PROFILE_S);
  } finally {
    await stopServer(gateway); // the profile is written as the process exits
  }
  const written = readdirSync(PROFILE_DIR)
    .filter(
      (name) => name.endsWith(".cpuprofile") && !name.endsWith(".window.cpuprofile") && !before.has(name),
    )
    .map((name) => path.join(PROFILE_DIR, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (written.length === 0) throw new Error(`the gateway wrote no .cpuprofile into ${PROFILE_DIR}`);
  const windowFile = profileWindow(written[0], result.startUs, result.endUs);
  const summary = execFileSync(
    process.execPath,
    [path.join(repoRoot, "bench", "gateway", "summarize-profile.js"), windowFile, "25", "15"],
    { cwd: repoRoot, encoding: "utf8", timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return [
    `CPU profile of the gateway under the ${mode} c=${GOAL_CONCURRENCY} load, cut to the ${PROFILE_S} s measured ` +
      `after a ${WARMUP_S} s warm-up (${formatInt(result.rps)} req/s under the profiler, ` +
      `${formatInt(result.middleCpuMicrosPerRequest)} gateway CPU µs/req): ${path.relative(repoRoot, windowFile)} ` +
      `(cut from ${path.relative(repoRoot, written[0])})`,
    "",
    summary.trimEnd(),
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
    gateway = await startGateway(configFile);
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
    await stopServer(gateway);
    await stopServer(proxy);
    if (PROFILE_S > 0) {
      for (const mode of ["streaming", "unary"]) {
        console.error(`profiling the gateway under the ${mode} c=${GOAL_CONCURRENCY} load`);
        console.log("");
        console.log(await profileGateway(configFile, upstream, mode));
      }
    }
  } finally {
    await Promise.all([stopServer(gateway), stopServer(proxy), stopServer(upstream)]);
  }
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
} finally {
  // Nothing may outlive the benchmark: kill what is left (the exit handler does it again).
  killChildren();
  clearTimeout(deadline);
}
