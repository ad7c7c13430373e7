// Deployment lifecycle under load, through the library path on the manual clock: updates and
// scale-downs drop nothing, removal answers not_found at once while in-flight requests drain,
// and every one of 200 mixed requests is counted exactly once.
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { TokenChunk } from "../../src/core/token-chunk.js";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import { flushMicrotasks, ManualClock } from "../../src/testkit/manual-clock.js";
import { record, sample, sumSamples } from "./helpers.js";

let system: InferenceSystem | undefined;
afterEach(async () => {
  await system?.close({ drainTimeoutMs: 0 });
  system = undefined;
});

const body = (model: string, content: string, max_tokens: number) => ({
  model,
  messages: [{ role: "user", content }],
  max_tokens,
});
const echo = (replicas: number, tokensPerSecond: number) => ({
  name: "echo",
  model: "echo-1",
  runtime: "mock",
  replicas,
  serving: { max_concurrent: 16 },
  runtime_config: { tokens_per_second: tokensPerSecond },
});

describe("deployment lifecycle", () => {
  it("keeps 16 concurrent streams running through an update and a scale-down with zero failed requests", async () => {
    const clock = new ManualClock();
    system = await createInferenceSystem({ clock, deployments: [echo(2, 10)] });
    const sys = system;
    const streams = Array.from({ length: 16 }, (_, i) =>
      record(sys.stream(body("echo", `s${i}`, 30)), clock),
    );
    await clock.advance(500);
    const updated = await sys.apply(echo(3, 20)); // spec change and scale-up: a new generation
    expect(updated).toMatchObject({ state: "serving", replicas: 3, readyReplicas: 3 });
    for (let i = 0; i < 16; i++) streams.push(record(sys.stream(body("echo", `u${i}`, 30)), clock));
    await clock.advance(500);
    const scaledDown = await sys.apply(echo(1, 20));
    expect(scaledDown).toMatchObject({ state: "serving", replicas: 1, readyReplicas: 1 });
    for (let i = 0; i < 16; i++) streams.push(record(sys.stream(body("echo", `d${i}`, 30)), clock));
    for (let i = 0; i < 100 && streams.some((s) => !s.done); i++) await clock.advance(100);
    expect(streams.filter((s) => s.error !== undefined).map((s) => String(s.error))).toEqual([]);
    expect(streams.every((s) => s.chunks.at(-1)?.chunk.finishReason === "length")).toBe(true);
    const metrics = await sys.serving.service.metricsText();
    expect(sample(metrics, "rakka_requests_total", { deployment: "echo", outcome: "success" })).toBe(48);
    expect(sumSamples(metrics, "rakka_requests_total", { deployment: "echo" })).toBe(48);
    expect(await sys.deployments()).toEqual([
      expect.objectContaining({ state: "serving", readyReplicas: 1 }),
    ]);
  });

  it("a removed deployment answers not_found at once while its in-flight requests finish", async () => {
    const clock = new ManualClock();
    system = await createInferenceSystem({ clock, deployments: [echo(1, 10)] });
    const sys = system;
    const inFlight = record(sys.stream(body("echo", "still here", 5)), clock);
    await clock.advance(150);
    let removed = false;
    const removing = sys.remove("echo").then(() => {
      removed = true;
    });
    await flushMicrotasks();
    await expect(sys.complete(body("echo", "new", 1))).rejects.toMatchObject({ kind: "not_found" });
    expect((await sys.deployments())[0]?.state).toBe("draining");
    expect(removed).toBe(false);
    await clock.advance(1000);
    await removing;
    await inFlight.finished;
    expect(inFlight.error).toBeUndefined();
    expect(inFlight.chunks.map((c) => c.chunk.text).join("")).toBe("still here still here still");
    expect(await sys.deployments()).toEqual([]);
  });

  it("counts each of 200 concurrent requests (successes, cancellations, failures) exactly once", async () => {
    const clock = new ManualClock();
    system = await createInferenceSystem({
      clock,
      deployments: [
        {
          name: "ok",
          model: "m",
          runtime: "mock",
          serving: { max_concurrent: 64 },
          runtime_config: { tokens_per_second: 100 },
        },
        {
          name: "flaky",
          model: "m",
          runtime: "mock",
          serving: { max_concurrent: 64 },
          runtime_config: { tokens_per_second: 100, fail_after_tokens: 2 },
        },
      ],
    });
    const sys = system;
    const outcomes: string[] = [];
    const runs: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const kind = i % 4 === 0 ? "fail" : i % 4 === 1 ? "cancel" : "ok";
      const controller = new AbortController();
      const stream = sys.stream(body(kind === "fail" ? "flaky" : "ok", `w${i} x y`, 6), {
        signal: controller.signal,
      });
      runs.push(
        (async () => {
          let last: TokenChunk | undefined;
          try {
            for await (const chunk of stream) {
              last = chunk;
              if (kind === "cancel") controller.abort();
            }
            outcomes.push(last?.finishReason ? "success" : "cancelled");
          } catch (error) {
            outcomes.push((error as { kind: string }).kind);
          }
        })(),
      );
    }
    for (let i = 0; i < 50 && outcomes.length < 200; i++) await clock.advance(50);
    await Promise.all(runs);
    await flushMicrotasks();
    const count = (o: string) => outcomes.filter((x) => x === o).length;
    expect([count("success"), count("cancelled"), count("server_error")]).toEqual([100, 50, 50]);
    const metrics = await sys.serving.service.metricsText();
    expect(sumSamples(metrics, "rakka_requests_total")).toBe(200);
    expect(sample(metrics, "rakka_requests_total", { deployment: "ok", outcome: "success" })).toBe(100);
    expect(sample(metrics, "rakka_requests_total", { deployment: "ok", outcome: "cancelled" })).toBe(50);
    expect(sample(metrics, "rakka_requests_total", { deployment: "flaky", outcome: "server_error" })).toBe(
      50,
    );
    expect(sys.serving.service.inFlight).toBe(0);
    expect(sumSamples(metrics, "rakka_num_requests_running")).toBe(0);
  });
});

