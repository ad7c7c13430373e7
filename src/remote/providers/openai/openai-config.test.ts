// runtime_config validation of `runtime = "openai"` (and its Azure variant), including the shared
// remote tables (retry, circuit_breaker, timeouts, rate_limits) and their defaults (docs/configuration.md).

import { describe, expect, it } from "vitest";
import type { Problem } from "../../../core/config/problem.js";
import { zodProblems } from "../../../core/config/zod-problems.js";
import { Secret } from "../../../core/secret.js";
import { type OpenAiConfig, openAiConfigSchema } from "./openai-config.js";

function parse(table: Record<string, unknown>): OpenAiConfig {
  const result = openAiConfigSchema.safeParse(table);
  if (!result.success) throw new Error(JSON.stringify(zodProblems("runtime_config", result.error, table)));
  return result.data;
}

function problems(table: Record<string, unknown>): Problem[] {
  const result = openAiConfigSchema.safeParse(table);
  if (result.success) throw new Error("expected the table to be refused");
  return zodProblems("runtime_config", result.error, table);
}

const azure = {
  variant: "azure",
  api_key: "k",
  endpoint: "https://res.openai.azure.com",
  api_version: "2024-10-21",
};

describe("openai runtime_config", () => {
  it("defaults: the OpenAI API, max_retries 2 and the shared resilience defaults", () => {
    const config = parse({ api_key: "sk-test" });
    expect(config.variant).toBe("openai");
    expect(config.baseUrl).toBe("https://api.openai.com/v1");
    expect(config.apiKey).toBeInstanceOf(Secret);
    expect(config.organization).toBeUndefined();
    expect(config.project).toBeUndefined();
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

  it("api_key is required", () => {
    expect(problems({}).map((problem) => problem.path)).toEqual(["runtime_config.api_key"]);
  });

  // the secret schema is a union: zod-problems.ts reads a union's issue on a missing value as
  // "is required" too, not zod's "Invalid input"
  it('a missing api_key says "is required"', () => {
    expect(problems({})).toContainEqual({ path: "runtime_config.api_key", message: "is required" });
  });

  it("accepts { from_env } and { from_file } secrets, unloaded until validation loads them", () => {
    const fromEnv = parse({ api_key: { from_env: "OPENAI_API_KEY" } }).apiKey;
    expect(fromEnv.source).toEqual({ kind: "env", name: "OPENAI_API_KEY" });
    expect(fromEnv.loaded).toBe(false);
    expect(parse({ api_key: { from_file: "/run/secrets/openai" } }).apiKey.source).toEqual({
      kind: "file",
      path: "/run/secrets/openai",
    });
  });

  it("takes every key of its own and of the shared tables", () => {
    const config = parse({
      api_key: "k",
      base_url: "https://proxy.example.com/openai/v1",
      organization: "org-1",
      project: "proj-1",
      rate_limits: { requests_per_minute: 500, tokens_per_minute: 30_000 },
      retry: {
        max_retries: 5,
        initial_backoff_ms: 100,
        max_backoff_ms: 2000,
        backoff_multiplier: 3,
        jitter: "equal",
        respect_retry_after: false,
      },
      circuit_breaker: { failure_threshold: 10, open_duration_ms: 5000, half_open_max_probes: 2 },
      timeouts: { first_byte_timeout_ms: 1000, read_timeout_ms: 500 },
    });
    expect(config.baseUrl).toBe("https://proxy.example.com/openai/v1");
    expect(config.organization).toBe("org-1");
    expect(config.project).toBe("proj-1");
    expect(config.resilience).toEqual({
      rateLimits: { requestsPerMinute: 500, tokensPerMinute: 30_000 },
      retry: {
        maxRetries: 5,
        initialBackoffMs: 100,
        maxBackoffMs: 2000,
        backoffMultiplier: 3,
        jitter: "equal",
        respectRetryAfter: false,
      },
      circuitBreaker: { failureThreshold: 10, openDurationMs: 5000, halfOpenMaxProbes: 2 },
      timeouts: { firstByteTimeoutMs: 1000, readTimeoutMs: 500 },
    });
  });

  it("a partial table keeps the other defaults", () => {
    const config = parse({ api_key: "k", retry: { max_retries: 0 }, timeouts: { read_timeout_ms: 10 } });
    expect(config.resilience.retry.maxRetries).toBe(0);
    expect(config.resilience.retry.initialBackoffMs).toBe(500);
    expect(config.resilience.timeouts).toEqual({ firstByteTimeoutMs: 60_000, readTimeoutMs: 10 });
  });

  it("rate_limits may set just one of its limits", () => {
    expect(parse({ api_key: "k", rate_limits: { tokens_per_minute: 1000 } }).resilience.rateLimits).toEqual({
      requestsPerMinute: undefined,
      tokensPerMinute: 1000,
    });
  });

  it("refuses unknown keys by name, at the top and in every shared table", () => {
    expect(
      problems({
        api_key: "k",
        temperature: 1,
        retry: { max_retry: 3 },
        circuit_breaker: { threshold: 3 },
        timeouts: { connect_timeout_ms: 10 },
        rate_limits: { rpm: 10 },
      }),
    ).toEqual(
      expect.arrayContaining([
        { path: "runtime_config.temperature", message: "unknown key" },
        { path: "runtime_config.retry.max_retry", message: "unknown key" },
        { path: "runtime_config.circuit_breaker.threshold", message: "unknown key" },
        { path: "runtime_config.timeouts.connect_timeout_ms", message: "unknown key" },
        { path: "runtime_config.rate_limits.rpm", message: "unknown key" },
      ]),
    );
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["a negative max_retries", { retry: { max_retries: -1 } }, "runtime_config.retry.max_retries"],
    ["more than 20 retries", { retry: { max_retries: 21 } }, "runtime_config.retry.max_retries"],
    [
      "a multiplier below 1",
      { retry: { backoff_multiplier: 0.5 } },
      "runtime_config.retry.backoff_multiplier",
    ],
    ["an unknown jitter", { retry: { jitter: "decorrelated" } }, "runtime_config.retry.jitter"],
    [
      "a zero failure_threshold",
      { circuit_breaker: { failure_threshold: 0 } },
      "runtime_config.circuit_breaker.failure_threshold",
    ],
    ["a zero read timeout", { timeouts: { read_timeout_ms: 0 } }, "runtime_config.timeouts.read_timeout_ms"],
    [
      "a fractional timeout",
      { timeouts: { first_byte_timeout_ms: 1.5 } },
      "runtime_config.timeouts.first_byte_timeout_ms",
    ],
    [
      "a zero rpm",
      { rate_limits: { requests_per_minute: 0 } },
      "runtime_config.rate_limits.requests_per_minute",
    ],
    ["a non-http base_url", { base_url: "ftp://example.com" }, "runtime_config.base_url"],
    ["an empty organization", { organization: "" }, "runtime_config.organization"],
  ])("refuses %s", (_name, table, path) => {
    expect(problems({ api_key: "k", ...table }).map((problem) => problem.path)).toContain(path);
  });

  it.each(["endpoint", "resource", "deployment", "api_version"])(
    "refuses the Azure key %s on the openai variant",
    (key) => {
      const value = key === "endpoint" ? "https://res.openai.azure.com" : "x";
      expect(problems({ api_key: "k", [key]: value })).toContainEqual({
        path: `runtime_config.${key}`,
        message: 'only for variant = "azure"',
      });
    },
  );

  // only the origin and path of base_url are used: a query, fragment or user info would be dropped
  // silently, so each is refused by name, without repeating the value (it may hold a password)
  it.each<[string, string, string]>([
    ["a query", "https://gw.example.com/v1?tenant=a", "must not have a query or fragment"],
    ["a fragment", "https://gw.example.com/v1#x", "must not have a query or fragment"],
    [
      "user info",
      "https://bob:hunter2@gw.example.com/v1",
      "must not have user info (user:password@): it would not be sent; give the key as api_key",
    ],
    [
      "a user name alone",
      "https://bob@gw.example.com/v1",
      "must not have user info (user:password@): it would not be sent; give the key as api_key",
    ],
  ])("refuses a base_url with %s, naming the key", (_name, baseUrl, message) => {
    const found = problems({ api_key: "k", base_url: baseUrl });
    expect(found).toEqual([{ path: "runtime_config.base_url", message }]);
    expect(JSON.stringify(found)).not.toContain("hunter2");
  });

  it("refuses an unknown variant", () => {
    expect(problems({ api_key: "k", variant: "bedrock" }).map((p) => p.path)).toContain(
      "runtime_config.variant",
    );
  });
});

describe("openai runtime_config, variant = azure", () => {
  it("takes endpoint, api_version and deployment", () => {
    const config = parse({ ...azure, deployment: "prod-4o" });
    expect(config.variant).toBe("azure");
    expect(config.azureEndpoint).toBe("https://res.openai.azure.com");
    expect(config.apiVersion).toBe("2024-10-21");
    expect(config.azureDeployment).toBe("prod-4o");
    expect(config.resilience.retry.maxRetries).toBe(2);
  });

  it("resource builds the endpoint", () => {
    const { endpoint: _endpoint, ...rest } = azure;
    expect(parse({ ...rest, resource: "my-res" }).azureEndpoint).toBe("https://my-res.openai.azure.com");
  });

  it("deployment is optional (the adapter defaults it to the model)", () => {
    expect(parse(azure).azureDeployment).toBeUndefined();
  });

  it("refuses a missing api_version", () => {
    const { api_version: _version, ...rest } = azure;
    expect(problems(rest)).toContainEqual({
      path: "runtime_config.api_version",
      message: "azure needs api_version",
    });
  });

  it("refuses a missing endpoint and resource", () => {
    const { endpoint: _endpoint, ...rest } = azure;
    expect(problems(rest)).toContainEqual({
      path: "runtime_config.endpoint",
      message: 'azure needs "endpoint" or "resource"',
    });
  });

  it("refuses base_url", () => {
    expect(problems({ ...azure, base_url: "https://api.openai.com/v1" })).toContainEqual({
      path: "runtime_config.base_url",
      message: 'not used by variant = "azure"',
    });
  });

  it("refuses an endpoint with a query or user info, naming the key", () => {
    expect(problems({ ...azure, endpoint: "https://res.openai.azure.com?api-version=1" })).toEqual([
      { path: "runtime_config.endpoint", message: "must not have a query or fragment" },
    ]);
    expect(problems({ ...azure, endpoint: "https://u:p@res.openai.azure.com" }).map((p) => p.path)).toEqual([
      "runtime_config.endpoint",
    ]);
  });

  it("refuses a resource that is not a resource name", () => {
    const { endpoint: _endpoint, ...rest } = azure;
    expect(problems({ ...rest, resource: "evil.example.com/x" }).map((p) => p.path)).toContain(
      "runtime_config.resource",
    );
  });

  // the azure checks live in a superRefine that runs even while another key of the table is invalid
  it("lists every problem at once (the azure checks run while api_key is missing)", () => {
    expect(problems({ variant: "azure" }).map((p) => p.path)).toEqual(
      expect.arrayContaining([
        "runtime_config.api_key",
        "runtime_config.endpoint",
        "runtime_config.api_version",
      ]),
    );
  });

  // organization / project only mean something to api.openai.com; the Azure adapter would never send
  // them, so they are refused rather than accepted and ignored
  it("refuses organization and project on the azure variant", () => {
    expect(problems({ ...azure, organization: "org-1", project: "proj-1" }).map((p) => p.path)).toEqual(
      expect.arrayContaining(["runtime_config.organization", "runtime_config.project"]),
    );
  });
});
