// Two-tier supervision through the library path: a poisoned context is rebuilt from the runner
// factory; too many poisonings fail the replica and then the deployment.
import { afterEach, describe, expect, it } from "vitest";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import { flushMicrotasks, ManualClock } from "../../src/testkit/manual-clock.js";
import { record, sample } from "./helpers.js";

let system: InferenceSystem | undefined;
afterEach(async () => {
  await system?.close({ drainTimeoutMs: 0 });
  system = undefined;
});

const body = (content: string, max_tokens = 4) => ({
  model: "echo",
  messages: [{ role: "user", content }],
  max_tokens,
});

describe("two-tier supervision", () => {
  it("on context_poisoned: running requests get the typed error, the context is rebuilt, queued and new requests succeed", async () => {
    const clock = new ManualClock();
    system = await createInferenceSystem({ clock });
    const sys = system;
    const applied = sys.apply({
      name: "echo",
      model: "echo-1",
      runtime: "mock",
      serving: { max_concurrent: 3 },
      runtime_config: { tokens_per_second: 10, poison_after_requests: 2, load_delay_ms: 100 },
    });
    await clock.advance(100); // the first load
    expect((await applied).state).toBe("serving");
    const running = [record(sys.stream(body("one", 10)), clock), record(sys.stream(body("two", 10)), clock)];
    await clock.advance(150);
    const poisoned = record(sys.stream(body("three")), clock); // the third request on this runner
    await flushMicrotasks();
    const queued = record(sys.stream(body("four")), clock); // arrives during the rebuild
    await clock.advance(100); // the rebuild's load delay
    await clock.advance(1000);
    await Promise.all([...running, poisoned, queued].map((r) => r.finished));
    for (const r of [...running, poisoned]) expect(r.error).toMatchObject({ kind: "context_poisoned" });
    expect(queued.error).toBeUndefined();
    expect(queued.chunks.map((c) => c.chunk.text).join("")).toBe("four four four four");
    const fresh = sys.complete(body("five", 1));
    await clock.advance(100);
    expect((await fresh).text).toBe("five");
    const metrics = await sys.serving.service.metricsText();
    expect(sample(metrics, "rakka_worker_rebuilds_total", { deployment: "echo" })).toBe(1);
    expect(sample(metrics, "rakka_requests_total", { deployment: "echo", outcome: "context_poisoned" })).toBe(
      3,
    );
  });

  it("more than 3 poisonings within 60 s fail the replica and the deployment answers unavailable", async () => {
    const clock = new ManualClock();
    system = await createInferenceSystem({
      clock,
      deployments: [
        { name: "echo", model: "echo-1", runtime: "mock", runtime_config: { poison_after_requests: 0 } },
      ],
    });
    for (let i = 0; i < 4; i++) {
      await expect(system.complete(body(`try ${i}`))).rejects.toMatchObject({ kind: "context_poisoned" });
      await flushMicrotasks();
    }
    await flushMicrotasks();
    const [status] = await system.deployments();
    expect(status).toMatchObject({ name: "echo", state: "failed", readyReplicas: 0 });
    expect(status?.reason).toMatch(/poison/);
    await expect(system.complete(body("after"))).rejects.toMatchObject({ kind: "unavailable" });
    const metrics = await system.serving.service.metricsText();
    expect(sample(metrics, "rakka_deployment_state", { deployment: "echo", state: "failed" })).toBe(1);
  });

  it("poisonings spread over more than 60 s are rebuilt every time", async () => {
    const clock = new ManualClock();
    system = await createInferenceSystem({
      clock,
      deployments: [
        { name: "echo", model: "echo-1", runtime: "mock", runtime_config: { poison_after_requests: 0 } },
      ],
    });
    for (let i = 0; i < 6; i++) {
      await expect(system.complete(body(`try ${i}`))).rejects.toMatchObject({ kind: "context_poisoned" });
      await clock.advance(30_001);
    }
    expect((await system.deployments())[0]?.state).toBe("serving");
  });
});
