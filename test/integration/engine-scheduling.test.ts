// The local engine's admission through the whole library path, on the manual clock:
// continuous admission, on_capacity_exhausted, priority, cancellation, deadline.
import { afterEach, describe, expect, it } from "vitest";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import { flushMicrotasks, ManualClock } from "../../src/testkit/manual-clock.js";
import { type Recorded, record, sample, text } from "./helpers.js";

let system: InferenceSystem | undefined;
let clock: ManualClock;
afterEach(async () => {
  await system?.close({ drainTimeoutMs: 0 });
  system = undefined;
});

async function start(serving: Record<string, unknown>, runtimeConfig: Record<string, unknown>, server = {}) {
  clock = new ManualClock();
  system = await createInferenceSystem({
    clock,
    server,
    deployments: [{ name: "echo", model: "echo-1", runtime: "mock", serving, runtime_config: runtimeConfig }],
  });
  return system;
}

const body = (content: string, extra: Record<string, unknown> = {}) => ({
  model: "echo",
  messages: [{ role: "user", content }],
  ...extra,
});

describe("local engine scheduling", () => {
  it("admits a request arriving while 3 others stream within one token interval (continuous batching)", async () => {
    const sys = await start({ max_concurrent: 4 }, { tokens_per_second: 10 });
    const early = [1, 2, 3].map(() => record(sys.stream(body("a b c", { max_tokens: 20 })), clock));
    await clock.advance(250);
    expect(early.every((r) => r.chunks.length === 2)).toBe(true);
    const arrivedAt = clock.now();
    const late = record(sys.stream(body("x", { max_tokens: 2 })), clock);
    await clock.advance(100);
    expect(late.chunks[0]?.at).toBeDefined();
    expect((late.chunks[0]?.at ?? Number.POSITIVE_INFINITY) - arrivedAt).toBeLessThanOrEqual(100);
    expect(early.every((r) => !r.done)).toBe(true);
    await clock.advance(2000);
    await Promise.all([...early, late].map((r) => r.finished));
    expect(early.map(text)).toEqual(Array(3).fill("a b c a b c a b c a b c a b c a b c a b"));
  });

  it("reject: refuses with backpressure as soon as max_concurrent are running", async () => {
    const sys = await start(
      { max_concurrent: 1, on_capacity_exhausted: "reject" },
      { tokens_per_second: 10 },
    );
    const running = record(sys.stream(body("a", { max_tokens: 5 })), clock);
    await clock.advance(150);
    await expect(sys.complete(body("b"))).rejects.toMatchObject({ kind: "backpressure" });
    await clock.advance(1000);
    await running.finished;
    expect(running.error).toBeUndefined();
    const next = sys.complete(body("b", { max_tokens: 1 }));
    await clock.advance(100);
    expect((await next).text).toBe("b");
  });

  it("queue: waits up to queue_timeout_ms, a full queue refuses at once", async () => {
    const sys = await start(
      { max_concurrent: 1, queue_capacity: 1, queue_timeout_ms: 500 },
      { tokens_per_second: 10 },
    );
    const running = record(sys.stream(body("a", { max_tokens: 20 })), clock);
    await clock.advance(50);
    const queued = record(sys.stream(body("q", { max_tokens: 1 })), clock);
    await flushMicrotasks();
    await expect(sys.complete(body("full"))).rejects.toMatchObject({ kind: "backpressure" });
    await clock.advance(499);
    expect(queued.done).toBe(false);
    await clock.advance(1);
    await queued.finished;
    expect(queued.error).toMatchObject({ kind: "backpressure" });
    await clock.advance(2000);
    await running.finished;
    expect(running.error).toBeUndefined();
  });

  it("a queued request starts when a slot frees, lower priority value first, then arrival order", async () => {
    const sys = await start({ max_concurrent: 1 }, { tokens_per_second: 10 });
    const first = record(sys.stream(body("first", { max_tokens: 3 })), clock);
    await clock.advance(10);
    const low = record(sys.stream(body("low", { max_tokens: 1, priority: 5 })), clock);
    const urgentA = record(sys.stream(body("urgentA", { max_tokens: 1, priority: 0 })), clock);
    const urgentB = record(sys.stream(body("urgentB", { max_tokens: 1, priority: 0 })), clock);
    await clock.advance(2000);
    await Promise.all([first, low, urgentA, urgentB].map((r) => r.finished));
    const startedAt = (r: Recorded) => r.chunks[0]?.at ?? Number.NaN;
    expect(startedAt(urgentA)).toBeLessThan(startedAt(urgentB));
    expect(startedAt(urgentB)).toBeLessThan(startedAt(low));
    expect(startedAt(first)).toBeLessThan(startedAt(urgentA));
  });

  it("a client that goes away aborts the generation and frees its slot", async () => {
    const sys = await start(
      { max_concurrent: 1, on_capacity_exhausted: "reject" },
      { stall_after_tokens: 1 },
    );
    const controller = new AbortController();
    const stalled = record(sys.stream(body("a b", { max_tokens: 5 }), { signal: controller.signal }), clock);
    await flushMicrotasks();
    expect(text(stalled)).toBe("a");
    await expect(sys.complete(body("b"))).rejects.toMatchObject({ kind: "backpressure" });
    controller.abort();
    await stalled.finished;
    await flushMicrotasks();
    const metrics = await sys.serving.service.metricsText();
    expect(sample(metrics, "rakka_num_requests_running", { deployment: "echo" })).toBe(0);
    expect(sample(metrics, "rakka_requests_total", { deployment: "echo", outcome: "cancelled" })).toBe(1);
    // the slot is free again: the next request is admitted (and stalls after its first token too)
    const next = record(sys.stream(body("next", { max_tokens: 5 })), clock);
    await flushMicrotasks();
    expect(text(next)).toBe("next");
    expect(next.error).toBeUndefined();
  });

  it("a request past request_timeout_ms ends with timeout, after tokens as a stream error", async () => {
    const sys = await start({}, { tokens_per_second: 1 }, { requestTimeoutMs: 2500 });
    const slow = record(sys.stream(body("a", { max_tokens: 10 })), clock);
    const unary = sys.complete(body("b", { max_tokens: 10 })).catch((error: unknown) => error);
    await clock.advance(2500);
    await slow.finished;
    expect(slow.chunks.length).toBe(2);
    expect(slow.error).toMatchObject({ kind: "timeout" });
    expect(await unary).toMatchObject({ kind: "timeout" });
    await flushMicrotasks();
    const metrics = await sys.serving.service.metricsText();
    expect(sample(metrics, "rakka_requests_total", { deployment: "echo", outcome: "timeout" })).toBe(2);
    expect(sample(metrics, "rakka_num_requests_running", { deployment: "echo" })).toBe(0);
  });
});
