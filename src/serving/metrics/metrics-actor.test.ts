import { register as globalRegistry, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { ActorRef, Logger } from "../../actor/index.js";
import { ActorSystem } from "../../actor/index.js";
import { flushMicrotasks, ManualClock } from "../../testkit/manual-clock.js";
import { metricsActorProps, metricsContentType } from "./metrics-actor.js";
import type { MetricsMessage } from "./metrics-messages.js";

type RequestFinished = Extract<MetricsMessage, { type: "request-finished" }>;

const systems: ActorSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((system) => system.terminate()));
});

function newSystem(logger?: Logger): ActorSystem {
  const system = ActorSystem.create({ name: `metrics-${systems.length}`, clock: new ManualClock(), logger });
  systems.push(system);
  return system;
}

function spawnMetrics(options?: Parameters<typeof metricsActorProps>[0], logger?: Logger) {
  return newSystem(logger).spawn(metricsActorProps(options), "metrics");
}

function scrape(metrics: ActorRef<MetricsMessage>): Promise<string> {
  return metrics.ask<string>((replyTo) => ({ type: "scrape", replyTo }), { timeoutMs: 1_000 });
}

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the sample lines of the Prometheus text format (label values here never hold `",`). */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with exactly these labels, or undefined when there is none. */
function sampleValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).sort();
  const found = parseSamples(text).filter(
    (sample) =>
      sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === JSON.stringify(want),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

function finished(overrides: Partial<RequestFinished> = {}): RequestFinished {
  return {
    type: "request-finished",
    deployment: "echo",
    outcome: "success",
    timeToFirstTokenSeconds: 0.05,
    e2eSeconds: 1.2,
    interTokenSeconds: [0.01, 0.02, 0.03],
    inputTokens: 10,
    outputTokens: 4,
    ...overrides,
  };
}

describe("request counts and tokens", () => {
  it("counts finished requests by deployment and outcome", async () => {
    const metrics = spawnMetrics();
    metrics.tell(finished());
    metrics.tell(finished());
    metrics.tell(finished({ outcome: "cancelled" }));
    metrics.tell(finished({ outcome: "timeout" }));
    metrics.tell(finished({ deployment: "gpt-4o", outcome: "rate_limited" }));
    const text = await scrape(metrics);
    expect(text).toContain('rakka_requests_total{deployment="echo",outcome="success"} 2\n');
    expect(sampleValue(text, "rakka_requests_total", { deployment: "echo", outcome: "cancelled" })).toBe(1);
    expect(sampleValue(text, "rakka_requests_total", { deployment: "echo", outcome: "timeout" })).toBe(1);
    expect(sampleValue(text, "rakka_requests_total", { deployment: "gpt-4o", outcome: "rate_limited" })).toBe(
      1,
    );
    expect(
      sampleValue(text, "rakka_requests_total", { deployment: "gpt-4o", outcome: "success" }),
    ).toBeUndefined();
  });

  it("adds input and output tokens per deployment", async () => {
    const metrics = spawnMetrics();
    metrics.tell(finished({ inputTokens: 10, outputTokens: 4 }));
    metrics.tell(finished({ inputTokens: 5, outputTokens: 0, outcome: "cancelled" }));
    const text = await scrape(metrics);
    expect(sampleValue(text, "rakka_tokens_total", { deployment: "echo", direction: "input" })).toBe(15);
    expect(sampleValue(text, "rakka_tokens_total", { deployment: "echo", direction: "output" })).toBe(4);
  });

  it("counts worker rebuilds", async () => {
    const metrics = spawnMetrics();
    metrics.tell({ type: "worker-rebuilt", deployment: "tiny" });
    metrics.tell({ type: "worker-rebuilt", deployment: "tiny" });
    const text = await scrape(metrics);
    expect(sampleValue(text, "rakka_worker_rebuilds_total", { deployment: "tiny" })).toBe(2);
  });
});

describe("latency histograms", () => {
  it("observes time to first token only when a first token was sent", async () => {
    const metrics = spawnMetrics();
    metrics.tell(finished({ timeToFirstTokenSeconds: 0.05 }));
    metrics.tell(finished({ timeToFirstTokenSeconds: 3 }));
    metrics.tell(finished({ timeToFirstTokenSeconds: undefined, outcome: "timeout", interTokenSeconds: [] }));
    const text = await scrape(metrics);
    const ttft = "rakka_time_to_first_token_seconds";
    expect(sampleValue(text, `${ttft}_count`, { deployment: "echo" })).toBe(2);
    expect(sampleValue(text, `${ttft}_sum`, { deployment: "echo" })).toBeCloseTo(3.05);
    expect(sampleValue(text, `${ttft}_bucket`, { deployment: "echo", le: "0.06" })).toBe(1);
    expect(sampleValue(text, `${ttft}_bucket`, { deployment: "echo", le: "5" })).toBe(2);
    expect(sampleValue(text, `${ttft}_bucket`, { deployment: "echo", le: "+Inf" })).toBe(2);
  });

  it("observes every inter-token gap and one end-to-end latency per request", async () => {
    const metrics = spawnMetrics();
    metrics.tell(finished({ interTokenSeconds: [0.001, 0.02, 0.02], e2eSeconds: 2 }));
    metrics.tell(finished({ interTokenSeconds: [0.3], e2eSeconds: 400 }));
    const text = await scrape(metrics);
    const itl = "rakka_inter_token_latency_seconds";
    expect(sampleValue(text, `${itl}_count`, { deployment: "echo" })).toBe(4);
    expect(sampleValue(text, `${itl}_sum`, { deployment: "echo" })).toBeCloseTo(0.341);
    expect(sampleValue(text, `${itl}_bucket`, { deployment: "echo", le: "0.0005" })).toBe(0);
    expect(sampleValue(text, `${itl}_bucket`, { deployment: "echo", le: "0.001" })).toBe(1);
    expect(sampleValue(text, `${itl}_bucket`, { deployment: "echo", le: "2.5" })).toBe(4);
    const e2e = "rakka_e2e_request_latency_seconds";
    expect(sampleValue(text, `${e2e}_count`, { deployment: "echo" })).toBe(2);
    expect(sampleValue(text, `${e2e}_bucket`, { deployment: "echo", le: "2" })).toBe(1);
    expect(sampleValue(text, `${e2e}_bucket`, { deployment: "echo", le: "480" })).toBe(2);
    expect(sampleValue(text, `${e2e}_bucket`, { deployment: "echo", le: "600" })).toBe(2);
  });

  it("observes queue time", async () => {
    const metrics = spawnMetrics();
    metrics.tell({ type: "queue-time", deployment: "tiny", seconds: 0.002 });
    metrics.tell({ type: "queue-time", deployment: "tiny", seconds: 12 });
    const text = await scrape(metrics);
    const queue = "rakka_request_queue_time_seconds";
    expect(sampleValue(text, `${queue}_count`, { deployment: "tiny" })).toBe(2);
    expect(sampleValue(text, `${queue}_sum`, { deployment: "tiny" })).toBeCloseTo(12.002);
    expect(sampleValue(text, `${queue}_bucket`, { deployment: "tiny", le: "0.005" })).toBe(1);
  });

  it("uses the buckets it is given", async () => {
    const metrics = spawnMetrics({ buckets: { e2eSeconds: [1, 10] } });
    metrics.tell(finished({ e2eSeconds: 5 }));
    const text = await scrape(metrics);
    const buckets = parseSamples(text)
      .filter((sample) => sample.name === "rakka_e2e_request_latency_seconds_bucket")
      .map((sample) => [sample.labels.le, sample.value]);
    expect(buckets).toEqual([
      ["1", 0],
      ["10", 1],
      ["+Inf", 1],
    ]);
  });
});

describe("load gauges", () => {
  const load = (
    replicaId: string,
    running: number,
    waiting: number,
    deployment = "tiny",
  ): MetricsMessage => ({
    type: "engine-load",
    deployment,
    replicaId,
    running,
    waiting,
  });

  it("sums the last load report of each replica", async () => {
    const metrics = spawnMetrics();
    metrics.tell(load("r0", 3, 1));
    metrics.tell(load("r1", 2, 5));
    metrics.tell(load("r0", 4, 0));
    metrics.tell(load("r0", 7, 7, "other"));
    const text = await scrape(metrics);
    expect(sampleValue(text, "rakka_num_requests_running", { deployment: "tiny" })).toBe(6);
    expect(sampleValue(text, "rakka_num_requests_waiting", { deployment: "tiny" })).toBe(5);
    expect(sampleValue(text, "rakka_num_requests_running", { deployment: "other" })).toBe(7);
  });

  it("drops a removed replica's contribution and reads 0 once no replica is left", async () => {
    const metrics = spawnMetrics();
    metrics.tell(load("r0", 3, 1));
    metrics.tell(load("r1", 2, 5));
    metrics.tell({ type: "replica-removed", deployment: "tiny", replicaId: "r0" });
    let text = await scrape(metrics);
    expect(sampleValue(text, "rakka_num_requests_running", { deployment: "tiny" })).toBe(2);
    expect(sampleValue(text, "rakka_num_requests_waiting", { deployment: "tiny" })).toBe(5);

    metrics.tell({ type: "replica-removed", deployment: "tiny", replicaId: "r1" });
    text = await scrape(metrics);
    expect(sampleValue(text, "rakka_num_requests_running", { deployment: "tiny" })).toBe(0);
    expect(sampleValue(text, "rakka_num_requests_waiting", { deployment: "tiny" })).toBe(0);

    metrics.tell(load("r2", 1, 0));
    text = await scrape(metrics);
    expect(sampleValue(text, "rakka_num_requests_running", { deployment: "tiny" })).toBe(1);
  });

  it("ignores a load report with a negative or non-finite count", async () => {
    const metrics = spawnMetrics();
    metrics.tell(load("r0", 3, 1));
    metrics.tell(load("r0", -1, 2));
    metrics.tell(load("r0", Number.NaN, 2));
    const text = await scrape(metrics);
    expect(sampleValue(text, "rakka_num_requests_running", { deployment: "tiny" })).toBe(3);
    expect(sampleValue(text, "rakka_num_requests_waiting", { deployment: "tiny" })).toBe(1);
  });
});

describe("deployment state", () => {
  it("exports one series per state with 1 for the current state", async () => {
    const metrics = spawnMetrics();
    metrics.tell({ type: "deployment-state", deployment: "tiny", state: "pending" });
    metrics.tell({ type: "deployment-state", deployment: "tiny", state: "serving" });
    metrics.tell({ type: "deployment-state", deployment: "gpt-4o", state: "failed" });
    const text = await scrape(metrics);
    const stateOf = (deployment: string) =>
      Object.fromEntries(
        parseSamples(text)
          .filter(
            (sample) => sample.name === "rakka_deployment_state" && sample.labels.deployment === deployment,
          )
          .map((sample) => [sample.labels.state, sample.value]),
      );
    expect(stateOf("tiny")).toEqual({ pending: 0, serving: 1, draining: 0, failed: 0, removed: 0 });
    expect(stateOf("gpt-4o")).toEqual({ pending: 0, serving: 0, draining: 0, failed: 1, removed: 0 });
    expect(text).toMatch(/# HELP rakka_deployment_state .*pending, serving, draining, failed, removed/);
  });

  it("shows a new deployment's load gauges at 0 before any load report", async () => {
    const metrics = spawnMetrics();
    metrics.tell({ type: "deployment-state", deployment: "tiny", state: "pending" });
    const text = await scrape(metrics);
    expect(sampleValue(text, "rakka_num_requests_running", { deployment: "tiny" })).toBe(0);
    expect(sampleValue(text, "rakka_num_requests_waiting", { deployment: "tiny" })).toBe(0);
  });
});

describe("isolation and hygiene", () => {
  it("keeps two actors' series apart and leaves the global registry alone", async () => {
    const first = spawnMetrics();
    const second = spawnMetrics();
    const sameSystemOther = systems[0]!.spawn(metricsActorProps(), "metrics-2");
    first.tell(finished());
    first.tell(finished());
    second.tell(finished());
    const [firstText, secondText, otherText] = await Promise.all([
      scrape(first),
      scrape(second),
      scrape(sameSystemOther),
    ]);
    expect(sampleValue(firstText, "rakka_requests_total", { deployment: "echo", outcome: "success" })).toBe(
      2,
    );
    expect(sampleValue(secondText, "rakka_requests_total", { deployment: "echo", outcome: "success" })).toBe(
      1,
    );
    expect(
      sampleValue(otherText, "rakka_requests_total", { deployment: "echo", outcome: "success" }),
    ).toBeUndefined();
    expect(await globalRegistry.metrics()).not.toContain("rakka_");
  });

  it("registers its series on a registry it is given", async () => {
    const registry = new Registry();
    const metrics = spawnMetrics({ registry });
    metrics.tell({ type: "worker-rebuilt", deployment: "tiny" });
    await scrape(metrics);
    expect(await registry.metrics()).toContain('rakka_worker_rebuilds_total{deployment="tiny"} 1');
  });

  it("never turns a malformed deployment name or an unknown outcome into a label value", async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn(_object, message) {
        warnings.push(message);
      },
      error() {},
    };
    const metrics = spawnMetrics(undefined, logger);
    metrics.tell(finished({ deployment: "Bearer sk-live-123 secret" }));
    metrics.tell(finished({ deployment: 'x"} 1\nrakka_fake{a="' }));
    metrics.tell(finished({ deployment: "" }));
    metrics.tell(finished({ outcome: "user said: my password is hunter2" as never }));
    metrics.tell({ type: "deployment-state", deployment: "tiny", state: "exploded" as never });
    const text = await scrape(metrics);
    const labelValues = parseSamples(text).flatMap((sample) => Object.entries(sample.labels));
    expect(new Set(labelValues.filter(([name]) => name === "deployment").map(([, value]) => value))).toEqual(
      new Set(["echo"]),
    );
    expect(sampleValue(text, "rakka_requests_total", { deployment: "echo", outcome: "internal" })).toBe(1);
    expect(text).not.toMatch(/secret|hunter2|rakka_fake|exploded/);
    expect(warnings).toHaveLength(5);
  });

  it("skips negative and non-finite durations and token counts", async () => {
    const metrics = spawnMetrics();
    metrics.tell(
      finished({
        timeToFirstTokenSeconds: Number.NaN,
        e2eSeconds: -1,
        interTokenSeconds: [0.01, Number.POSITIVE_INFINITY, -0.5],
        inputTokens: -3,
        outputTokens: Number.NaN,
      }),
    );
    metrics.tell({ type: "queue-time", deployment: "echo", seconds: -2 });
    const text = await scrape(metrics);
    expect(sampleValue(text, "rakka_requests_total", { deployment: "echo", outcome: "success" })).toBe(1);
    expect(
      sampleValue(text, "rakka_time_to_first_token_seconds_count", { deployment: "echo" }),
    ).toBeUndefined();
    expect(
      sampleValue(text, "rakka_e2e_request_latency_seconds_count", { deployment: "echo" }),
    ).toBeUndefined();
    expect(sampleValue(text, "rakka_inter_token_latency_seconds_count", { deployment: "echo" })).toBe(1);
    expect(
      sampleValue(text, "rakka_request_queue_time_seconds_count", { deployment: "echo" }),
    ).toBeUndefined();
    expect(
      sampleValue(text, "rakka_tokens_total", { deployment: "echo", direction: "input" }),
    ).toBeUndefined();
  });

  it("keeps its series and its load table across a supervisor restart", async () => {
    const registry = new Registry();
    const metrics = spawnMetrics({ registry });
    metrics.tell(finished());
    metrics.tell({ type: "engine-load", deployment: "tiny", replicaId: "r0", running: 2, waiting: 1 });
    // A scrape without a reply ref makes the handler throw: the default strategy restarts the actor.
    metrics.tell({ type: "scrape", replyTo: undefined as unknown as ActorRef<string> });
    await flushMicrotasks();
    metrics.tell({ type: "engine-load", deployment: "tiny", replicaId: "r1", running: 1, waiting: 0 });
    metrics.tell(finished());
    const text = await scrape(metrics);
    expect(sampleValue(text, "rakka_requests_total", { deployment: "echo", outcome: "success" })).toBe(2);
    expect(sampleValue(text, "rakka_num_requests_running", { deployment: "tiny" })).toBe(3);
  });

  it("exports the Prometheus text content type", () => {
    expect(metricsContentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
