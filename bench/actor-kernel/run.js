// Actor kernel benchmark (`npm run bench:actor-kernel`): tell throughput to one actor and spread
// over 1,000 actors, and ask round-trip latency, on the real system clock against the compiled
// kernel in dist/actor/. Each measurement runs 5 times, interleaved; the table shows the median.
// Results and the machine they came from are recorded in docs/benchmarks.md.

import os from "node:os";
import { pathToFileURL } from "node:url";
import { median, percentile } from "../lib/measure.js";

const ROUNDS = 5;
const TELLS_ONE_ACTOR = 3_000_000;
const TELLS_MANY_ACTORS = 3_000_000;
const ACTOR_COUNT = 1_000;
const ASK_WARMUP = 10_000;
const ASK_SAMPLES = 100_000;
const ASK_TIMEOUT_MS = 5_000;

const GOAL_TELLS_PER_SECOND = 1_000_000;
const GOAL_ASK_P50_MICROS = 10;

// ACTOR_KERNEL_DIR lets a run compare another build of the kernel (e.g. a baseline copy).
const kernelDir = process.env.ACTOR_KERNEL_DIR ?? new URL("../../dist/actor/", import.meta.url).pathname;
const { ActorSystem, props } = await import(pathToFileURL(`${kernelDir.replace(/\/?$/, "/")}index.js`).href);

const increment = Object.freeze({ type: "increment" });

/** Seconds elapsed since `start` (a process.hrtime.bigint reading). */
function secondsSince(start) {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** A promise, and the function that resolves it. */
function deferred() {
  let resolve;
  const promise = new Promise((settled) => {
    resolve = settled;
  });
  return { promise, resolve };
}

/** Once `finished` resolves: `count` tells over the time since `start`, per second; then the system ends. */
async function tellsPerSecond(system, start, finished, count) {
  await finished;
  const seconds = secondsSince(start);
  await system.terminate();
  return count / seconds;
}

/** Lets the previous run's garbage go before the next one starts (when node runs with --expose-gc). */
async function settle() {
  globalThis.gc?.();
  await new Promise((resolve) => setImmediate(resolve));
}

/** N tells from one synchronous sender to one counting actor; timed until the last one is handled. */
async function tellsToOneActor() {
  const system = ActorSystem.create({ name: "bench-one" });
  const { promise: finished, resolve: finish } = deferred();
  let handled = 0;
  const counter = system.spawn(
    props(() => ({
      receive() {
        if (++handled === TELLS_ONE_ACTOR) finish();
      },
    })),
    "counter",
  );
  await settle(); // let preStart run outside the timed section
  const start = process.hrtime.bigint();
  for (let i = 0; i < TELLS_ONE_ACTOR; i++) counter.tell(increment);
  return tellsPerSecond(system, start, finished, TELLS_ONE_ACTOR);
}

/** N tells, round robin over 1,000 counting actors; timed until every message is handled. */
async function tellsToManyActors() {
  const system = ActorSystem.create({ name: "bench-many" });
  const { promise: finished, resolve: finish } = deferred();
  let handled = 0;
  const counterProps = props(() => ({
    receive() {
      if (++handled === TELLS_MANY_ACTORS) finish();
    },
  }));
  const refs = [];
  for (let i = 0; i < ACTOR_COUNT; i++) refs.push(system.spawn(counterProps, `counter-${i}`));
  await settle();
  const start = process.hrtime.bigint();
  for (let i = 0; i < TELLS_MANY_ACTORS; i++) refs[i % ACTOR_COUNT].tell(increment);
  return tellsPerSecond(system, start, finished, TELLS_MANY_ACTORS);
}

/** Sequential asks to an echo actor; returns p50 and p99 of the round trip in microseconds. */
async function askRoundTrip() {
  const system = ActorSystem.create({ name: "bench-ask" });
  const echo = system.spawn(
    props(() => ({
      receive(message) {
        message.replyTo.tell(message.value);
      },
    })),
    "echo",
  );
  const options = { timeoutMs: ASK_TIMEOUT_MS };
  for (let i = 0; i < ASK_WARMUP; i++) await echo.ask((replyTo) => ({ value: i, replyTo }), options);
  const samples = new Float64Array(ASK_SAMPLES);
  for (let i = 0; i < ASK_SAMPLES; i++) {
    const start = process.hrtime.bigint();
    await echo.ask((replyTo) => ({ value: i, replyTo }), options);
    samples[i] = Number(process.hrtime.bigint() - start) / 1e3;
  }
  await system.terminate();
  samples.sort();
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

const formatRate = (value) => `${Math.round(value).toLocaleString("en-US")} /s`;
const formatMicros = (value) => `${value.toFixed(2)} µs`;

async function main() {
  const runs = { one: [], many: [], p50: [], p99: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    await settle();
    runs.one.push(await tellsToOneActor());
    await settle();
    runs.many.push(await tellsToManyActors());
    await settle();
    const { p50, p99 } = await askRoundTrip();
    runs.p50.push(p50);
    runs.p99.push(p99);
    console.error(
      `round ${round}/${ROUNDS}: one actor ${formatRate(runs.one.at(-1))}, ` +
        `1,000 actors ${formatRate(runs.many.at(-1))}, ask p50 ${formatMicros(p50)} p99 ${formatMicros(p99)}`,
    );
  }

  const cpus = os.cpus();
  const nproc = typeof os.availableParallelism === "function" ? os.availableParallelism() : cpus.length;
  const one = median(runs.one);
  const many = median(runs.many);
  const p50 = median(runs.p50);
  const p99 = median(runs.p99);
  const range = (values, format) => `${format(Math.min(...values))} – ${format(Math.max(...values))}`;
  const rows = [
    [
      `tells/s to one actor (${TELLS_ONE_ACTOR.toLocaleString("en-US")} tells)`,
      formatRate(one),
      range(runs.one, formatRate),
      `≥ ${formatRate(GOAL_TELLS_PER_SECOND)}`,
      one >= GOAL_TELLS_PER_SECOND ? "yes" : "no",
    ],
    [
      `tells/s over ${ACTOR_COUNT.toLocaleString("en-US")} actors, round robin (${TELLS_MANY_ACTORS.toLocaleString("en-US")} tells)`,
      formatRate(many),
      range(runs.many, formatRate),
      "—",
      "—",
    ],
    [
      `ask round trip p50 (${ASK_SAMPLES.toLocaleString("en-US")} sequential asks)`,
      formatMicros(p50),
      range(runs.p50, formatMicros),
      `< ${formatMicros(GOAL_ASK_P50_MICROS)}`,
      p50 < GOAL_ASK_P50_MICROS ? "yes" : "no",
    ],
    [`ask round trip p99`, formatMicros(p99), range(runs.p99, formatMicros), "—", "—"],
  ];
  console.log(`node ${process.version}, ${nproc} CPUs (${cpus[0]?.model ?? "unknown"}), ${os.platform()}`);
  console.log(`median of ${ROUNDS} interleaved runs\n`);
  console.log("| measurement | median | min – max | goal | met |");
  console.log("|---|---:|---:|---:|:---:|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
}

await main();
