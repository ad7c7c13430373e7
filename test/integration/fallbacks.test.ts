// Fallbacks (docs/architecture.md, request rules): before commit, after the deployment's own retries, the RequestActor
// tries the original deployment's fallbacks in order, each once, under one deadline.
import { afterEach, describe, expect, it } from "vitest";
import { createInferenceSystem, type DeploymentInput, type InferenceSystem } from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { flushMicrotasks, ManualClock, until } from "../../src/testkit/manual-clock.js";
import {
  contentFiltered,
  contextLengthExceeded,
  type MockProvider,
  rateLimited,
  serverError,
  stallBeforeFirstByte,
  startMockProvider,
} from "../../src/testkit/mock-provider.js";
import { record, sample, sumSamples } from "./helpers.js";

let system: InferenceSystem | undefined;
let provider: MockProvider | undefined;
let gateway: ListeningGateway;
let clock: ManualClock;
afterEach(async () => {
  await system?.close({ drainTimeoutMs: 0 });
  await provider?.close();
  system = undefined;
  provider = undefined;
});

const mock = (
  name: string,
  extra: Record<string, unknown> = {},
  config: Record<string, unknown> = {},
): DeploymentInput => ({
  name,
  model: `${name}-model`,
  runtime: "mock",
  runtime_config: config,
  ...extra,
});
const remote = (
  name: string,
  extra: Record<string, unknown> = {},
  config: Record<string, unknown> = {},
): DeploymentInput => ({
  name,
  model: "gpt-4o",
  runtime: "openai",
  runtime_config: {
    api_key: "sk-test",
    base_url: `${provider?.url}/v1`,
    retry: { max_retries: 0 },
    ...config,
  },
  ...extra,
});

async function start(
  deployments: DeploymentInput[],
  server: Record<string, unknown> = {},
): Promise<InferenceSystem> {
  clock = new ManualClock();
  system = await createInferenceSystem({ clock, random: () => 0.5, server, deployments });
  gateway = await system.listen({ bind: "127.0.0.1:0" });
  return system;
}

async function post(model: string, content = "alpha beta", extra: Record<string, unknown> = {}) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content }], max_tokens: 2, ...extra }),
  });
  const body = (await response.json()) as {
    choices?: Array<{ message: { content: string } }>;
    error?: { code: string };
  };
  return { status: response.status, servedBy: response.headers.get("x-rakka-deployment"), body };
}

const metricsOf = () => (system as InferenceSystem).serving.service.metricsText();

