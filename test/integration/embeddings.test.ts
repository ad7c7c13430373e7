// `POST /v1/embeddings` end to end with the official openai SDK (docs/api.md, "Embeddings"): a
// mock deployment, an OpenAI-compatible and a Gemini deployment through the testkit's mock
// upstream, an Anthropic deployment refused; the SDK's default base64 and `float`, order, usage,
// cost and budgets, fallbacks and retries. Token counts through the service for each runtime.
import OpenAI, { BadRequestError, RateLimitError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import { mockEmbedding } from "../../src/runtimes/mock/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { ManualClock } from "../../src/testkit/manual-clock.js";
import {
  badRequest,
  countTokens,
  embeddings,
  type MockProvider,
  serverError,
  startMockProvider,
} from "../../src/testkit/mock-provider.js";
import { sample } from "./helpers.js";
import { advanceTo } from "./remote-helpers.js";

/** $1 per thousand input tokens: an input token costs $0.001. */
const pricing = { input_per_million_usd: 1000, output_per_million_usd: 1000 };

let clock: ManualClock;
let provider: MockProvider;
let system: InferenceSystem;
let gateway: ListeningGateway;
let client: OpenAI;

beforeAll(async () => {
  clock = new ManualClock();
  provider = await startMockProvider();
  const remote = (table: Record<string, unknown> = {}) => ({ base_url: `${provider.url}/v1`, ...table });
  system = await createInferenceSystem({
    clock,
    random: () => 0.5,
    deployments: [
      { name: "mock-embed", model: "m", runtime: "mock", pricing },
      {
        name: "capped",
        model: "m",
        runtime: "mock",
        pricing,
        budget: { max_spend_per_hour_usd: 0.003, on_exceeded: "reject" },
      },
      {
        name: "flaky",
        model: "m",
        runtime: "mock",
        runtime_config: { fail_after_tokens: 0 },
        fallbacks: ["mock-embed"],
      },
      {
        name: "compat",
        model: "bge-m3",
        runtime: "openai-compatible",
        pricing,
        runtime_config: remote({
          api_key: "compat-key",
          retry: { max_retries: 1, initial_backoff_ms: 100, jitter: "none" },
        }),
      },
      {
        name: "gem",
        model: "gemini-embedding-001",
        runtime: "gemini",
        runtime_config: { api_key: "gem-key", base_url: provider.url },
      },
      {
        name: "claude",
        model: "claude-sonnet-4-5",
        runtime: "anthropic",
        runtime_config: { api_key: "sk-ant", base_url: provider.url },
      },
    ],
  });
  gateway = await system.listen({ bind: "127.0.0.1:0" });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await system?.close({ drainTimeoutMs: 0 });
  await provider?.close();
});

beforeEach(() => provider.reset());

const metrics = () => system.serving.service.metricsText();

describe("embeddings on a mock deployment", () => {
  it("the SDK's default (base64) decodes to the mock's vectors, in order, with usage", async () => {
    const { data: answer, response } = await client.embeddings
      .create({ model: "mock-embed", input: ["hello world", "good morning", "hi"] })
      .withResponse();
    expect(answer.object).toBe("list");
    expect(answer.model).toBe("mock-embed");
    expect(answer.data.map((item) => item.index)).toEqual([0, 1, 2]);
    expect(answer.data.map((item) => item.embedding)).toEqual(
      ["hello world", "good morning", "hi"].map((text) => Array.from(mockEmbedding(text, 8))),
    );
    expect(answer.usage).toEqual({ prompt_tokens: 5, total_tokens: 5 });
    expect(response.headers.get("x-rakka-deployment")).toBe("mock-embed");
    expect(response.headers.get("x-rakka-node")).toBe("local");
  });

  it("encoding_format float, a single string, dimensions and token arrays", async () => {
    const one = await client.embeddings.create({
      model: "mock-embed",
      input: "hello world",
      encoding_format: "float",
      dimensions: 3,
    });
    expect(one.data).toEqual([
      { object: "embedding", index: 0, embedding: Array.from(mockEmbedding("hello world", 3)) },
    ]);
    const tokens = await client.embeddings.create({ model: "mock-embed", input: [[1, 2, 3], [4]] });
    expect(tokens.data[0]?.embedding).toEqual(Array.from(mockEmbedding([1, 2, 3], 8)));
    expect(tokens.usage.prompt_tokens).toBe(4);
  });

  it("an empty input, or more inputs than allowed, is a 400 naming input", async () => {
    const empty: Array<string | string[]> = [[], ""];
    for (const input of empty) {
      const error = await client.embeddings.create({ model: "mock-embed", input }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).message).toContain("input: must not be empty");
    }
    const tooMany = await client.embeddings
      .create({ model: "mock-embed", input: new Array(2049).fill("x") })
      .catch((e: unknown) => e);
    expect((tooMany as BadRequestError).status).toBe(400);
    expect((tooMany as BadRequestError).message).toContain("at most 2048 are allowed");
  });

  it("an unknown deployment is a 404", async () => {
    const error = await client.embeddings.create({ model: "nope", input: "x" }).catch((e: unknown) => e);
    expect((error as { status?: number }).status).toBe(404);
  });

  it("records the cost (input tokens × input price) and counts the request", async () => {
    const before = sample(await metrics(), "rakka_cost_usd_total", { deployment: "mock-embed" }) ?? 0;
    const requests =
      sample(await metrics(), "rakka_requests_total", { deployment: "mock-embed", outcome: "success" }) ?? 0;
    await client.embeddings.create({ model: "mock-embed", input: ["one two three", "four"] });
    const after = await metrics();
    expect((sample(after, "rakka_cost_usd_total", { deployment: "mock-embed" }) ?? 0) - before).toBeCloseTo(
      0.004,
      10,
    );
    expect(sample(after, "rakka_requests_total", { deployment: "mock-embed", outcome: "success" })).toBe(
      requests + 1,
    );
  });

  it("a budget refuses an embedding whose estimate would pass it (429 budget_exceeded)", async () => {
    // 8 characters of input: an estimate of 2 tokens ($0.002); the first spends 2 words ($0.002)
    await client.embeddings.create({ model: "capped", input: "abcd efg" });
    const refused = await client.embeddings
      .create({ model: "capped", input: "abcd efg" })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitError);
    expect((refused as RateLimitError).code).toBe("budget_exceeded");
  });

  it("a failing deployment falls back to the next one", async () => {
    const { data, response } = await client.embeddings
      .create({ model: "flaky", input: "hello" })
      .withResponse();
    expect(response.headers.get("x-rakka-deployment")).toBe("mock-embed");
    expect(data.data[0]?.embedding).toEqual(Array.from(mockEmbedding("hello", 8)));
    expect(
      sample(await metrics(), "rakka_fallbacks_total", { from: "flaky", to: "mock-embed" }),
    ).toBeGreaterThan(0);
  });
});

