// Local llama benchmark (`npm run bench:llama`): aggregate generated tokens/s and time to first
// token of a llama deployment through the whole HTTP path of `rakka serve` (HTTP, the actor system,
// the engine, node-llama-cpp, SSE encoding), at concurrency 1, 4 and 16, beside a baseline measured
// in the same run: node-llama-cpp driven directly in one child process (baseline.js) with the same
// model, thread count and number of sequences, and no HTTP.
//
// The model is the generated `small` one (512×8, Q8_0, ~40 MB, random weights), written by
// `rakka make-model --size small` into models/ (git-ignored) when missing. The gateway serves it
// with serving.max_concurrent = 16 and runtime_config { threads = 1, context_size = 512 }; every
// request is a streaming chat completion with max_tokens 64, temperature 0 and
// stream_options.include_usage, its tokens counted from the usage chunk. A measurement at
// concurrency N: a warm-up of one request per loop, then N loops each sending REQUESTS[N] requests
// back to back; tokens/s = all generated tokens ÷ the wall time of the N loops; TTFT = request sent
// → first SSE event with content (baseline: evaluate() called → first token). The matrix runs
// interleaved (per round and concurrency: baseline, then gateway) ROUNDS times; the tables show
// medians. When a goal is missed (or LLAMA_BENCH_PROFILE=1), a fresh gateway, then a fresh
// baseline, runs under `node --cpu-prof` with the c=16 load; each profile is cut to the measured
// part (NAME.window.cpuprofile) and summarised by running bench/gateway/summarize-profile.js.
// Results are recorded in docs/benchmarks.md ("Local llama").
//
// Progress goes to stderr, the results (markdown) to stdout. Knobs (environment):
//   LLAMA_BENCH_ROUNDS (5; 0 skips the matrix), LLAMA_BENCH_REQUESTS ("1:12,4:6,16:3": requests
//   per loop, per concurrency), LLAMA_BENCH_MODEL (models/small-llama.gguf),
//   LLAMA_BENCH_PROFILE (auto|1|0), LLAMA_BENCH_PROFILE_CONCURRENCY (16),
//   LLAMA_BENCH_PROFILE_DIR (bench/llama/profile; *.cpuprofile is git-ignored),
//   LLAMA_BENCH_DEADLINE_S (900: everything is killed and the run fails after this long),
//   LLAMA_BENCH_BASELINE_MIN_SEQUENCES (0; a diagnostic: 16 gives every baseline context the
//   gateway's 16 sequences, N of them generating).

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeGatewayConfig } from "../lib/gateway-config.js";
import { exchange } from "../lib/http.js";
import { countFromEnv, folderFromEnv, numberFromEnv } from "../lib/knobs.js";
import { describeMachine } from "../lib/machine.js";
import { clockTicksPerSecond, cpuTicks, machineBusyTicks, percentile, vmKib } from "../lib/measure.js";
import { assertRunning, spawnTracked, stopProcess } from "../lib/processes.js";
import { newProfiles, profilesBefore, profileWindow, summarizeWithTool } from "../lib/profile.js";
import { acrossRounds, matrixResults } from "../lib/rounds.js";
import { exitAfter, runBenchmark, setUpRun } from "../lib/run.js";
import { startGateway as startRakkaServe } from "../lib/server-process.js";
import { formatInt, formatMib, formatRatio, msFormat } from "../lib/table.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const here = fileURLToPath(new URL("./", import.meta.url));

const CONCURRENCY = [1, 4, 16];
const ROUNDS = countFromEnv("LLAMA_BENCH_ROUNDS", 5);
const REQUESTS = (() => {
  const table = { 1: 12, 4: 6, 16: 3 };
  for (const pair of (process.env.LLAMA_BENCH_REQUESTS ?? "").split(",").filter(Boolean)) {
    const [concurrency, count] = pair.split(":").map(Number);
    if (!CONCURRENCY.includes(concurrency) || !Number.isInteger(count) || count < 1)
      throw new Error(`LLAMA_BENCH_REQUESTS: bad entry "${pair}" (want e.g. 1:12,4:6,16:3)`);
    table[concurrency] = count;
  }
  return table;
})();
const MODEL = path.resolve(repoRoot, process.env.LLAMA_BENCH_MODEL ?? "models/small-llama.gguf");
const PROFILE = process.env.LLAMA_BENCH_PROFILE ?? "auto";
const PROFILE_CONCURRENCY = Number(process.env.LLAMA_BENCH_PROFILE_CONCURRENCY ?? 16);
if (!CONCURRENCY.includes(PROFILE_CONCURRENCY))
  throw new Error(`LLAMA_BENCH_PROFILE_CONCURRENCY must be one of ${CONCURRENCY.join(", ")}`);
