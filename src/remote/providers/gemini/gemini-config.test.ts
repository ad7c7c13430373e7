// runtime_config of `runtime = "gemini"`: the key (required, a secret), base_url and api_version
// with their defaults, the shared resilience tables (max_retries 2), and unknown keys refused.

import { describe, expect, it } from "vitest";
import type { Problem } from "../../../core/config/problem.js";
import { zodProblems } from "../../../core/config/zod-problems.js";
import { Secret } from "../../../core/secret.js";
import { type GeminiConfig, geminiConfigSchema } from "./gemini-config.js";

function parse(table: Record<string, unknown>): GeminiConfig {
  const result = geminiConfigSchema.safeParse(table);
  if (!result.success) throw new Error(JSON.stringify(zodProblems("runtime_config", result.error, table)));
  return result.data;
}

function problems(table: Record<string, unknown>): Problem[] {
  const result = geminiConfigSchema.safeParse(table);
  if (result.success) throw new Error("expected the table to be refused");
  return zodProblems("runtime_config", result.error, table);
}

describe("gemini runtime_config", () => {
  it("defaults: Google's endpoint, v1beta, max_retries 2 and the shared resilience defaults", () => {
    const config = parse({ api_key: "k" });
    expect(config.apiKey).toBeInstanceOf(Secret);
    expect(config.baseUrl).toBe("https://generativelanguage.googleapis.com");
    expect(config.apiVersion).toBe("v1beta");
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

  it("api_key is required and takes { from_env } and { from_file }", () => {
    expect(problems({})).toContainEqual({ path: "runtime_config.api_key", message: "is required" });
    expect(parse({ api_key: { from_env: "GEMINI_API_KEY" } }).apiKey.source).toEqual({
      kind: "env",
      name: "GEMINI_API_KEY",
    });
    expect(parse({ api_key: { from_file: "/run/secrets/gemini" } }).apiKey.source).toEqual({
      kind: "file",
      path: "/run/secrets/gemini",
    });
  });

  it("takes base_url, api_version and the shared tables", () => {
    const config = parse({
      api_key: "k",
      base_url: "http://127.0.0.1:8080/gemini",
      api_version: "v1",
      rate_limits: { requests_per_minute: 60 },
      retry: { max_retries: 0 },
      circuit_breaker: { failure_threshold: 3 },
      timeouts: { read_timeout_ms: 5000 },
    });
    expect(config.baseUrl).toBe("http://127.0.0.1:8080/gemini");
    expect(config.apiVersion).toBe("v1");
    expect(config.resilience.rateLimits).toEqual({ requestsPerMinute: 60, tokensPerMinute: undefined });
    expect(config.resilience.retry.maxRetries).toBe(0);
    expect(config.resilience.circuitBreaker.failureThreshold).toBe(3);
    expect(config.resilience.timeouts.readTimeoutMs).toBe(5000);
  });

  it("refuses a base_url that is not http(s) or has a query, an API version in base_url, or an api_version that is not one segment", () => {
    expect(
      problems({ api_key: "k", base_url: "generativelanguage.googleapis.com" }).map((p) => p.path),
    ).toEqual(["runtime_config.base_url"]);
    expect(problems({ api_key: "k", base_url: "https://x.test/?key=abc" })).toContainEqual({
      path: "runtime_config.base_url",
      message: "must not have a query or fragment",
    });
    for (const base_url of [
      "https://generativelanguage.googleapis.com/v1beta",
      "https://proxy.test/google/v1/",
    ]) {
      expect(problems({ api_key: "k", base_url })).toContainEqual({
        path: "runtime_config.base_url",
        message: "must not end with the API version (/v1beta, /v1): it is appended from api_version",
      });
    }
    expect(parse({ api_key: "k", base_url: "https://gateway.test/v1/acct/google-ai-studio" }).baseUrl).toBe(
      "https://gateway.test/v1/acct/google-ai-studio",
    );
    expect(problems({ api_key: "k", api_version: "v1beta/models" })).toContainEqual({
      path: "runtime_config.api_version",
      message: "must be one path segment, e.g. v1beta or v1",
    });
  });

  it("refuses keys of other runtimes and unknown keys in the shared tables", () => {
    expect(
      problems({
        api_key: "k",
        organization: "o",
        variant: "azure",
        project: "p",
        retry: { attempts: 2 },
        circuit_breaker: { open_ms: 1 },
        timeouts: { total_ms: 1 },
      }),
    ).toEqual(
      expect.arrayContaining([
        { path: "runtime_config.organization", message: "unknown key" },
        { path: "runtime_config.variant", message: "unknown key" },
        { path: "runtime_config.project", message: "unknown key" },
        { path: "runtime_config.retry.attempts", message: "unknown key" },
        { path: "runtime_config.circuit_breaker.open_ms", message: "unknown key" },
        { path: "runtime_config.timeouts.total_ms", message: "unknown key" },
      ]),
    );
  });
});