describe("fallbacks", () => {
  it("a failure before commit goes to the fallback; the response names the deployment that served it", async () => {
    provider = await startMockProvider();
    await start([remote("primary", { fallbacks: ["backup"] }), mock("backup")]);
    provider.script(serverError(503));
    const result = await post("primary");
    expect(result).toMatchObject({ status: 200, servedBy: "backup" });
    expect(result.body.choices?.[0]?.message.content).toBe("alpha beta");
    const metrics = await metricsOf();
    expect(
      sample(metrics, "rakka_fallbacks_total", { from: "primary", to: "backup", reason: "server_error" }),
    ).toBe(1);
    expect(sample(metrics, "rakka_requests_total", { deployment: "backup", outcome: "success" })).toBe(1);
  });

  it("tries the fallbacks in order, each once, and not transitively", async () => {
    await start([
      mock("a", { fallbacks: ["b", "c"] }, { fail_after_tokens: 0 }),
      mock("b", { fallbacks: ["d"] }, { fail_after_tokens: 0 }),
      mock("c"),
      mock("d"),
    ]);
    const result = await post("a");
    expect(result).toMatchObject({ status: 200, servedBy: "c" });
    const metrics = await metricsOf();
    expect(sample(metrics, "rakka_fallbacks_total", { from: "a", to: "b", reason: "server_error" })).toBe(1);
    expect(sample(metrics, "rakka_fallbacks_total", { from: "b", to: "c", reason: "server_error" })).toBe(1);
    expect(sumSamples(metrics, "rakka_requests_total", { deployment: "d" })).toBe(0);
  });

  it("ends with the last error when every fallback failed", async () => {
    await start([
      mock("a", { fallbacks: ["b"] }, { fail_after_tokens: 0 }),
      mock("b", {}, { fail_after_tokens: 0 }),
    ]);
    const result = await post("a");
    expect(result.status).toBe(502);
    expect(result.body.error?.code).toBe("server_error");
  });

  it('on_capacity_exhausted = "fallback" goes to the fallback at once instead of queueing', async () => {
    await start([
      mock(
        "a",
        { fallbacks: ["b"], serving: { max_concurrent: 1, on_capacity_exhausted: "fallback" } },
        { stall_after_tokens: 1 },
      ),
      mock("b"),
    ]);
    const s = system as InferenceSystem;
    const holding = record(
      s.stream({ model: "a", messages: [{ role: "user", content: "hold" }], max_tokens: 3 }),
      clock,
    );
    await until(() => holding.chunks.length === 1);
    const result = await post("a");
    expect(result).toMatchObject({ status: 200, servedBy: "b" });
    expect(
      sample(await metricsOf(), "rakka_fallbacks_total", { from: "a", to: "b", reason: "backpressure" }),
    ).toBe(1);
  });

  it("a Retry-After longer than max_backoff_ms falls back instead of waiting", async () => {
    provider = await startMockProvider();
    await start([
      remote("primary", { fallbacks: ["backup"] }, { retry: { max_retries: 3, max_backoff_ms: 1000 } }),
      mock("backup"),
    ]);
    provider.script(rateLimited(5));
    const result = await post("primary");
    expect(result).toMatchObject({ status: 200, servedBy: "backup" });
    expect(provider.arrivals).toBe(1);
    expect(
      sample(await metricsOf(), "rakka_fallbacks_total", {
        from: "primary",
        to: "backup",
        reason: "rate_limited",
      }),
    ).toBe(1);
  });

  it("never after commit: a failure after tokens ends the stream with an error event", async () => {
    await start([mock("a", { fallbacks: ["b"] }, { fail_after_tokens: 1 }), mock("b")]);
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "a",
        stream: true,
        messages: [{ role: "user", content: "one two" }],
        max_tokens: 4,
      }),
    });
    const body = await response.text();
    expect(body).toContain('"content":"one"');
    expect(body).toContain('"code":"server_error"');
    expect(body).not.toContain("[DONE]");
    expect(sumSamples(await metricsOf(), "rakka_requests_total", { deployment: "b" })).toBe(0);
  });

  it("never on content filter or bad request, even when fallback_on lists them", async () => {
    provider = await startMockProvider();
    await start([
      remote("primary", {
        fallbacks: ["backup"],
        fallback_on: ["content_filtered", "bad_request", "server_error"],
      }),
      mock("backup"),
    ]);
    provider.script(contentFiltered());
    const result = await post("primary");
    expect(result.status).toBe(400);
    expect(result.body.error?.code).toBe("content_filtered");
    expect(sumSamples(await metricsOf(), "rakka_requests_total", { deployment: "backup" })).toBe(0);
  });

  it("only the failures in fallback_on fall back", async () => {
    provider = await startMockProvider();
    await start([remote("primary", { fallbacks: ["backup"], fallback_on: ["timeout"] }), mock("backup")]);
    provider.script(serverError(503));
    expect((await post("primary")).status).toBe(502);
  });

  it("context_length_exceeded falls back only to a deployment with a larger context_window", async () => {
    provider = await startMockProvider();
    await start([
      remote("small", { context_window: 4096, fallbacks: ["smaller", "larger"] }),
      mock("smaller", { context_window: 2048 }),
      mock("larger", { context_window: 128_000 }),
    ]);
    provider.script(contextLengthExceeded());
    const result = await post("small");
    expect(result).toMatchObject({ status: 200, servedBy: "larger" });
    const metrics = await metricsOf();
    expect(sumSamples(metrics, "rakka_requests_total", { deployment: "smaller" })).toBe(0);
  });

  it("without a context_window, context_length_exceeded does not fall back", async () => {
    provider = await startMockProvider();
    await start([remote("small", { fallbacks: ["larger"] }), mock("larger", { context_window: 128_000 })]);
    provider.script(contextLengthExceeded());
    expect((await post("small")).status).toBe(400);
  });

  it("one deadline covers the whole request, fallbacks included", async () => {
    provider = await startMockProvider();
    await start(
      [
        remote("primary", { fallbacks: ["slow"] }, { timeouts: { first_byte_timeout_ms: 800 } }),
        mock("slow", {}, { tokens_per_second: 1 }),
      ],
      { requestTimeoutMs: 1000 },
    );
    provider.script(stallBeforeFirstByte());
    const s = system as InferenceSystem;
    const pending = record(s.stream({ model: "primary", messages: [{ role: "user", content: "x" }] }), clock);
    await provider.waitForRequests(1);
    await until(() => clock.hasTimerAt(clock.now() + 800));
    await clock.advance(800); // the first-byte timeout: to the fallback
    await flushMicrotasks();
    await clock.advance(200); // the request deadline, before the slow fallback's first token
    await pending.finished;
    expect(pending.error).toMatchObject({ kind: "timeout" });
    expect(
      sample(await metricsOf(), "rakka_fallbacks_total", { from: "primary", to: "slow", reason: "timeout" }),
    ).toBe(1);
  });
});
