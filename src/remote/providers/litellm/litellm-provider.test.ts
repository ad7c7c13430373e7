// runtime = "litellm": a LiteLLM proxy speaking the OpenAI wire format at `base_url`; its config
// (max_retries defaults to 1: the proxy retries itself) and where its requests go.

import { describe, expect, it } from "vitest";
import type { ExecuteBatch } from "../../../core/batch.js";
import { zodProblems } from "../../../core/config/zod-problems.js";
import { type LiteLlmConfig, liteLlmConfigSchema } from "./litellm-config.js";
import { liteLlmAdapter } from "./litellm-provider.js";

const now = () => Date.UTC(2026, 0, 1);

const batch: ExecuteBatch = {
  requestId: "r-1",
  model: "claude-via-proxy",
  messages: [{ role: "user", content: "hello" }],
  sampling: {},
  stream: true,
  priority: 0,
  estimatedTokens: 10,
  features: {},
  signal: new AbortController().signal,
};

function parse(table: Record<string, unknown>): LiteLlmConfig {
  return liteLlmConfigSchema.parse(table);
}

function problems(table: Record<string, unknown>) {
  const result = liteLlmConfigSchema.safeParse(table);
  if (result.success) throw new Error("expected the table to be refused");
  return zodProblems("runtime_config", result.error, table);
}

describe("litellm runtime_config", () => {
  it("defaults: max_retries 1, the other resilience defaults as everywhere", () => {
    const config = parse({ base_url: "http://litellm:4000/v1" });
    expect(config.baseUrl).toBe("http://litellm:4000/v1");
    expect(config.apiKey).toBeUndefined();
    expect(config.resilience).toEqual({
      rateLimits: undefined,
      retry: {
        maxRetries: 1,
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

  it("base_url is required and must be http(s)", () => {
    expect(problems({})).toContainEqual({ path: "runtime_config.base_url", message: "is required" });
    expect(problems({ base_url: "litellm:4000" }).map((p) => p.path)).toContain("runtime_config.base_url");
  });

  it("api_key is optional and takes a secret", () => {
    expect(parse({ base_url: "http://x/v1", api_key: { from_env: "LITELLM_KEY" } }).apiKey?.source).toEqual({
      kind: "env",
      name: "LITELLM_KEY",
    });
  });

  it("refuses keys of other runtimes and unknown keys in the shared tables", () => {
    expect(
      problems({
        base_url: "http://x/v1",
        organization: "o",
        variant: "azure",
        retry: { attempts: 2 },
        circuit_breaker: { open_ms: 1 },
        timeouts: { total_ms: 1 },
      }),
    ).toEqual(
      expect.arrayContaining([
        { path: "runtime_config.organization", message: "unknown key" },
        { path: "runtime_config.variant", message: "unknown key" },
        { path: "runtime_config.retry.attempts", message: "unknown key" },
        { path: "runtime_config.circuit_breaker.open_ms", message: "unknown key" },
        { path: "runtime_config.timeouts.total_ms", message: "unknown key" },
      ]),
    );
  });
});

describe("liteLlmAdapter", () => {
  it("posts to <base_url path>/chat/completions with the deployment's model", () => {
    const a = liteLlmAdapter("claude-via-proxy", parse({ base_url: "http://127.0.0.1:4000/v1" }), now);
    expect(a.provider).toBe("litellm");
    expect(a.origin).toBe("http://127.0.0.1:4000");
    const request = a.buildRequest(batch, undefined);
    expect(request.path).toBe("/v1/chat/completions");
    expect(JSON.parse(request.body)).toMatchObject({
      model: "claude-via-proxy",
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(a.endpoint).toBe("litellm|http://127.0.0.1:4000/v1|claude-via-proxy");
  });

  it("a proxy at the root posts to /chat/completions", () => {
    expect(
      liteLlmAdapter("m", parse({ base_url: "http://127.0.0.1:4000" }), now).buildRequest(batch, undefined)
        .path,
    ).toBe("/chat/completions");
  });

  it("sends a key as a Bearer token, none without one", () => {
    const withKey = liteLlmAdapter("m", parse({ base_url: "http://x/v1", api_key: "sk-proxy" }), now);
    expect(withKey.buildRequest(batch, "sk-proxy").headers.authorization).toBe("Bearer sk-proxy");
    const without = liteLlmAdapter("m", parse({ base_url: "http://x/v1" }), now);
    expect(without.apiKey).toBeUndefined();
    expect(without.buildRequest(batch, undefined).headers).not.toHaveProperty("authorization");
  });

  it("classifies errors as OpenAI does", () => {
    const a = liteLlmAdapter("m", parse({ base_url: "http://x/v1" }), now);
    expect(a.mapError(429, { "retry-after": "2" }, "").details).toEqual({
      kind: "rate_limited",
      retryAfterMs: 2000,
    });
    expect(a.mapError(503, {}, "").kind).toBe("server_error");
  });
});