const PROFILE_DIR = folderFromEnv("LLAMA_BENCH_PROFILE_DIR", path.join(here, "profile"));
const DEADLINE_S = numberFromEnv("LLAMA_BENCH_DEADLINE_S", 900);
// A diagnostic: the baseline's context holds at least this many sequences (16 = the gateway's
// layout, N of them generating); 0 (default) = exactly N, as the issue asks.
const BASELINE_MIN_SEQUENCES = countFromEnv("LLAMA_BENCH_BASELINE_MIN_SEQUENCES", 0);
const THREADS = 1;
const CONTEXT_SIZE = 512;
const MAX_CONCURRENT = 16;
const MAX_TOKENS = 64;
const GOAL_RATIO = 0.9;
const GOAL_SCALING = 1.4;
const START_TIMEOUT_MS = 120_000;
const REQUEST_TIMEOUT_MS = 120_000;
const DEPLOYMENT = "small";
const CHAT_PATH = "/v1/chat/completions";
const PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle.";

const requestBody = JSON.stringify({
  model: DEPLOYMENT,
  messages: [{ role: "user", content: PROMPT }],
  max_tokens: MAX_TOKENS,
  temperature: 0,
  stream: true,
  stream_options: { include_usage: true },
});

// Every child process is killed when this process exits, however it exits; every loop below is
// bounded, and LLAMA_BENCH_DEADLINE_S bounds the whole run too.
const tmpDir = setUpRun("rakka-bench-llama-");
const deadline = exitAfter(DEADLINE_S, "LLAMA_BENCH_DEADLINE_S");

/** `node [nodeArgs] bin/rakka.js serve --config FILE`, resolved once it listens and /readyz answers 200. */
const startGateway = (configFile, nodeArgs = []) =>
  startRakkaServe(configFile, { nodeArgs, timeoutMs: START_TIMEOUT_MS, pollMs: 100 });

// ── the gateway's client ───────────────────────────────────────────────────────────────────────

const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_CONCURRENT });

/**
 * One streaming chat completion: resolves with the TTFT (request sent → first SSE event with
 * content), the completion tokens from the usage chunk and the prompt tokens.
 */
function streamOnce(url) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let ttft = Number.NaN;
    let usage;
    let done = false;
    let buffer = "";
    const request = http.request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json" } },
      (response) => {
        response.setEncoding("utf8");
        if (response.statusCode !== 200) {
          let body = "";
          response.on("data", (text) => {
            body += text;
          });
          response.on("end", () => reject(new Error(`HTTP ${response.statusCode}: ${body.slice(0, 500)}`)));
          return;
        }
        response.on("data", (text) => {
          buffer += text;
          for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!event.startsWith("data: ")) continue;
            const data = event.slice(6);
            if (data === "[DONE]") {
              done = true;
              continue;
            }
            const chunk = JSON.parse(data);
            if (chunk.error) {
              reject(new Error(`stream error: ${JSON.stringify(chunk.error)}`));
              request.destroy();
              return;
            }
            if (Number.isNaN(ttft) && chunk.choices?.[0]?.delta?.content) ttft = performance.now() - started;
            if (chunk.usage) usage = chunk.usage;
          }
        });
        response.on("end", () => {
          if (!done || !usage) reject(new Error(`stream ended without ${done ? "usage" : "[DONE]"}`));
          else
            resolve({
              ttft,
              tokens: usage.completion_tokens,
              promptTokens: usage.prompt_tokens,
              totalMs: performance.now() - started,
            });
        });
        response.on("error", reject);
      },
    );
    request.setTimeout(REQUEST_TIMEOUT_MS, () =>
      request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)),
    );
    request.on("error", reject);
    request.end(requestBody);
  });
}

