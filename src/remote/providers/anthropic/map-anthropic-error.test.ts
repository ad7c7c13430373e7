// Anthropic's non-2xx answers → InferenceError kinds: each error type, the prompt-too-long
// wording, the rate-limit wait from Retry-After or the anthropic-ratelimit-*-reset headers, and
// messages that keep the provider's text and never an echoed key.

import { describe, expect, it } from "vitest";
import { countsAsCircuitFailure, type InferenceErrorKind } from "../../../core/inference-error.js";
import { anthropicRateLimitWaitMs, mapAnthropicError } from "./map-anthropic-error.js";

const NOW = Date.UTC(2026, 0, 1);

const body = (type: string, message: string) =>
  JSON.stringify({ type: "error", error: { type, message }, request_id: "req_011CSHoEeqs5C35K2UUqR7Fy" });

const map = (status: number, text: string, headers: Record<string, string | string[]> = {}) =>
  mapAnthropicError(status, headers, text, NOW);

describe("mapAnthropicError", () => {
  it.each<[string, number, string, InferenceErrorKind]>([
    [
      "400 invalid_request_error",
      400,
      body("invalid_request_error", "max_tokens: Field required"),
      "bad_request",
    ],
    [
      "400 prompt is too long",
      400,
      body("invalid_request_error", "prompt is too long: 5000 tokens > 4096 maximum"),
      "context_length_exceeded",
    ],
    [
      "400 input + max_tokens over the context limit",
      400,
      body(
        "invalid_request_error",
        "input length and `max_tokens` exceed context limit: 197000 + 8192 > 200000",
      ),
      "context_length_exceeded",
    ],
    [
      "401 authentication_error",
      401,
      body("authentication_error", "invalid x-api-key"),
      "upstream_unauthorized",
    ],
    ["402 billing_error", 402, body("billing_error", "Your credit balance is too low."), "budget_exceeded"],
    [
      "403 permission_error",
      403,
      body("permission_error", "Your API key does not have permission."),
      "forbidden",
    ],
    ["404 not_found_error", 404, body("not_found_error", "model: claude-9"), "not_found"],
    [
      "413 request_too_large",
      413,
      body("request_too_large", "Request exceeds the maximum allowed number of bytes."),
      "bad_request",
    ],
    [
      "429 rate_limit_error",
      429,
      body("rate_limit_error", "Number of requests has exceeded your rate limit."),
      "rate_limited",
    ],
    ["500 api_error", 500, body("api_error", "Internal server error"), "server_error"],
    ["529 overloaded_error", 529, body("overloaded_error", "Overloaded"), "server_error"],
    ["504 timeout_error", 504, body("timeout_error", "Request timed out"), "timeout"],
    ["502 from a proxy (not JSON)", 502, "<html>Bad Gateway</html>", "server_error"],
    ["429 without a body", 429, "", "rate_limited"],
    ["400 context wording without a type", 400, "prompt is too long", "context_length_exceeded"],
    ["418 unknown type", 418, body("teapot_error", "short and stout"), "bad_request"],
  ])("%s → %s", (_name, status, text, kind) => {
    expect(map(status, text).kind).toBe(kind);
  });

  it("keeps the provider's message, prefixed with the status", () => {
    expect(map(400, body("invalid_request_error", "temperature: range is 0 to 1")).message).toBe(
      "upstream 400: temperature: range is 0 to 1",
    );
    expect(map(503, "").message).toBe("upstream 503: HTTP 503");
  });

  it("reads the sizes of a prompt that is too long", () => {
    expect(
      map(400, body("invalid_request_error", "prompt is too long: 5000 tokens > 4096 maximum")).details,
    ).toEqual({
      kind: "context_length_exceeded",
      limit: 4096,
      requested: 5000,
    });
  });

  it("overloaded and api errors are retryable server errors that count against the circuit", () => {
    for (const [status, type] of [
      [529, "overloaded_error"],
      [500, "api_error"],
    ] as const) {
      const error = map(status, body(type, "x"));
      expect(error.details).toEqual({ kind: "server_error", status });
      expect(error.retryable).toBe(true);
      expect(countsAsCircuitFailure(error)).toBe(true);
    }
  });

  it("an authentication error is upstream_unauthorized and repeats no request header", () => {
    const error = map(401, body("authentication_error", "invalid x-api-key"), {
      "x-api-key": "sk-ant-secret",
    });
    expect(error.kind).toBe("upstream_unauthorized");
    expect(error.message).toBe("upstream 401: invalid x-api-key");
  });

  it("a billing error is budget_exceeded, not retried, with the upstream's Retry-After or one minute", () => {
    const error = map(402, body("billing_error", "Your credit balance is too low."));
    expect(error.details).toEqual({ kind: "budget_exceeded", retryAfterMs: 60_000 });
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      "upstream 402: the upstream account cannot be billed: Your credit balance is too low.",
    );
    expect(map(402, body("billing_error", "x"), { "retry-after": "5" }).details).toEqual({
      kind: "budget_exceeded",
      retryAfterMs: 5000,
    });
  });

  it("request_too_large says so", () => {
    const error = map(413, body("request_too_large", "Request exceeds the maximum allowed number of bytes."));
    expect(error.details).toEqual({ kind: "bad_request" });
    expect(error.message).toBe(
      "upstream 413: the request is larger than anthropic accepts (request_too_large): Request exceeds the maximum allowed number of bytes.",
    );
  });

  it("a rate limit waits for Retry-After", () => {
    expect(map(429, body("rate_limit_error", "slow"), { "retry-after": "7" }).details).toEqual({
      kind: "rate_limited",
      retryAfterMs: 7000,
    });
  });

  it("without Retry-After, a rate limit waits for the latest reset among the exhausted limits", () => {
    const headers = {
      "anthropic-ratelimit-requests-remaining": "0",
      "anthropic-ratelimit-requests-reset": new Date(NOW + 20_000).toISOString(),
      "anthropic-ratelimit-input-tokens-remaining": "0",
      "anthropic-ratelimit-input-tokens-reset": "2026-01-01T00:00:45Z",
      // not exhausted: its later reset does not count
      "anthropic-ratelimit-output-tokens-remaining": "1000",
      "anthropic-ratelimit-output-tokens-reset": "2026-01-01T00:05:00Z",
    };
    expect(map(429, body("rate_limit_error", "slow"), headers).details).toEqual({
      kind: "rate_limited",
      retryAfterMs: 45_000,
    });
  });

  it("knows no wait when no limit is exhausted, and never a negative one", () => {
    expect(
      anthropicRateLimitWaitMs(
        {
          "anthropic-ratelimit-tokens-remaining": "5",
          "anthropic-ratelimit-tokens-reset": "2026-01-01T00:01:00Z",
        },
        NOW,
      ),
    ).toBeUndefined();
    expect(
      anthropicRateLimitWaitMs(
        {
          "anthropic-ratelimit-tokens-remaining": "0",
          "anthropic-ratelimit-tokens-reset": "2025-12-31T23:59:00Z",
        },
        NOW,
      ),
    ).toBe(0);
    expect(
      anthropicRateLimitWaitMs(
        { "anthropic-ratelimit-tokens-remaining": "0", "anthropic-ratelimit-tokens-reset": "soon" },
        NOW,
      ),
    ).toBeUndefined();
    expect(map(429, body("rate_limit_error", "slow")).details).toEqual({ kind: "rate_limited" });
  });
});
