// Non-2xx answers of OpenAI-style servers → InferenceError kinds, Retry-After included.

import { describe, expect, it } from "vitest";
import { countsAsCircuitFailure, type InferenceErrorKind } from "../../../core/inference-error.js";
import { mapOpenAiError } from "./map-openai-error.js";

const NOW = Date.UTC(2026, 0, 1);

const body = (message: string, code: string | null = null, type = "invalid_request_error") =>
  JSON.stringify({ error: { message, type, param: null, code } });

const map = (status: number, text: string, headers: Record<string, string | string[]> = {}) =>
  mapOpenAiError(status, headers, text, NOW);

describe("mapOpenAiError", () => {
  it.each<[string, number, string, InferenceErrorKind]>([
    [
      "400 context_length_exceeded (code)",
      400,
      body("Too long.", "context_length_exceeded"),
      "context_length_exceeded",
    ],
    [
      "400 context length (message only)",
      400,
      body(
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
      ),
      "context_length_exceeded",
    ],
    ["400 content_filter (code)", 400, body("Filtered.", "content_filter"), "content_filtered"],
    [
      "400 Azure content management policy (message only)",
      400,
      body(
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
      ),
      "content_filtered",
    ],
    [
      "400 content_policy_violation (code)",
      400,
      body("Your request was rejected.", "content_policy_violation"),
      "content_filtered",
    ],
    ["400 other", 400, body("Invalid value for 'temperature'."), "bad_request"],
    ["422", 422, body("Unprocessable."), "bad_request"],
    ["401", 401, body("Incorrect API key provided.", "invalid_api_key"), "upstream_unauthorized"],
    ["403", 403, body("Not allowed.", "permission_denied", "permission_error"), "forbidden"],
    ["404", 404, body("The model `gpt-9` does not exist", "model_not_found"), "not_found"],
    ["408", 408, body("Request timed out."), "timeout"],
    ["429", 429, body("Rate limit reached.", "rate_limit_exceeded", "rate_limit_error"), "rate_limited"],
    ["500", 500, body("The server had an error.", null, "server_error"), "server_error"],
    ["502", 502, "<html>Bad Gateway</html>", "server_error"],
    ["503", 503, body("The engine is currently overloaded.", null, "server_error"), "server_error"],
    ["504", 504, "", "server_error"],
  ])("%s → %s", (_name, status, text, kind) => {
    expect(map(status, text).kind).toBe(kind);
  });

  it("401 never maps to the gateway's own `unauthorized` (that is the client's key)", () => {
    expect(map(401, "").kind).toBe("upstream_unauthorized");
  });

  it("5xx keeps the upstream status", () => {
    for (const status of [500, 502, 503, 529]) {
      expect(map(status, "").details).toEqual({ kind: "server_error", status });
    }
  });

  it("408 is a first-byte timeout", () => {
    expect(map(408, "").details).toEqual({ kind: "timeout", phase: "first_byte" });
  });

  it("keeps the provider's message, prefixed with the status", () => {
    expect(map(400, body("Invalid value for 'temperature'.")).message).toBe(
      "upstream 400: Invalid value for 'temperature'.",
    );
  });

  it("a non-JSON body becomes the message, trimmed to 200 characters", () => {
    expect(map(502, "  <html>Bad Gateway</html>\n").message).toBe("upstream 502: <html>Bad Gateway</html>");
    expect(map(502, "x".repeat(500)).message).toBe(`upstream 502: ${"x".repeat(200)}`);
  });

  it("an empty body names the status", () => {
    expect(map(503, "").message).toBe("upstream 503: HTTP 503");
  });

  it("a 429 is rate_limited even when its message mentions the context length", () => {
    expect(map(429, body("Request too large: context length")).kind).toBe("rate_limited");
  });

  describe("429 insufficient_quota (the upstream account is out of credit)", () => {
    const quota = (code: string | null, type: string) =>
      body("You exceeded your current quota, please check your plan and billing details.", code, type);

    it.each([
      ["code and type", quota("insufficient_quota", "insufficient_quota")],
      ["code only", quota("insufficient_quota", "invalid_request_error")],
      ["type only", quota(null, "insufficient_quota")],
    ])("%s → budget_exceeded, not retryable, neutral for the circuit", (_name, text) => {
      const error = map(429, text, { "retry-after": "20" });
      // the upstream's Retry-After becomes the client's hint (nothing waits on it: not retryable)
      expect(error.details).toEqual({ kind: "budget_exceeded", retryAfterMs: 20_000 });
      expect(error.retryable).toBe(false);
      expect(countsAsCircuitFailure(error)).toBe(false);
    });

    it("without an upstream Retry-After the client's hint is one minute", () => {
      const error = map(429, quota("insufficient_quota", "insufficient_quota"));
      expect(error.details).toEqual({ kind: "budget_exceeded", retryAfterMs: 60_000 });
    });

    it("says the upstream account's quota is exhausted and keeps the provider's message", () => {
      expect(map(429, quota("insufficient_quota", "insufficient_quota")).message).toBe(
        "upstream 429: the upstream account's quota is exhausted: " +
          "You exceeded your current quota, please check your plan and billing details.",
      );
    });

    it("a 429 rate limit is still rate_limited", () => {
      expect(map(429, body("Rate limit reached.", "rate_limit_exceeded", "rate_limit_error")).retryable).toBe(
        true,
      );
    });
  });

  describe("429 Retry-After", () => {
    it("seconds", () => {
      expect(map(429, "", { "retry-after": "7" }).details).toEqual({
        kind: "rate_limited",
        retryAfterMs: 7000,
      });
    });

    it("fractional seconds", () => {
      expect(map(429, "", { "retry-after": "0.5" }).details).toEqual({
        kind: "rate_limited",
        retryAfterMs: 500,
      });
    });

    it("an HTTP date, against the injected clock", () => {
      const date = new Date(NOW + 30_000).toUTCString();
      expect(map(429, "", { "retry-after": date }).details).toEqual({
        kind: "rate_limited",
        retryAfterMs: 30_000,
      });
    });

    it("an HTTP date in the past is 0", () => {
      expect(map(429, "", { "retry-after": new Date(NOW - 5000).toUTCString() }).details).toEqual({
        kind: "rate_limited",
        retryAfterMs: 0,
      });
    });

    it("OpenAI's retry-after-ms wins over retry-after", () => {
      expect(map(429, "", { "retry-after-ms": "1250", "retry-after": "2" }).details).toEqual({
        kind: "rate_limited",
        retryAfterMs: 1250,
      });
    });

    it("no header: no retryAfterMs", () => {
      expect(map(429, body("Rate limit reached.")).details).toEqual({ kind: "rate_limited" });
    });

    it("an unreadable header is ignored", () => {
      expect(map(429, "", { "retry-after": "soon" }).details).toEqual({ kind: "rate_limited" });
    });

    it("a repeated header uses the first value", () => {
      expect(map(429, "", { "retry-after": ["3", "9"] }).details).toEqual({
        kind: "rate_limited",
        retryAfterMs: 3000,
      });
    });
  });
});

describe("context length is a client error only", () => {
  it("a 5xx whose message mentions the context length stays a server error", () => {
    const error = mapOpenAiError(
      500,
      {},
      JSON.stringify({ error: { message: "context length cache failed" } }),
      0,
    );
    expect(error.kind).toBe("server_error");
  });
});
