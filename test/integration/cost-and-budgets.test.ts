// Cost ledger and budgets (docs/providers.md) on the manual clock: every request records its cost
// (the provider's list price or the deployment's own), budgets are checked at admission against
// spend plus reservations over fixed UTC hours and days.
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createInferenceSystem, type DeploymentInput, type InferenceSystem } from "../../src/index.js";
import { flushMicrotasks, ManualClock, until } from "../../src/testkit/manual-clock.js";
import {
  complete,
  type MockProvider,
  stallMidStream,
  startMockProvider,
} from "../../src/testkit/mock-provider.js";
import { record, sample, sumSamples } from "./helpers.js";

let system: InferenceSystem | undefined;
let provider: MockProvider | undefined;
afterEach(async () => {
  await system?.close({ drainTimeoutMs: 0 });
  await provider?.close();
  system = undefined;
  provider = undefined;
});

const HOUR = 3_600_000;
/** $1 per thousand tokens, in and out: a token costs $0.001. */
const pricing = { input_per_million_usd: 1000, output_per_million_usd: 1000 };
const ask = (model: string, content = "a b", max_tokens = 4) => ({
  model,
  messages: [{ role: "user", content }],
  max_tokens,
});

function captureLogs() {
  const lines: Array<{ msg: string }> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as { msg: string });
      done();
    },
  });
  return { logger: pino({ level: "info" }, sink), lines };
}

async function start(deployments: DeploymentInput[], clock = new ManualClock(), logger?: pino.Logger) {
  // a deadline longer than the budget windows the tests cross
  system = await createInferenceSystem({
    clock,
    deployments,
    server: { requestTimeoutMs: 48 * HOUR },
    ...(logger ? { logger } : {}),
  });
  return system;
}

describe("cost ledger", () => {
  it("prices OpenAI usage from the versioned table: cached input and output priced separately", async () => {
    provider = await startMockProvider();
    const s = await start([
      {
        name: "gpt",
        model: "gpt-4o",
        runtime_config: { api_key: "sk-test", base_url: `${provider.url}/v1` },
      },
    ]);
    provider.script(
      complete({
        usage: {
          prompt_tokens: 1000,
          completion_tokens: 500,
          prompt_tokens_details: { cached_tokens: 400 },
          completion_tokens_details: { reasoning_tokens: 200 },
        },
      }),
    );
    await s.complete(ask("gpt"));
    const metrics = await s.serving.service.metricsText();
    // gpt-4o: $2.50 input, $1.25 cached input, $10 output per million
    expect(sample(metrics, "rakka_cost_usd_total", { deployment: "gpt" })).toBeCloseTo(
      (600 * 2.5 + 400 * 1.25 + 500 * 10) / 1e6,
      10,
    );
  });

  it("a deployment's [deployment.pricing] overrides the table", async () => {
    const s = await start([{ name: "echo", model: "m", runtime: "mock", pricing }]);
    await s.complete(ask("echo")); // 2 input words, 4 output tokens
    expect(
      sample(await s.serving.service.metricsText(), "rakka_cost_usd_total", { deployment: "echo" }),
    ).toBeCloseTo(0.006, 10);
  });

  it("a remote model with no price has an unknown cost, counted as such and never as zero spend", async () => {
    provider = await startMockProvider();
    const s = await start([
      {
        name: "unlisted",
        model: "my-finetune",
        runtime: "openai-compatible",
        runtime_config: { base_url: `${provider.url}/v1` },
      },
      { name: "local", model: "m", runtime: "mock" },
    ]);
    await s.complete(ask("unlisted"));
    await s.complete(ask("unlisted"));
    await s.complete(ask("local")); // a local model is free, not unknown
    const metrics = await s.serving.service.metricsText();
    expect(sample(metrics, "rakka_cost_unknown_requests_total", { deployment: "unlisted" })).toBe(2);
    expect(sample(metrics, "rakka_cost_unknown_requests_total", { deployment: "local" })).toBeUndefined();
    expect(sample(metrics, "rakka_cost_usd_total", { deployment: "unlisted" })).toBeUndefined();
  });

  it("a cancelled stream that reported no usage records an estimate, flagged as such", async () => {
    provider = await startMockProvider();
    const clock = new ManualClock();
    const s = await start(
      [
        {
          name: "gpt",
          model: "gpt-4o",
          runtime_config: { api_key: "sk-test", base_url: `${provider.url}/v1` },
        },
      ],
      clock,
    );
    provider.script(stallMidStream(2));
    const controller = new AbortController();
    const stream = record(s.stream(ask("gpt", "one two three four"), { signal: controller.signal }), clock);
    await until(() => stream.chunks.length === 2);
    controller.abort();
    await stream.finished;
    await flushMicrotasks();
    const metrics = await s.serving.service.metricsText();
    // estimate: ceil(18 chars / 4) = 5 input tokens, 2 output chunks, at gpt-4o prices
    const estimate = (5 * 2.5 + 2 * 10) / 1e6;
    expect(sample(metrics, "rakka_cost_usd_total", { deployment: "gpt" })).toBeCloseTo(estimate, 12);
    expect(sample(metrics, "rakka_cost_estimated_usd_total", { deployment: "gpt" })).toBeCloseTo(
      estimate,
      12,
    );
  });
});