describe("updates of remote deployments", () => {
  it("re-applying with another secret source is an update: new requests use the new key", async () => {
    const { startMockProvider } = await import("../../src/testkit/mock-provider.js");
    const provider = await startMockProvider();
    const secrets = { env: { KEY_A: "key-a", KEY_B: "key-b" }, readFile: () => "" };
    system = await createInferenceSystem({ secrets });
    const gpt = (source: string) => ({
      name: "gpt",
      model: "gpt-4o",
      runtime_config: { api_key: { from_env: source }, base_url: `${provider.url}/v1` },
    });
    try {
      await system.apply(gpt("KEY_A"));
      await system.complete(body("gpt", "x", 1));
      await system.apply(gpt("KEY_B"));
      await system.complete(body("gpt", "x", 1));
      expect(provider.requests.map((request) => request.apiKey)).toEqual(["key-a", "key-b"]);
    } finally {
      await provider.close();
    }
  });
});

describe("ends that must free everything", () => {
  it("a deployment whose replica failed is logged at error level, and removing it completes", async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as { level: number; msg: string });
        done();
      },
    });
    system = await createInferenceSystem({
      logger: pino({ level: "info" }, sink),
      deployments: [
        { name: "echo", model: "echo-1", runtime: "mock", runtime_config: { poison_after_requests: 0 } },
      ],
    });
    for (let i = 0; i < 4; i++) {
      await expect(system.complete(body("echo", "x", 1))).rejects.toMatchObject({ kind: "context_poisoned" });
      await flushMicrotasks();
    }
    expect((await system.deployments())[0]?.state).toBe("failed");
    // serving is news (info); a failed deployment is what an operator alerts on (error)
    const logged = (msg: string) => lines.filter((line) => line.msg === msg).map((line) => line.level);
    expect(logged("deployment serving")).toEqual([30]);
    expect(logged("deployment failed")).toEqual([50]);
    await system.remove("echo");
    expect(await system.deployments()).toEqual([]);
  });

  it("the deadline frees an engine that waits on a client who stopped reading", async () => {
    const clock = new ManualClock();
    system = await createInferenceSystem({
      clock,
      server: { requestTimeoutMs: 1000 },
      deployments: [{ name: "echo", model: "echo-1", runtime: "mock", serving: { max_concurrent: 1 } }],
    });
    const sys = system;
    // 500 tokens, never read: the engine fills the client's channel and waits for room
    const unread = sys.stream(body("echo", "a b c", 500));
    const iterator = unread[Symbol.asyncIterator]();
    await iterator.next();
    await flushMicrotasks(10);
    const running = async () =>
      sample(await sys.serving.service.metricsText(), "rakka_num_requests_running", { deployment: "echo" });
    expect(await running()).toBe(1);
    await clock.advance(1000);
    await flushMicrotasks(10);
    expect(await running()).toBe(0);
    const next = await sys.complete(body("echo", "free", 1));
    expect(next.text).toBe("free");
  });
});