/**
 * The gateway's decode-step counters from /metrics: rakka_engine_steps_total (llama.cpp decode
 * calls) and the sum of rakka_batch_size (sequences per decode) for the deployment.
 */
async function decodeSteps(server) {
  const { body: text } = await exchange(`${server.url}/metrics`, "GET");
  const value = (name) => {
    const match = new RegExp(`^${name}\\{[^}]*deployment="${DEPLOYMENT}"[^}]*\\}\\s+(\\S+)`, "m").exec(text);
    return match ? Number(match[1]) : Number.NaN;
  };
  return { steps: value("rakka_engine_steps_total"), sequences: value("rakka_batch_size_sum") };
}

/** A warm-up of one request per loop, then `concurrency` loops of REQUESTS[concurrency] requests. */
async function measureGateway(server, concurrency) {
  assertRunning(server);
  const url = `${server.url}${CHAT_PATH}`;
  const warmupStarted = performance.now();
  await Promise.all(Array.from({ length: concurrency }, () => streamOnce(url)));
  const warmupMs = performance.now() - warmupStarted;
  const stepsBefore = await decodeSteps(server);
  const ticksBefore = cpuTicks(server.pid);
  const busyBefore = machineBusyTicks();
  const ownBefore = process.cpuUsage();
  const ttftMs = [];
  let tokens = 0;
  let requests = 0;
  let promptTokens;
  const startUs = Number(process.hrtime.bigint() / 1000n);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < REQUESTS[concurrency]; i++) {
        const result = await streamOnce(url);
        tokens += result.tokens;
        requests++;
        ttftMs.push(result.ttft);
        promptTokens = result.promptTokens;
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const endUs = Number(process.hrtime.bigint() / 1000n);
  assertRunning(server);
  const own = process.cpuUsage(ownBefore);
  const serverTicks = cpuTicks(server.pid) - ticksBefore;
  const busyTicks = machineBusyTicks() - busyBefore;
  const stepsAfter = await decodeSteps(server);
  return summarize({
    tokens,
    requests,
    elapsedMs,
    ttftMs,
    warmupMs,
    serverTicks,
    busyTicks,
    ownMicros: own.user + own.system,
    promptTokens,
    startUs,
    endUs,
    steps: stepsAfter.steps - stepsBefore.steps,
    stepSequences: stepsAfter.sequences - stepsBefore.sequences,
  });
}

// ── the baseline child ─────────────────────────────────────────────────────────────────────────