describe("cost of failed streams", () => {
  it("a stream that fails after content records its estimated cost exactly once", async () => {
    const clock = new ManualClock();
    const s = await start(
      [{ name: "echo", model: "m", runtime: "mock", pricing, runtime_config: { fail_after_tokens: 2 } }],
      clock,
    );
    const stream = record(s.stream(ask("echo", "one two three four")), clock);
    await stream.finished;
    expect(stream.error).toMatchObject({ kind: "server_error" });
    await flushMicrotasks();
    // estimate: ceil(18 chars / 4) = 5 input tokens + 2 output chunks, at $0.001 a token
    const metrics = await s.serving.service.metricsText();
    expect(sample(metrics, "rakka_cost_usd_total", { deployment: "echo" })).toBeCloseTo(0.007, 10);
    expect(sample(metrics, "rakka_cost_estimated_usd_total", { deployment: "echo" })).toBeCloseTo(0.007, 10);
  });
});

describe("budgets", () => {
  // estimate per request: ceil(3 chars / 4) = 1 prompt token + 4 max tokens = $0.005; actual: 2 + 4 = $0.006
  const budgeted = (
    onExceeded: "reject" | "warn" | "throttle",
    extra: Record<string, unknown> = {},
    config: Record<string, unknown> = {},
  ) => ({
    name: "echo",
    model: "m",
    runtime: "mock",
    pricing,
    budget: { max_spend_per_hour_usd: 0.01, on_exceeded: onExceeded },
    runtime_config: config,
    ...extra,
  });

  it("reject: 429 budget_exceeded with no engine call once spend plus the estimate passes the hourly limit; the next hour serves again", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10, 30));
    const s = await start([budgeted("reject")], clock);
    await s.complete(ask("echo")); // $0.006 spent
    const refused = await s.complete(ask("echo")).catch((e: unknown) => e); // 0.006 + 0.005 > 0.01
    expect(refused).toMatchObject({ kind: "budget_exceeded" });
    expect((refused as Error).message).toBe(
      "deployment echo: spend $0.006 plus reserved $0.00 plus this request's estimate $0.005 would pass its hourly budget of $0.01",
    );
    expect((refused as { details: { retryAfterMs: number } }).details.retryAfterMs).toBe(HOUR / 2);
    let metrics = await s.serving.service.metricsText();
    expect(sample(metrics, "rakka_tokens_total", { deployment: "echo", direction: "output" })).toBe(4); // only the first ran
    expect(sample(metrics, "rakka_requests_total", { deployment: "echo", outcome: "budget_exceeded" })).toBe(
      1,
    );
    await clock.advance(HOUR / 2); // 11:00 UTC: a new hour
    await s.complete(ask("echo"));
    metrics = await s.serving.service.metricsText();
    expect(sample(metrics, "rakka_tokens_total", { deployment: "echo", direction: "output" })).toBe(8);
  });

  it("a daily budget spans the hours of a UTC day", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 22, 0));
    const s = await start([{ ...budgeted("reject"), budget: { max_spend_per_day_usd: 0.012 } }], clock);
    await s.complete(ask("echo"));
    await clock.advance(HOUR); // 23:00, same day
    await expect(s.complete(ask("echo"))).resolves.toBeDefined(); // 0.006 + 0.005 ≤ 0.012
    await expect(s.complete(ask("echo"))).rejects.toMatchObject({ kind: "budget_exceeded" });
    await clock.advance(HOUR); // midnight: the next day
    await expect(s.complete(ask("echo"))).resolves.toBeDefined();
  });

  it("a failed request releases its reservation", async () => {
    const s = await start([budgeted("reject", {}, { fail_after_tokens: 0 })]);
    for (let i = 0; i < 4; i++) {
      // each reserves $0.005 and fails before any token; leaked reservations would exceed $0.01 by the third
      await expect(s.complete(ask("echo"))).rejects.toMatchObject({ kind: "server_error" });
      await flushMicrotasks();
    }
  });

  it("warn: serves over budget and logs once per window", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10, 0));
    const { logger, lines } = captureLogs();
    const s = await start([budgeted("warn")], clock, logger);
    for (let i = 0; i < 4; i++) await s.complete(ask("echo"));
    const warnings = () => lines.filter((line) => line.msg.startsWith("budget exceeded")).length;
    expect(warnings()).toBe(1);
    await clock.advance(HOUR);
    for (let i = 0; i < 3; i++) await s.complete(ask("echo"));
    expect(warnings()).toBe(2);
  });

  it("throttle: halves the deployment's concurrency until the window rolls", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10, 0));
    const s = await start(
      [
        budgeted(
          "throttle",
          { serving: { max_concurrent: 4, on_capacity_exhausted: "reject" } },
          { tokens_per_second: 10 },
        ),
      ],
      clock,
    );
    const open = (n: number) => Array.from({ length: n }, () => record(s.stream(ask("echo")), clock));
    const running = async () =>
      sumSamples(await s.serving.service.metricsText(), "rakka_num_requests_running");
    // $0.012 spent this hour: over the $0.01 budget
    for (let i = 0; i < 2; i++) {
      const done = record(s.stream(ask("echo")), clock);
      await clock.advance(400);
      await done.finished;
    }
    // over budget: served, but at most 2 of the 4 slots at once
    const throttled = open(3);
    await until(() => throttled.filter((r) => r.done).length === 1);
    expect(throttled.filter((r) => r.done).map((r) => (r.error as { kind?: string }).kind)).toEqual([
      "backpressure",
    ]);
    expect(await running()).toBe(2);
    await clock.advance(400);
    await Promise.all(throttled.map((r) => r.finished));
    // 11:00 UTC: the window rolls, the throttle lifts, 4 run at once
    await clock.advance(HOUR - 800);
    // (max_tokens 1: four reservations of $0.002 fit in the fresh hour's $0.01)
    const lifted = Array.from({ length: 4 }, () => record(s.stream(ask("echo", "a b", 1)), clock));
    await until(() => s.serving.service.inFlight === 4);
    await flushMicrotasks();
    expect(await running()).toBe(4);
    await clock.advance(100);
    await Promise.all(lifted.map((r) => r.finished));
    expect(lifted.map((r) => String(r.error))).toEqual(Array(4).fill("undefined"));
  });
});
