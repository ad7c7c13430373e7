import { afterEach, describe, expect, it } from "vitest";
import { InferenceError } from "../../src/core/inference-error.js";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import { flushMicrotasks, ManualClock } from "../../src/testkit/manual-clock.js";

let system: InferenceSystem | undefined;
afterEach(async () => {
  await system?.close({ drainTimeoutMs: 0 });
  system = undefined;
});

const echo = (extra: Record<string, unknown> = {}) => ({
  name: "echo",
  model: "echo-1",
  runtime: "mock",
  ...extra,
});
const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: "echo",
  messages: [{ role: "user", content }],
  ...extra,
});

describe("createInferenceSystem", () => {
  it("completes a request through the whole actor path", async () => {
    system = await createInferenceSystem({ deployments: [echo()], clock: new ManualClock() });
    const result = await system.complete(ask("hello big world", { max_tokens: 5 }));
    expect(result.text).toBe("hello big world hello big");
    expect(result.finishReason).toBe("length");
    expect(result.usage).toMatchObject({ inputTokens: 3, outputTokens: 5 });
    expect(result.deployment).toBe("echo");
  });

  it("streams chunks and ends with the usage chunk", async () => {
    system = await createInferenceSystem({ deployments: [echo()], clock: new ManualClock() });
    const texts: string[] = [];
    let last: unknown;
    for await (const chunk of system.stream(ask("a b", { max_tokens: 3 }))) {
      texts.push(chunk.text);
      last = chunk;
    }
    expect(texts.join("")).toBe("a b a");
    expect(last).toMatchObject({ finishReason: "length", usage: { outputTokens: 3 } });
  });

  it("answers an unknown model with not_found and a bad body with bad_request", async () => {
    system = await createInferenceSystem({ deployments: [echo()], clock: new ManualClock() });
    await expect(
      system.complete({ model: "nope", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toMatchObject({
      kind: "not_found",
    });
    await expect(system.complete({ model: "echo", messages: [] })).rejects.toBeInstanceOf(InferenceError);
  });

  it("lists deployments with their state", async () => {
    system = await createInferenceSystem({ deployments: [echo({ replicas: 2 })], clock: new ManualClock() });
    expect(await system.deployments()).toEqual([
      {
        name: "echo",
        state: "serving",
        replicas: 2,
        readyReplicas: 2,
        localReplicas: [
          { index: 0, ready: true },
          { index: 1, ready: true },
        ],
        runtime: "mock",
        model: "echo-1",
        gpus: 0,
      },
    ]);
  });

  it("a deployment whose model takes time to load is pending until loaded", async () => {
    const clock = new ManualClock();
    system = await createInferenceSystem({ clock });
    const applying = system.apply(echo({ runtime_config: { load_delay_ms: 1000 } }));
    await flushMicrotasks();
    expect((await system.deployments())[0]?.state).toBe("pending");
    await expect(system.complete(ask("x"))).rejects.toMatchObject({ kind: "unavailable" });
    await clock.advance(1000);
    expect((await applying).state).toBe("serving");
    expect((await system.complete(ask("x", { max_tokens: 1 }))).text).toBe("x");
  });
});