function startBaseline(nodeArgs = []) {
  const baseline = spawnTracked(
    "baseline",
    process.execPath,
    [
      ...nodeArgs,
      path.join(here, "baseline.js"),
      MODEL,
      String(THREADS),
      String(CONTEXT_SIZE),
      String(MAX_TOKENS),
      PROMPT,
      String(BASELINE_MIN_SEQUENCES),
    ],
    { stdio: ["ignore", "pipe", "pipe", "ipc"] },
  );
  const waiting = new Map();
  let nextId = 1;
  baseline.child.on("message", (message) => {
    if (message?.type === "result" || (message?.type === "error" && message.id !== undefined)) {
      const entry = waiting.get(message.id);
      waiting.delete(message.id);
      if (!entry) return;
      clearTimeout(entry.timer);
      if (message.type === "result") entry.resolve(message);
      else entry.reject(new Error(`baseline: ${message.message}`));
    }
  });
  baseline.exited.then(() => {
    for (const entry of waiting.values()) {
      clearTimeout(entry.timer);
      entry.reject(new Error(`baseline exited (${baseline.exit})\n${baseline.tails()}`));
    }
    waiting.clear();
  });
  baseline.run = (concurrency, warmup) => {
    assertRunning(baseline);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error("baseline: no result within 300 s"));
      }, 300_000);
      waiting.set(id, { resolve, reject, timer });
      baseline.child.send({
        type: "run",
        id,
        sequences: concurrency,
        requestsPerLoop: warmup ? 0 : REQUESTS[concurrency],
        warmup,
      });
    });
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`baseline: not ready within ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS,
    );
    baseline.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`baseline exited (${baseline.exit}) before it was ready\n${baseline.tails()}`));
    });
    baseline.child.on("message", (message) => {
      if (message?.type === "ready") {
        clearTimeout(timer);
        baseline.started = true;
        baseline.promptTokens = message.promptTokens;
        baseline.loadMs = message.loadMs;
        resolve(baseline);
      } else if (message?.type === "error" && message.id === undefined) {
        clearTimeout(timer);
        reject(new Error(`baseline: ${message.message}`));
      }
    });
  });
}

/** The same shape as measureGateway: a warm-up (its own message), then the measured part. */
async function measureBaseline(baseline, concurrency) {
  const warmup = await baseline.run(concurrency, true);
  const ticksBefore = cpuTicks(baseline.pid);
  const busyBefore = machineBusyTicks();
  const ownBefore = process.cpuUsage();
  const result = await baseline.run(concurrency, false);
  const own = process.cpuUsage(ownBefore);
  return summarize({
    ...result,
    warmupMs: warmup.warmupMs,
    serverTicks: cpuTicks(baseline.pid) - ticksBefore,
    busyTicks: machineBusyTicks() - busyBefore,
    ownMicros: own.user + own.system,
    promptTokens: baseline.promptTokens,
  });
}

// ── statistics and formatting ──────────────────────────────────────────────────────────────────

function summarize(run) {
  const ttft = run.ttftMs.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  const seconds = run.elapsedMs / 1000;
  return {
    tokens: run.tokens,
    requests: run.requests,
    elapsedMs: run.elapsedMs,
    warmupMs: run.warmupMs,
    tokensPerSecond: run.tokens / seconds,
    ttftP50: percentile(ttft, 0.5),
    ttftMax: ttft.length > 0 ? ttft[ttft.length - 1] : Number.NaN,
    missingTtft: run.ttftMs.length - ttft.length,
    // CPU of the server process (all threads), in % of one CPU, and per generated token
    serverCpuPercent: (100 * run.serverTicks) / clockTicksPerSecond / seconds,
    serverCpuMsPerToken: (1000 * run.serverTicks) / clockTicksPerSecond / run.tokens,
    machineCpuPercent: (100 * run.busyTicks) / clockTicksPerSecond / seconds,
    // this process (the HTTP client, or idle while the baseline runs), in % of one CPU
    clientCpuPercent: run.ownMicros / 1e4 / seconds,
    // CPU that neither the server nor this process used: other processes on the machine
    otherCpuPercent: Math.max(
      0,
      (100 * (run.busyTicks - run.serverTicks)) / clockTicksPerSecond / seconds -
        run.ownMicros / 1e4 / seconds,
    ),
    promptTokens: run.promptTokens,
    startUs: run.startUs,
    endUs: run.endUs,
    // llama.cpp decode calls in the measured part, and the mean number of sequences in one
    steps: run.steps,
    sequencesPerStep: run.stepSequences / run.steps,
  };
}

const formatMs = msFormat(1);

// ── main ───────────────────────────────────────────────────────────────────────────────────────

const machine = () => describeMachine("not pinned");

function ensureModel() {
  if (existsSync(MODEL)) {
    console.error(
      `model: ${path.relative(repoRoot, MODEL)} (exists, ${(statSync(MODEL).size / 1e6).toFixed(1)} MB)`,
    );
    return;
  }
  mkdirSync(path.dirname(MODEL), { recursive: true });
  console.error(`model: writing ${path.relative(repoRoot, MODEL)} (rakka make-model --size small)`);
  execFileSync(
    process.execPath,
    [path.join(repoRoot, "bin", "rakka.js"), "make-model", "--out", MODEL, "--size", "small"],
    {
      cwd: repoRoot,
      stdio: ["ignore", "inherit", "inherit"],
      timeout: 120_000,
    },
  );
}

const writeConfig = () =>
  writeGatewayConfig(
    tmpDir,
    "bench/llama/run.js",
    { name: DEPLOYMENT, model: MODEL, runtime: "llama" },
    [`max_concurrent = ${MAX_CONCURRENT}`],
    [`threads      = ${THREADS}`, `context_size = ${CONTEXT_SIZE}`],
  );

async function runMatrix(gateway, baseline) {
  const { runs, record } = matrixResults(ROUNDS * CONCURRENCY.length * 2, 13); // `c${N} ${target}` → results per round
  for (let round = 1; round <= ROUNDS; round++) {
    for (const concurrency of CONCURRENCY) {
      for (const target of ["baseline", "gateway"]) {
        const result =
          target === "baseline"
            ? await measureBaseline(baseline, concurrency)
            : await measureGateway(gateway, concurrency);
        console.error(
          `${record(round, `c${concurrency} ${target}`, result)} ${result.tokensPerSecond.toFixed(0).padStart(5)} tok/s ` +
            `(${result.tokens} tokens, ${result.requests} requests in ${formatMs(result.elapsedMs)}) ` +
            `TTFT p50 ${formatMs(result.ttftP50)} max ${formatMs(result.ttftMax)} ` +
            `server CPU ${result.serverCpuPercent.toFixed(0)} % (${result.serverCpuMsPerToken.toFixed(2)} ms/token), ` +
            `client ${result.clientCpuPercent.toFixed(0)} %, others ${result.otherCpuPercent.toFixed(0)} %, ` +
            `${result.steps} decode steps (${result.sequencesPerStep.toFixed(2)} sequences each)` +
            (result.missingTtft > 0 ? ` (${result.missingTtft} requests without content)` : ""),
        );
      }
    }
  }
  return runs;
}

function report(runs, extra) {
  const lines = [];
  const medians = {};
  lines.push(
    `median of ${ROUNDS} interleaved rounds; ${MAX_TOKENS} tokens per request (max_tokens), greedy; requests per ` +
      `loop: ${CONCURRENCY.map((c) => `c=${c}: ${REQUESTS[c]}`).join(", ")} (after a warm-up of one per loop); ` +
      `threads ${THREADS}, context ${CONTEXT_SIZE} per sequence; prompt ${extra.promptTokens} tokens; CLK_TCK ${clockTicksPerSecond}` +
      (BASELINE_MIN_SEQUENCES > 0
        ? `; the baseline's contexts hold at least ${BASELINE_MIN_SEQUENCES} sequences (LLAMA_BENCH_BASELINE_MIN_SEQUENCES)`
        : ""),
  );
  lines.push("");
  lines.push(
    "| conc. | target | tokens/s | min – max | TTFT p50 | TTFT max (median) | server CPU | server CPU ms/token | " +
      "client CPU | other processes' CPU (max) | decode steps | sequences per step | gateway ÷ baseline |",
  );
  lines.push("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const concurrency of CONCURRENCY) {
    for (const target of ["baseline", "gateway"]) {
      const results = runs.get(`c${concurrency} ${target}`);
      medians[`c${concurrency} ${target}`] = {
        ...acrossRounds(results, {
          tps: ["median", "tokensPerSecond"],
          min: ["min", "tokensPerSecond"],
          max: ["max", "tokensPerSecond"],
          ttft: ["median", "ttftP50"],
          ttftMax: ["median", "ttftMax"],
          cpu: ["median", "serverCpuPercent"],
          cpuPerToken: ["median", "serverCpuMsPerToken"],
          client: ["median", "clientCpuPercent"],
          others: ["max", "otherCpuPercent"],
          steps: ["median", "steps"],
          perStep: ["median", "sequencesPerStep"],
        }),
        tokens: results.reduce((sum, r) => sum + r.tokens, 0),
        requests: results.reduce((sum, r) => sum + r.requests, 0),
      };
    }
    const base = medians[`c${concurrency} baseline`];
    const gate = medians[`c${concurrency} gateway`];
    for (const [target, m] of [
      ["baseline", base],
      ["gateway", gate],
    ]) {
      lines.push(
        `| ${concurrency} | ${target} | ${formatInt(m.tps)} | ${formatInt(m.min)} – ${formatInt(m.max)} | ` +
          `${formatMs(m.ttft)} | ${formatMs(m.ttftMax)} | ${m.cpu.toFixed(0)} % | ${m.cpuPerToken.toFixed(2)} | ` +
          `${m.client.toFixed(0)} % | ${m.others.toFixed(0)} % | ${formatInt(m.steps)} | ${m.perStep.toFixed(2)} | ` +
          `${target === "gateway" ? formatRatio(gate.tps / base.tps) : ""} |`,
      );
    }
  }
  lines.push("");
  const goals = [];
  for (const concurrency of CONCURRENCY) {
    const base = medians[`c${concurrency} baseline`];
    const gate = medians[`c${concurrency} gateway`];
    const ratio = gate.tps / base.tps;
    const perRound = runs
      .get(`c${concurrency} gateway`)
      .map((run, i) =>
        formatRatio(run.tokensPerSecond / runs.get(`c${concurrency} baseline`)[i].tokensPerSecond),
      )
      .join(", ");
    goals.push({
      met: ratio >= GOAL_RATIO,
      text:
        `- c=${concurrency}: gateway ${formatRatio(ratio)} of the baseline's tokens/s (goal ≥ ${formatRatio(GOAL_RATIO)}): ` +
        `${ratio >= GOAL_RATIO ? "met" : "NOT met"}; per round ${perRound}`,
    });
  }
  const scaling = medians["c16 gateway"].tps / medians["c1 gateway"].tps;
  const baseScaling = medians["c16 baseline"].tps / medians["c1 baseline"].tps;
  goals.push({
    met: scaling >= GOAL_SCALING,
    text:
      `- gateway c=16 ÷ gateway c=1 tokens/s: ${scaling.toFixed(2)}× (goal ≥ ${GOAL_SCALING}×): ` +
      `${scaling >= GOAL_SCALING ? "met" : "NOT met"}; the baseline's own: ${baseScaling.toFixed(2)}×`,
  });
  lines.push(...goals.map((goal) => goal.text));
  lines.push("");
  lines.push(
    `Tokens generated in the measured parts: ${CONCURRENCY.map(
      (c) =>
        `c=${c}: gateway ${medians[`c${c} gateway`].tokens} in ${medians[`c${c} gateway`].requests} requests, ` +
        `baseline ${medians[`c${c} baseline`].tokens}`,
    ).join("; ")} (all rounds).`,
  );
  lines.push(
    `RSS at the end: gateway ${formatMib(extra.rss.gateway)} (peak ${formatMib(extra.peak.gateway)}), ` +
      `baseline ${formatMib(extra.rss.baseline)} (peak ${formatMib(extra.peak.baseline)}; it holds one context per ` +
      `concurrency, ${CONCURRENCY.reduce((a, b) => a + Math.max(b, BASELINE_MIN_SEQUENCES), 0)} sequences in all). ` +
      "Start-up: gateway ready in " +
      `${formatMs(extra.gatewayReadyMs)}, baseline model load ${formatMs(extra.baselineLoadMs)}.`,
  );
  return { text: lines.join("\n"), missed: goals.some((goal) => !goal.met) };
}

