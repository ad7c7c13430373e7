// The OpenAI-family adapter: where requests go (origin, path, query), how the key and the
// organization/project are sent, the circuit endpoint, and the Azure variant's URL and header.

import { describe, expect, it } from "vitest";
import type { ExecuteBatch } from "../../../core/batch.js";
import { openAiConfigSchema } from "./openai-config.js";
import { openAiAdapter, openAiStyleAdapter } from "./openai-provider.js";

const NOW = Date.UTC(2026, 0, 1);
const now = () => NOW;

const batch: ExecuteBatch = {
  requestId: "r-1",
  model: "gpt-4o",
  messages: [{ role: "user", content: "hello" }],
  sampling: { maxTokens: 5 },
  stream: false,
  priority: 0,
  estimatedTokens: 10,
  features: {},
  signal: new AbortController().signal,
};

const adapter = (table: Record<string, unknown>, model = "gpt-4o") =>
  openAiAdapter(model, openAiConfigSchema.parse({ api_key: "sk-test", ...table }), now);

const azure = (table: Record<string, unknown> = {}, model = "gpt-4o") =>
  adapter(
    { variant: "azure", endpoint: "https://res.openai.azure.com", api_version: "2024-10-21", ...table },
    model,
  );

describe("openai variant", () => {
  it("defaults to https://api.openai.com with path /v1/chat/completions", () => {
    const a = adapter({});
    expect(a.provider).toBe("openai");
    expect(a.origin).toBe("https://api.openai.com");
    expect(a.buildRequest(batch, "sk-test").path).toBe("/v1/chat/completions");
    expect(a.upstreamModel).toBe("gpt-4o");
  });

  it("sends the key as a Bearer token and asks for SSE", () => {
    const request = adapter({}).buildRequest(batch, "sk-live");
    expect(request.headers).toEqual({
      "content-type": "application/json",
      accept: "text/event-stream",
      authorization: "Bearer sk-live",
    });
  });

  it("uses the key it is given (the session's current one), not the config's", () => {
    expect(adapter({}).buildRequest(batch, "sk-rotated").headers.authorization).toBe("Bearer sk-rotated");
  });

  it("sends organization and project headers when set", () => {
    const headers = adapter({ organization: "org-1", project: "proj-1" }).buildRequest(batch, "k").headers;
    expect(headers["openai-organization"]).toBe("org-1");
    expect(headers["openai-project"]).toBe("proj-1");
    expect(adapter({}).buildRequest(batch, "k").headers).not.toHaveProperty("openai-organization");
  });

  it("a base_url override keeps its path prefix", () => {
    const a = adapter({ base_url: "http://127.0.0.1:9000/proxy/openai/v1" });
    expect(a.origin).toBe("http://127.0.0.1:9000");
    expect(a.buildRequest(batch, "k").path).toBe("/proxy/openai/v1/chat/completions");
  });

  it("a trailing slash on base_url does not double the slash", () => {
    expect(adapter({ base_url: "http://127.0.0.1:9000/v1/" }).buildRequest(batch, "k").path).toBe(
      "/v1/chat/completions",
    );
    expect(adapter({ base_url: "http://127.0.0.1:9000" }).buildRequest(batch, "k").path).toBe(
      "/chat/completions",
    );
  });

  it("the body is the converted request with the deployment's model", () => {
    const body = JSON.parse(adapter({}, "gpt-4o-mini").buildRequest(batch, "k").body) as Record<
      string,
      unknown
    >;
    expect(body).toEqual({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hello" }],
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 5,
    });
  });

  it("the circuit endpoint is provider, base URL and upstream model, without the key", () => {
    expect(adapter({}).endpoint).toBe("openai|https://api.openai.com/v1|gpt-4o");
    expect(adapter({ base_url: "http://10.0.0.1:8080/v1/" }).endpoint).toBe(
      "openai|http://10.0.0.1:8080/v1|gpt-4o",
    );
    expect(adapter({}).endpoint).not.toContain("sk-test");
  });

  it("carries the config's resilience settings and secret", () => {
    const a = adapter({ retry: { max_retries: 7 } });
    expect(a.resilience.retry.maxRetries).toBe(7);
    expect(a.apiKey?.reveal()).toBe("sk-test");
  });

  it("creates a fresh decoder per attempt", () => {
    const a = adapter({});
    const first = a.createDecoder(batch);
    first.onData(JSON.stringify({ choices: [{ index: 0, delta: { content: "x" }, finish_reason: "stop" }] }));
    expect(() => a.createDecoder(batch).finish()).toThrow();
  });

  it("maps errors with the injected clock for Retry-After dates", () => {
    const error = adapter({}).mapError(429, { "retry-after": new Date(NOW + 4000).toUTCString() }, "");
    expect(error.details).toEqual({ kind: "rate_limited", retryAfterMs: 4000 });
  });
});