describe("embeddings on remote deployments", () => {
  it("openai-compatible: {base}/embeddings with the deployment's key; order restored from the indexes", async () => {
    provider.script(embeddings({ reversed: true, usage: { prompt_tokens: 9 } }));
    const answer = await client.embeddings.create({
      model: "compat",
      input: ["alpha", "be"],
      encoding_format: "float",
      dimensions: 4,
    });
    expect(answer.data.map((item) => item.embedding)).toEqual([
      [1, 5, 0.25, 0.25],
      [2, 2, 0.25, 0.25],
    ]);
    expect(answer.usage).toEqual({ prompt_tokens: 9, total_tokens: 9 });
    const upstream = provider.requests[0];
    expect(upstream?.path).toBe("/v1/embeddings");
    expect(upstream?.apiKey).toBe("compat-key");
    expect(upstream?.body).toEqual({ model: "bge-m3", input: ["alpha", "be"], dimensions: 4 });
  });

  it("openai-compatible: the SDK's base64 default works over an upstream answering floats", async () => {
    const answer = await client.embeddings.create({ model: "compat", input: "hello" });
    expect(answer.data[0]?.embedding).toEqual([1, 5, 0.25]);
  });

  it("openai-compatible: an upstream that cannot embed answers with its own error, mapped", async () => {
    provider.script(badRequest("bge-m3 does not support embeddings"));
    const error = await client.embeddings.create({ model: "compat", input: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toContain("bge-m3 does not support embeddings");
  });

  it("openai-compatible: a 5xx is retried under the deployment's retry settings", async () => {
    provider.script(serverError(503), embeddings({ vectors: [[7]] }));
    const pending = client.embeddings.create({ model: "compat", input: "x", encoding_format: "float" });
    await provider.waitForRequests(1);
    await advanceTo({ clock }, clock.now() + 100);
    const answer = await pending;
    expect(answer.data[0]?.embedding).toEqual([7]);
    expect(provider.arrivals).toBe(2);
  });

  it("gemini: batchEmbedContents with x-goog-api-key; its missing usage is estimated and flagged", async () => {
    const { data: answer, response } = await client.embeddings
      .create({ model: "gem", input: ["alpha", "be"], encoding_format: "float", dimensions: 2 })
      .withResponse();
    expect(answer.data.map((item) => item.embedding)).toEqual([
      [1, 5],
      [2, 2],
    ]);
    expect(answer.usage.prompt_tokens).toBe(3); // ceil(5/4) + ceil(2/4)
    expect(response.headers.get("x-rakka-usage-estimated")).toBe("true");
    const upstream = provider.requests[0];
    expect(upstream?.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(upstream?.headers["x-goog-api-key"]).toBe("gem-key");
  });

  it("gemini: token arrays are refused with 400 naming input", async () => {
    const error = await client.embeddings.create({ model: "gem", input: [[1, 2]] }).catch((e: unknown) => e);
    expect((error as BadRequestError).status).toBe(400);
    expect((error as BadRequestError).message).toBe(
      "400 input: deployment gem (runtime gemini) embeds text, not token arrays",
    );
    expect(provider.arrivals).toBe(0);
  });

  it("anthropic: refused with 400 naming the deployment, nothing sent upstream", async () => {
    const error = await client.embeddings.create({ model: "claude", input: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toBe("400 deployment claude (runtime anthropic) cannot embed");
    expect(provider.arrivals).toBe(0);
  });
});

describe("token counts through the service", () => {
  const request = (model: string) => ({
    model,
    messages: [
      { role: "system" as const, content: "be brief" },
      { role: "user" as const, content: "how many tokens is this" },
    ],
    sampling: {},
    stream: false,
    priority: 0,
    features: {},
  });

  it("a mock deployment counts exactly, as its generations report input tokens", async () => {
    expect(await system.serving.service.countTokens(request("mock-embed"))).toEqual({
      inputTokens: 7,
      estimated: false,
    });
  });

  it("anthropic and gemini ask their count endpoints", async () => {
    provider.script(countTokens(17));
    expect(await system.serving.service.countTokens(request("claude"))).toEqual({
      inputTokens: 17,
      estimated: false,
    });
    expect(provider.requests[0]?.path).toBe("/v1/messages/count_tokens");
    expect(await system.serving.service.countTokens(request("gem"))).toEqual({
      inputTokens: 7,
      estimated: false,
    });
    expect(provider.requests[1]?.path).toBe("/v1beta/models/gemini-embedding-001:countTokens");
  });

  it("the OpenAI family has no count endpoint: the estimate, flagged", async () => {
    // "be brief" (8) + "how many tokens is this" (23) characters: ceil(31 / 4)
    expect(await system.serving.service.countTokens(request("compat"))).toEqual({
      inputTokens: 8,
      estimated: true,
    });
    expect(provider.arrivals).toBe(0);
  });

  it("an unknown deployment is not_found", async () => {
    await expect(system.serving.service.countTokens(request("nope"))).rejects.toMatchObject({
      kind: "not_found",
    });
  });
});

describe("an embedding request's deadline and cancel", () => {
  it("ends with timeout at the request deadline, and a cancelled one frees its slot", async () => {
    const stallClock = new ManualClock();
    const stalled = await createInferenceSystem({
      clock: stallClock,
      server: { requestTimeoutMs: 1_000 },
      deployments: [
        {
          name: "stall",
          model: "m",
          runtime: "mock",
          serving: { max_concurrent: 1, on_capacity_exhausted: "reject" },
          runtime_config: { stall_after_tokens: 0 },
        },
      ],
    });
    try {
      const service = stalled.serving.service;
      const timedOut = service.embed({ model: "stall", input: ["x"], priority: 0 });
      timedOut.catch(() => {});
      await stallClock.advance(1_000);
      await expect(timedOut).rejects.toMatchObject({ kind: "timeout" });
      let cancel: () => void = () => {};
      const cancelled = service.embed(
        { model: "stall", input: ["x"], priority: 0 },
        { onCancel: (fn) => (cancel = fn) },
      );
      cancelled.catch(() => {});
      await stallClock.advance(0);
      cancel();
      await expect(cancelled).rejects.toThrow("request cancelled before it finished");
      // the one slot is free again: the next request is admitted (and held by the stall) rather than refused
      const next = service.embed({ model: "stall", input: ["x"], priority: 0 });
      next.catch(() => {});
      await stallClock.advance(1_000);
      await expect(next).rejects.toMatchObject({ kind: "timeout" });
      expect(service.inFlight).toBe(0);
    } finally {
      await stalled.close({ drainTimeoutMs: 0 });
    }
  });

  it("one cancelled while it waits behind a running embedding frees its slot at once", async () => {
    const stallClock = new ManualClock();
    const stalled = await createInferenceSystem({
      clock: stallClock,
      server: { requestTimeoutMs: 1_000 },
      deployments: [
        {
          name: "stall",
          model: "m",
          runtime: "mock",
          serving: { max_concurrent: 2, on_capacity_exhausted: "reject" },
          runtime_config: { stall_after_tokens: 0 },
        },
      ],
    });
    try {
      const service = stalled.serving.service;
      const embed = (onCancel?: (cancel: () => void) => void) => {
        const answer = service.embed(
          { model: "stall", input: ["x"], priority: 0 },
          onCancel ? { onCancel } : {},
        );
        answer.catch(() => {});
        return answer;
      };
      // the first runs (held by the stall); the second is admitted and waits behind it
      const running = embed();
      let cancel: () => void = () => {};
      const waiting = embed((fn) => (cancel = fn));
      await stallClock.advance(0);
      cancel();
      await expect(waiting).rejects.toThrow("request cancelled before it finished");
      await stallClock.advance(0);
      // its slot is free again while the first still runs: the next one is admitted, not refused
      const next = embed();
      await stallClock.advance(1_000);
      await expect(running).rejects.toMatchObject({ kind: "timeout" });
      await expect(next).rejects.toMatchObject({ kind: "timeout" });
      expect(service.inFlight).toBe(0);
    } finally {
      await stalled.close({ drainTimeoutMs: 0 });
    }
  });
});
