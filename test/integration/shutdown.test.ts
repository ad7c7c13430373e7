// Shutdown (docs/operations.md "Shutdown"): requests still running when the drain
// timeout ends are answered, not cut off. A committed stream ends with the SSE error event (no
// [DONE]), a unary request gets 503 `unavailable`, and the metrics count them as `unavailable`.
import { afterEach, describe, expect, it } from "vitest";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import { flushMicrotasks, ManualClock } from "../../src/testkit/manual-clock.js";
import { record, sample } from "./helpers.js";

let system: InferenceSystem | undefined;
afterEach(async () => {
  await system?.close({ drainTimeoutMs: 0 });
  system = undefined;
});

// a stream that commits one token and then never finishes by itself
const stalled = { name: "slow", model: "echo-1", runtime: "mock", runtime_config: { stall_after_tokens: 1 } };
const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: "slow",
  messages: [{ role: "user", content }],
  max_tokens: 300,
  ...extra,
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await flushMicrotasks();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const shutdownMessage = /shutting down.*drain_timeout_ms/;

describe("shutdown with requests still running at the drain deadline", () => {
  it("over HTTP: the stream gets an SSE error event without [DONE], the unary request 503 unavailable", async () => {
    const clock = new ManualClock();
    const running = await createInferenceSystem({ clock, deployments: [stalled] });
    system = running;
    const listening = await running.listen({ bind: "127.0.0.1:0" });
    const post = (body: unknown) =>
      fetch(`${listening.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    const streamResponse = await post(ask("long stream", { stream: true }));
    expect(streamResponse.status).toBe(200);
    const reader = streamResponse.body?.getReader();
    if (!reader) throw new Error("no body");
    const decoder = new TextDecoder();
    let streamed = decoder.decode((await reader.read()).value);
    expect(streamed).toContain("data: ");
    const unary = post(ask("unary"));
    await waitFor(() => running.serving.service.inFlight === 2, "both requests in flight");

    const closing = running.close({ drainTimeoutMs: 1000 });
    await flushMicrotasks();
    await clock.advance(999);
    expect(running.serving.service.inFlight).toBe(2);
    await clock.advance(1);

    const unaryResponse = await unary;
    expect(unaryResponse.status).toBe(503);
    const unaryBody = (await unaryResponse.json()) as {
      error: { message: string; type: string; code: string };
    };
    expect(unaryBody.error.code).toBe("unavailable");
    expect(unaryBody.error.message).toMatch(shutdownMessage);

    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      streamed += decoder.decode(value);
    }
    expect(streamed).not.toContain("[DONE]");
    expect(streamed).not.toContain('"finish_reason":"stop"');
    const last = streamed.trim().split("\n\n").at(-1) ?? "";
    expect(last.startsWith("data: ")).toBe(true);
    const event = JSON.parse(last.slice("data: ".length)) as { error: { message: string; code: string } };
    expect(event.error.code).toBe("unavailable");
    expect(event.error.message).toMatch(shutdownMessage);

    await closing;
    system = undefined;
  });

  it("through the library: both end with the typed error, and the metrics count them as unavailable", async () => {
    const clock = new ManualClock();
    const running = await createInferenceSystem({ clock, deployments: [stalled] });
    system = running;
    const stream = record(running.stream(ask("long stream")), clock);
    const unary = running.complete(ask("unary")).catch((error: unknown) => error);
    await waitFor(() => running.serving.service.inFlight === 2 && stream.chunks.length > 0, "both in flight");

    const service = running.serving.service;
    service.stopAccepting();
    const drained = service.drain(1000);
    await clock.advance(1000);
    expect(await drained).toEqual({ ended: 2 });

    await stream.finished;
    expect(stream.error).toMatchObject({
      kind: "unavailable",
      message: expect.stringMatching(shutdownMessage),
    });
    expect(await unary).toMatchObject({
      kind: "unavailable",
      message: expect.stringMatching(shutdownMessage),
    });
    await waitFor(() => true, "metrics");
    const metrics = await service.metricsText();
    expect(sample(metrics, "rakka_requests_total", { deployment: "slow", outcome: "unavailable" })).toBe(2);
    expect(sample(metrics, "rakka_requests_total", { deployment: "slow", outcome: "cancelled" }) ?? 0).toBe(
      0,
    );
  });

  it("drain timeout 0 ends the running requests with the same error at once", async () => {
    const clock = new ManualClock();
    const running = await createInferenceSystem({ clock, deployments: [stalled] });
    system = running;
    const stream = record(running.stream(ask("long stream")), clock);
    await waitFor(() => stream.chunks.length > 0, "the first token");
    await running.close({ drainTimeoutMs: 0 });
    system = undefined;
    await stream.finished;
    expect(stream.error).toMatchObject({ kind: "unavailable" });
  });
});
