// runtime = "openai-compatible": vLLM, llama.cpp server, Ollama or any server speaking OpenAI's chat
// completions at `base_url`; its config (key optional, max_retries 2) and where its requests go.

import { describe, expect, it } from "vitest";
import type { ExecuteBatch } from "../../../core/batch.js";
import { zodProblems } from "../../../core/config/zod-problems.js";
import { type OpenAiCompatibleConfig, openAiCompatibleConfigSchema } from "./openai-compatible-config.js";
import { openAiCompatibleAdapter } from "./openai-compatible-provider.js";

const now = () => Date.UTC(2026, 0, 1);

const batch: ExecuteBatch = {
  requestId: "r-1",
  model: "meta-llama/Llama-3.1-8B-Instruct",
  messages: [{ role: "user", content: "hello" }],
  sampling: { temperature: 0 },
  stream: false,
  priority: 0,
  estimatedTokens: 10,
  features: {},
  signal: new AbortController().signal,
};

function parse(table: Record<string, unknown>): OpenAiCompatibleConfig {
  return openAiCompatibleConfigSchema.parse(table);
}

function problems(table: Record<string, unknown>) {
  const result = openAiCompatibleConfigSchema.safeParse(table);
  if (result.success) throw new Error("expected the table to be refused");
  return zodProblems("runtime_config", result.error, table);
}

describe("openai-compatible runtime_config", () => {
  it("defaults: no key, max_retries 2, the shared resilience defaults", () => {
    const config = parse({ base_url: "http://127.0.0.1:8000/v1" });
    expect(config.apiKey).toBeUndefined();
    expect(config.resilience).toEqual({
      rateLimits: undefined,
      retry: {
        maxRetries: 2,
        initialBackoffMs: 500,
        maxBackoffMs: 8000,
        backoffMultiplier: 2,
        jitter: "full",
        respectRetryAfter: true,
      },
      circuitBreaker: { failureThreshold: 5, openDurationMs: 30_000, halfOpenMaxProbes: 1 },
      timeouts: { firstByteTimeoutMs: 60_000, readTimeoutMs: 30_000 },
    });
  });

  it("base_url is required", () => {
    expect(problems({})).toContainEqual({ path: "runtime_config.base_url", message: "is required" });
  });

  it("refuses unknown keys by name", () => {
    expect(problems({ base_url: "http://x/v1", model_path: "/m", timeouts: { idle_ms: 1 } })).toEqual(
      expect.arrayContaining([
        { path: "runtime_config.model_path", message: "unknown key" },
        { path: "runtime_config.timeouts.idle_ms", message: "unknown key" },
      ]),
    );
  });

  it("takes rate_limits", () => {
    expect(
      parse({ base_url: "http://x/v1", rate_limits: { requests_per_minute: 600 } }).resilience.rateLimits,
    ).toEqual({ requestsPerMinute: 600, tokensPerMinute: undefined });
  });
});

describe("openAiCompatibleAdapter", () => {
  it("posts to <base_url path>/chat/completions without an auth header when there is no key", () => {
    const a = openAiCompatibleAdapter(batch.model, parse({ base_url: "http://127.0.0.1:8000/v1" }), now);
    expect(a.provider).toBe("openai-compatible");
    expect(a.origin).toBe("http://127.0.0.1:8000");
    expect(a.apiKey).toBeUndefined();
    const request = a.buildRequest(batch, undefined);
    expect(request.path).toBe("/v1/chat/completions");
    expect(request.headers).toEqual({ "content-type": "application/json", accept: "text/event-stream" });
    expect(JSON.parse(request.body)).toEqual({
      model: "meta-llama/Llama-3.1-8B-Instruct",
      messages: [{ role: "user", content: "hello" }],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0,
    });
  });

  it("with a key, sends it as a Bearer token", () => {
    const a = openAiCompatibleAdapter(
      "m",
      parse({ base_url: "http://x:8000/v1", api_key: "token-abc" }),
      now,
    );
    expect(a.apiKey?.reveal()).toBe("token-abc");
    expect(a.buildRequest(batch, "token-abc").headers.authorization).toBe("Bearer token-abc");
  });

  it("the circuit endpoint is per server and model", () => {
    const a = openAiCompatibleAdapter("m", parse({ base_url: "http://10.0.0.5:8000/v1" }), now);
    const b = openAiCompatibleAdapter("m", parse({ base_url: "http://10.0.0.6:8000/v1" }), now);
    expect(a.endpoint).toBe("openai-compatible|http://10.0.0.5:8000/v1|m");
    expect(a.endpoint).not.toBe(b.endpoint);
  });

  // new URL(base_url) gives the adapter only its origin and path: a query or user info on base_url
  // would never reach the server, so the config refuses them by name instead of dropping them
  it("a base_url query string or user info is refused, never silently dropped", () => {
    expect(problems({ base_url: "http://127.0.0.1:8000/v1?tenant=a" })).toEqual([
      { path: "runtime_config.base_url", message: "must not have a query or fragment" },
    ]);
    const withUser = problems({ base_url: "http://vllm:s3cret@127.0.0.1:8000/v1" });
    expect(withUser.map((problem) => problem.path)).toEqual(["runtime_config.base_url"]);
    expect(withUser[0]?.message).toMatch(/^must not have user info/);
    expect(JSON.stringify(withUser)).not.toContain("s3cret");
  });
});
