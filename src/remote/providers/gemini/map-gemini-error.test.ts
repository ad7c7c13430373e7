// Gemini API failures → InferenceError kinds: canonical status first (with RetryInfo waits, the bad
// key's 400 and the token-count 400), the HTTP status for what the body does not decide.

import { describe, expect, it } from "vitest";
import {
  countsAsCircuitFailure,
  type InferenceErrorKind,
  isRetryable,
} from "../../../core/inference-error.js";
import { durationMs, mapGeminiError } from "./map-gemini-error.js";

const NOW = Date.UTC(2026, 0, 1);

const body = (code: number, status: string, message: string, details?: unknown[]) =>
  JSON.stringify({ error: { code, message, status, ...(details ? { details } : {}) } });

const map = (status: number, text: string, headers: Record<string, string> = {}) =>
  mapGeminiError(status, headers, text, NOW);

const retryInfo = (retryDelay: string) => ({
  "@type": "type.googleapis.com/google.rpc.RetryInfo",
  retryDelay,
});

describe("mapGeminiError", () => {
  it.each<[string, number, string, InferenceErrorKind]>([
    [
      "400 INVALID_ARGUMENT",
      400,
      body(400, "INVALID_ARGUMENT", "Invalid JSON payload received."),
      "bad_request",
    ],
    [
      "400 FAILED_PRECONDITION",
      400,
      body(400, "FAILED_PRECONDITION", "User location is not supported for the API use."),
      "bad_request",
    ],
    [
      "400 token count over the limit",
      400,
      body(
        400,
        "INVALID_ARGUMENT",
        "The input token count (5000) exceeds the maximum number of tokens allowed (4096).",
      ),
      "context_length_exceeded",
    ],
    [
      "400 bad key (message)",
      400,
      body(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
      "upstream_unauthorized",
    ],
    [
      "400 bad key (ErrorInfo reason)",
      400,
      body(400, "INVALID_ARGUMENT", "Invalid.", [
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" },
      ]),
      "upstream_unauthorized",
    ],
    [
      "401 UNAUTHENTICATED",
      401,
      body(401, "UNAUTHENTICATED", "Request had invalid credentials."),
      "upstream_unauthorized",
    ],
    [
      "403 PERMISSION_DENIED",
      403,
      body(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."),
      "upstream_unauthorized",
    ],
    [
      "404 NOT_FOUND",
      404,
      body(404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta"),
      "not_found",
    ],
    ["429 RESOURCE_EXHAUSTED", 429, body(429, "RESOURCE_EXHAUSTED", "Quota exceeded."), "rate_limited"],
    ["500 INTERNAL", 500, body(500, "INTERNAL", "An internal error has occurred."), "server_error"],
    ["503 UNAVAILABLE", 503, body(503, "UNAVAILABLE", "The model is overloaded."), "server_error"],
    ["504 DEADLINE_EXCEEDED", 504, body(504, "DEADLINE_EXCEEDED", "Deadline expired."), "server_error"],
    ["409 ABORTED (by the HTTP status)", 409, body(409, "ABORTED", "Aborted."), "bad_request"],
    ["502 HTML page (by the HTTP status)", 502, "<html>Bad Gateway</html>", "server_error"],
    ["401 empty body", 401, "", "upstream_unauthorized"],
    ["429 not JSON", 429, "slow down", "rate_limited"],
  ])("%s → %s", (_name, status, text, kind) => {
    expect(map(status, text).kind).toBe(kind);
  });

  it("prefixes the upstream's message with its status", () => {
    expect(map(404, body(404, "NOT_FOUND", "models/x is not found")).message).toBe(
      "upstream 404: models/x is not found",
    );
    expect(map(502, "").message).toBe("upstream 502: HTTP 502");
    expect(map(502, "  <html>Bad Gateway</html> ").message).toBe("upstream 502: <html>Bad Gateway</html>");
  });

  it("reads the token counts of a context-length 400", () => {
    const error = map(
      400,
      body(
        400,
        "INVALID_ARGUMENT",
        "The input token count (5000) exceeds the maximum number of tokens allowed (4096).",
      ),
    );
    expect(error.details).toEqual({ kind: "context_length_exceeded", limit: 4096, requested: 5000 });
  });

  it("waits as long as the RetryInfo detail says, else as Retry-After says", () => {
    const details = [
      { "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [] },
      retryInfo("30s"),
    ];
    expect(map(429, body(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", details)).details).toEqual({
      kind: "rate_limited",
      retryAfterMs: 30_000,
    });
    expect(
      map(429, body(429, "RESOURCE_EXHAUSTED", "q", [retryInfo("1.5s")]), { "retry-after": "9" }).details,
    ).toEqual({
      kind: "rate_limited",
      retryAfterMs: 1500,
    });
    expect(map(429, body(429, "RESOURCE_EXHAUSTED", "q"), { "retry-after": "9" }).details).toEqual({
      kind: "rate_limited",
      retryAfterMs: 9000,
    });
    expect(map(429, body(429, "RESOURCE_EXHAUSTED", "q")).details).toEqual({ kind: "rate_limited" });
  });

  it("5xx kinds keep their status, are retried and count against the circuit", () => {
    const error = map(503, body(503, "UNAVAILABLE", "The model is overloaded. Please try again later."));
    expect(error.details).toEqual({ kind: "server_error", status: 503 });
    expect(isRetryable(error)).toBe(true);
    expect(countsAsCircuitFailure(error)).toBe(true);
  });

  it("reads bodies of the wrong shape by the status, never throwing a TypeError", () => {
    const error = (fields: Record<string, unknown>) => JSON.stringify({ error: fields });
    expect(map(429, error({ status: "RESOURCE_EXHAUSTED", details: { retryDelay: "3s" } })).kind).toBe(
      "rate_limited",
    );
    expect(
      map(429, error({ status: "RESOURCE_EXHAUSTED", details: [null, 5, retryInfo("2s")] })).details,
    ).toEqual({ kind: "rate_limited", retryAfterMs: 2000 });
    expect(map(400, error({ status: "INVALID_ARGUMENT", message: { text: "x" }, details: {} })).kind).toBe(
      "bad_request",
    );
    expect(map(400, error({ status: "INVALID_ARGUMENT", message: 5 })).kind).toBe("bad_request");
  });

  it("reads a body wrapped in a one-element array", () => {
    expect(
      map(429, JSON.stringify([{ error: { code: 429, status: "RESOURCE_EXHAUSTED", message: "q" } }])).kind,
    ).toBe("rate_limited");
  });
});

describe("durationMs", () => {
  it("reads protobuf Durations in JSON", () => {
    expect(durationMs("30s")).toBe(30_000);
    expect(durationMs("1.5s")).toBe(1500);
    expect(durationMs("0.000000001s")).toBe(0);
    expect(durationMs("30")).toBeUndefined();
    expect(durationMs(30)).toBeUndefined();
  });
});