describe("azure variant", () => {
  it("endpoint → origin; path /openai/deployments/<deployment>/chat/completions?api-version=...", () => {
    const a = azure({ deployment: "prod-4o" });
    expect(a.provider).toBe("openai");
    expect(a.origin).toBe("https://res.openai.azure.com");
    expect(a.buildRequest(batch, "k").path).toBe(
      "/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21",
    );
    expect(a.upstreamModel).toBe("prod-4o");
  });

  it("resource → https://<resource>.openai.azure.com", () => {
    const a = adapter({ variant: "azure", resource: "my-res", api_version: "2024-10-21" });
    expect(a.origin).toBe("https://my-res.openai.azure.com");
  });

  it("the deployment defaults to the model", () => {
    const a = azure({}, "gpt-4o-mini");
    expect(a.buildRequest(batch, "k").path).toBe(
      "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21",
    );
    expect(a.upstreamModel).toBe("gpt-4o-mini");
    expect(JSON.parse(a.buildRequest(batch, "k").body)).toMatchObject({ model: "gpt-4o-mini" });
  });

  it("sends the key in the api-key header, not Authorization", () => {
    const headers = azure().buildRequest(batch, "az-key").headers;
    expect(headers["api-key"]).toBe("az-key");
    expect(headers).not.toHaveProperty("authorization");
  });

  it("escapes the deployment and the api version", () => {
    expect(
      azure({ deployment: "a b/c", api_version: "2024-10-01 preview" }).buildRequest(batch, "k").path,
    ).toBe("/openai/deployments/a%20b%2Fc/chat/completions?api-version=2024-10-01%20preview");
  });

  it("an endpoint with a path keeps it as a prefix", () => {
    expect(azure({ endpoint: "http://127.0.0.1:9000/gateway/" }).buildRequest(batch, "k").path).toBe(
      "/gateway/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
    );
  });

  it("the circuit endpoint names the Azure origin and the deployment", () => {
    expect(azure({ deployment: "prod-4o" }).endpoint).toBe("openai|https://res.openai.azure.com|prod-4o");
  });
});

describe("openAiStyleAdapter", () => {
  it("without a key sends no auth header", () => {
    const a = openAiStyleAdapter({
      provider: "openai-compatible",
      baseUrl: "http://127.0.0.1:8000/v1",
      chatPath: "/chat/completions",
      upstreamModel: "llama",
      apiKey: undefined,
      keyHeader: "authorization",
      extraHeaders: {},
      maxTokensField: "max_tokens",
      acceptsTopK: true,
      resilience: adapter({}).resilience,
      now,
    });
    const headers = a.buildRequest(batch, undefined).headers;
    expect(headers).not.toHaveProperty("authorization");
    expect(headers).not.toHaveProperty("api-key");
  });
});

describe("fields a provider cannot honour", () => {
  const batch = (topK?: number) =>
    ({
      requestId: "r",
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      sampling: { maxTokens: 7, ...(topK === undefined ? {} : { topK }) },
      stream: true,
      priority: 0,
      estimatedTokens: 8,
      features: {},
      signal: new AbortController().signal,
    }) as const;
  const target = (acceptsTopK: boolean) =>
    openAiStyleAdapter({
      provider: acceptsTopK ? "openai-compatible" : "openai",
      baseUrl: "http://127.0.0.1:8000/v1",
      chatPath: "/chat/completions",
      upstreamModel: "m",
      apiKey: undefined,
      keyHeader: "authorization",
      extraHeaders: {},
      resilience: {
        rateLimits: undefined,
        retry: {
          maxRetries: 0,
          initialBackoffMs: 0,
          maxBackoffMs: 0,
          backoffMultiplier: 2,
          jitter: "none",
          respectRetryAfter: true,
        },
        circuitBreaker: { failureThreshold: 5, openDurationMs: 1000, halfOpenMaxProbes: 1 },
        timeouts: { firstByteTimeoutMs: 1000, readTimeoutMs: 1000 },
      },
      now: () => 0,
      maxTokensField: acceptsTopK ? "max_tokens" : "max_completion_tokens",
      acceptsTopK,
    });

  it("OpenAI refuses top_k with 400 naming the field instead of dropping it", () => {
    const refused = target(false).unsupported?.(batch(40));
    expect(refused?.kind).toBe("bad_request");
    expect(refused?.message).toMatch(/^top_k: /);
    expect(target(false).unsupported?.(batch())).toBeUndefined();
  });

  it("OpenAI-compatible servers (vLLM) receive top_k and max_tokens", () => {
    const adapter = target(true);
    expect(adapter.unsupported?.(batch(40))).toBeUndefined();
    const body = JSON.parse(adapter.buildRequest(batch(40), undefined).body) as Record<string, unknown>;
    expect(body).toMatchObject({ top_k: 40, max_tokens: 7 });
    expect(body.max_completion_tokens).toBeUndefined();
  });
});