/** Ends the baseline child the way that lets it write its profile: the "exit" message, then a wait. */
async function stopBaseline(baseline) {
  if (!baseline || baseline.exit !== undefined) return;
  baseline.stopping = true;
  if (baseline.child.connected) baseline.child.send({ type: "exit" });
  let timer;
  await Promise.race([baseline.exited, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
  clearTimeout(timer);
  await stopProcess(baseline);
}

/**
 * A fresh gateway, then a fresh baseline, under `node --cpu-prof` with the c=16 load (or
 * LLAMA_BENCH_PROFILE_CONCURRENCY's); each
 * profile is cut to the measured part (the warm-up and start-up left out) and summarised by
 * bench/gateway/summarize-profile.js.
 */
async function profileServers(configFile) {
  const profileArgs = ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`];
  let before = profilesBefore(PROFILE_DIR);
  const gateway = await startGateway(configFile, profileArgs);
  let gatewayResult;
  try {
    gatewayResult = await measureGateway(gateway, PROFILE_CONCURRENCY);
  } finally {
    await stopProcess(gateway); // the profile is written as the process exits
  }
  const [gatewayFile] = newProfiles(PROFILE_DIR, before);
  if (!gatewayFile) throw new Error(`the gateway wrote no .cpuprofile into ${PROFILE_DIR}`);
  before = profilesBefore(PROFILE_DIR);
  const baseline = await startBaseline(profileArgs);
  let baselineResult;
  try {
    baselineResult = await measureBaseline(baseline, PROFILE_CONCURRENCY);
  } finally {
    await stopBaseline(baseline);
  }
  const [baselineFile] = newProfiles(PROFILE_DIR, before);
  if (!baselineFile) throw new Error(`the baseline wrote no .cpuprofile into ${PROFILE_DIR}`);
  const heading = (name, result, file, windowFile) =>
    `CPU profile of the ${name}'s main thread (llama.cpp's decode runs on a libuv worker thread and is not ` +
    `sampled) during the measured part of a c=${PROFILE_CONCURRENCY} run (${PROFILE_CONCURRENCY} loops × ` +
    `${REQUESTS[PROFILE_CONCURRENCY]} requests after a warm-up; ` +
    `${result.tokensPerSecond.toFixed(0)} tokens/s under the profiler, TTFT p50 ${formatMs(result.ttftP50)}, ` +
    `process CPU ${result.serverCpuPercent.toFixed(0)} % of one CPU, ${result.serverCpuMsPerToken.toFixed(2)} ms/token): ` +
    `${path.relative(repoRoot, windowFile)} (cut from ${path.relative(repoRoot, file)})`;
  const gatewayWindow = profileWindow(gatewayFile, gatewayResult.startUs, gatewayResult.endUs);
  const baselineWindow = profileWindow(baselineFile, baselineResult.startUs, baselineResult.endUs);
  return [
    heading("gateway", gatewayResult, gatewayFile, gatewayWindow),
    "",
    summarizeWithTool(gatewayWindow, 25, 15),
    "",
    heading("baseline", baselineResult, baselineFile, baselineWindow),
    "",
    summarizeWithTool(baselineWindow, 15, 0),
  ].join("\n");
}

async function main() {
  console.log(machine());
  ensureModel();
  const configFile = writeConfig();
  const missed = ROUNDS > 0 ? await measureMatrix(configFile) : false;
  if (PROFILE === "1" || (PROFILE === "auto" && missed)) {
    console.error(`profiling the gateway, then the baseline, under the c=${PROFILE_CONCURRENCY} load`);
    console.log("");
    console.log(await profileServers(configFile));
  }
}

/** Both servers, the checks, the interleaved matrix and its report; true when a goal is missed. */
async function measureMatrix(configFile) {
  let gateway;
  let baseline;
  let missed = false;
  try {
    const gatewayStarted = performance.now();
    gateway = await startGateway(configFile);
    const gatewayReadyMs = performance.now() - gatewayStarted;
    console.error(`gateway (pid ${gateway.pid}) at ${gateway.url}, ready in ${formatMs(gatewayReadyMs)}`);
    baseline = await startBaseline();
    console.error(
      `baseline (pid ${baseline.pid}): model loaded in ${formatMs(baseline.loadMs)}, prompt ${baseline.promptTokens} tokens`,
    );
    const check = await streamOnce(`${gateway.url}${CHAT_PATH}`);
    if (check.promptTokens !== baseline.promptTokens)
      console.error(
        `WARNING: the gateway evaluates ${check.promptTokens} prompt tokens, the baseline ${baseline.promptTokens}`,
      );
    console.error(
      `gateway check: ${check.tokens} tokens, TTFT ${formatMs(check.ttft)}, ${formatMs(check.totalMs)} in all`,
    );
    const runs = await runMatrix(gateway, baseline);
    const { text, missed: anyMissed } = report(runs, {
      promptTokens: baseline.promptTokens,
      rss: { gateway: vmKib(gateway.pid, "VmRSS"), baseline: vmKib(baseline.pid, "VmRSS") },
      peak: { gateway: vmKib(gateway.pid, "VmHWM"), baseline: vmKib(baseline.pid, "VmHWM") },
      gatewayReadyMs,
      baselineLoadMs: baseline.loadMs,
    });
    missed = anyMissed;
    console.log(text);
  } finally {
    await Promise.all([stopProcess(gateway), stopBaseline(baseline)]);
  }
  return missed;
}

await runBenchmark(main, () => {
  agent.destroy();
  clearTimeout(deadline);
});
