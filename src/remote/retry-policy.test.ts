// Retry decisions as pure functions: backoff growth and cap, jitter with an injected random,
// Retry-After honoured past max_backoff_ms, and every reason not to retry (docs/architecture.md, docs/providers.md).

import { describe, expect, it } from "vitest";
import { errors, type InferenceError } from "../core/inference-error.js";
import type { RetrySettings } from "./remote-config.js";
import { backoffMs, decideRetry, nextDelayMs } from "./retry-policy.js";

const settings: RetrySettings = {
  maxRetries: 3,
  initialBackoffMs: 500,
  maxBackoffMs: 8000,
  backoffMultiplier: 2,
  jitter: "none",
  respectRetryAfter: true,
};

const withSettings = (overrides: Partial<RetrySettings>): RetrySettings => ({ ...settings, ...overrides });
const fixed = (value: number) => () => value;
const NOW = 1_000_000;

function decide(
  error: InferenceError,
  options: {
    settings?: RetrySettings;
    retriesMade?: number;
    committed?: boolean;
    idempotent?: boolean;
    deadline?: number;
    random?: () => number;
    hasFallbacks?: boolean;
  } = {},
) {
  return decideRetry({
    settings: options.settings ?? settings,
    error,
    retriesMade: options.retriesMade ?? 0,
    committed: options.committed ?? false,
    idempotent: options.idempotent ?? true,
    now: NOW,
    deadline: options.deadline,
    random: options.random ?? fixed(0.5),
    hasFallbacks: options.hasFallbacks ?? false,
  });
}

describe("backoffMs", () => {
  it("grows by the multiplier from initial_backoff_ms", () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffMs(settings, attempt))).toEqual([
      500, 1000, 2000, 4000, 8000,
    ]);
  });

  it("is capped at max_backoff_ms", () => {
    expect(backoffMs(settings, 6)).toBe(8000);
    expect(backoffMs(settings, 20)).toBe(8000);
    expect(backoffMs(withSettings({ maxBackoffMs: 1500 }), 3)).toBe(1500);
  });

  it("a multiplier of 1 is a constant backoff", () => {
    expect([1, 2, 3].map((attempt) => backoffMs(withSettings({ backoffMultiplier: 1 }), attempt))).toEqual([
      500, 500, 500,
    ]);
  });

  it("follows a fractional multiplier", () => {
    expect(backoffMs(withSettings({ backoffMultiplier: 1.5 }), 3)).toBe(1125);
  });
});

describe("nextDelayMs", () => {
  const server = errors.serverError("upstream 503", 503);

  it("jitter none: the backoff itself", () => {
    expect(nextDelayMs(settings, 2, server, fixed(0.9))).toBe(1000);
  });

  it("jitter full: random × backoff", () => {
    const full = withSettings({ jitter: "full" });
    expect(nextDelayMs(full, 2, server, fixed(0))).toBe(0);
    expect(nextDelayMs(full, 2, server, fixed(0.25))).toBe(250);
    expect(nextDelayMs(full, 2, server, fixed(0.999))).toBe(999);
  });

  it("jitter equal: half the backoff plus random × half", () => {
    const equal = withSettings({ jitter: "equal" });
    expect(nextDelayMs(equal, 2, server, fixed(0))).toBe(500);
    expect(nextDelayMs(equal, 2, server, fixed(0.5))).toBe(750);
    expect(nextDelayMs(equal, 2, server, fixed(0.999))).toBe(1000);
  });

  it("jitter never exceeds the capped backoff", () => {
    for (const jitter of ["full", "equal", "none"] as const) {
      for (const r of [0, 0.3, 0.7, 0.999999]) {
        expect(nextDelayMs(withSettings({ jitter }), 10, server, fixed(r))).toBeLessThanOrEqual(8000);
      }
    }
  });

  it("rounds to whole milliseconds", () => {
    expect(nextDelayMs(withSettings({ jitter: "full" }), 1, server, fixed(1 / 3))).toBe(167);
  });

  it("honours Retry-After when it is longer than the backoff, beyond max_backoff_ms", () => {
    const limited = errors.rateLimited("upstream 429", 20_000);
    expect(nextDelayMs(settings, 1, limited, fixed(0.5))).toBe(20_000);
  });

  it("never waits less than Retry-After, whatever the jitter", () => {
    const limited = errors.rateLimited("upstream 429", 300);
    expect(nextDelayMs(withSettings({ jitter: "full" }), 1, limited, fixed(0))).toBe(300);
    expect(nextDelayMs(settings, 2, limited, fixed(0))).toBe(1000); // the backoff is longer
  });

  it("respect_retry_after = false ignores it", () => {
    const limited = errors.rateLimited("upstream 429", 20_000);
    expect(nextDelayMs(withSettings({ respectRetryAfter: false }), 1, limited, fixed(0.5))).toBe(500);
  });

  it("a 429 without Retry-After backs off like any other error", () => {
    expect(nextDelayMs(withSettings({ jitter: "full" }), 1, errors.rateLimited("429"), fixed(0.5))).toBe(250);
  });

  it("only rate_limited carries a Retry-After", () => {
    const backpressure = errors.backpressure("full", 20_000);
    expect(nextDelayMs(settings, 1, backpressure, fixed(0.5))).toBe(500);
  });
});

describe("decideRetry", () => {
  it.each([
    ["rate_limited", errors.rateLimited("429")],
    ["server_error", errors.serverError("503", 503)],
    ["network_error", errors.networkError("reset")],
    ["timeout", errors.timeout("first byte", "first_byte")],
  ])("retries %s", (_kind, error) => {
    expect(decide(error)).toEqual({ retry: true, delayMs: 500 });
  });

  it.each([
    ["content_filtered", errors.contentFiltered("filtered")],
    ["context_length_exceeded", errors.contextLengthExceeded("too long")],
    ["bad_request", errors.badRequest("bad")],
    ["forbidden", errors.forbidden("no")],
    ["not_found", errors.notFound("no model")],
    ["upstream_unauthorized", errors.upstreamUnauthorized("401")],
    ["circuit_open", errors.circuitOpen("open", 0, 1)],
    ["backpressure", errors.backpressure("full")],
    ["internal", errors.internal("bug")],
  ])("never retries %s", (_kind, error) => {
    expect(decide(error)).toEqual({ retry: false, reason: "not-retryable" });
  });

  it("never after commit", () => {
    expect(decide(errors.networkError("reset"), { committed: true })).toEqual({
      retry: false,
      reason: "committed",
    });
  });

  it("never for a non-idempotent deployment", () => {
    expect(decide(errors.serverError("503", 503), { idempotent: false })).toEqual({
      retry: false,
      reason: "not-idempotent",
    });
  });

  it("at most max_retries", () => {
    const error = errors.serverError("503", 503);
    expect(decide(error, { retriesMade: 2 })).toEqual({ retry: true, delayMs: 2000 });
    expect(decide(error, { retriesMade: 3 })).toEqual({ retry: false, reason: "exhausted" });
    expect(decide(error, { settings: withSettings({ maxRetries: 0 }) })).toEqual({
      retry: false,
      reason: "exhausted",
    });
  });

  it("the delay grows with the retries already made", () => {
    const error = errors.timeout("read", "read");
    expect([0, 1, 2].map((retriesMade) => decide(error, { retriesMade }))).toEqual([
      { retry: true, delayMs: 500 },
      { retry: true, delayMs: 1000 },
      { retry: true, delayMs: 2000 },
    ]);
  });

  it("uses the injected random for jitter", () => {
    let calls = 0;
    const random = () => {
      calls++;
      return 0.1;
    };
    expect(
      decide(errors.serverError("503", 503), { settings: withSettings({ jitter: "full" }), random }),
    ).toEqual({
      retry: true,
      delayMs: 50,
    });
    expect(calls).toBe(1);
  });

  it("refuses a retry that would wait to or past the deadline", () => {
    const limited = errors.rateLimited("429", 10_000);
    expect(decide(limited, { deadline: NOW + 5000 })).toEqual({ retry: false, reason: "deadline" });
    expect(decide(limited, { deadline: NOW + 10_000 })).toEqual({ retry: false, reason: "deadline" });
    expect(decide(limited, { deadline: NOW + 10_001 })).toEqual({ retry: true, delayMs: 10_000 });
  });

  it("refuses a backoff past the deadline too", () => {
    expect(decide(errors.serverError("503", 503), { deadline: NOW + 400 })).toEqual({
      retry: false,
      reason: "deadline",
    });
  });

  it("no deadline: any wait is allowed", () => {
    expect(decide(errors.rateLimited("429", 3_600_000))).toEqual({ retry: true, delayMs: 3_600_000 });
  });

  it("with fallbacks, a Retry-After longer than max_backoff_ms goes to the fallbacks instead of waiting", () => {
    expect(decide(errors.rateLimited("429", 8001), { hasFallbacks: true })).toEqual({
      retry: false,
      reason: "fallback",
    });
    expect(decide(errors.rateLimited("429", 8001))).toEqual({ retry: true, delayMs: 8001 });
  });

  it("with fallbacks, a Retry-After within max_backoff_ms, a 429 without one, or a 5xx is still retried", () => {
    expect(decide(errors.rateLimited("429", 8000), { hasFallbacks: true })).toEqual({
      retry: true,
      delayMs: 8000,
    });
    expect(decide(errors.rateLimited("429"), { hasFallbacks: true })).toEqual({ retry: true, delayMs: 500 });
    expect(decide(errors.serverError("503", 503), { hasFallbacks: true })).toEqual({
      retry: true,
      delayMs: 500,
    });
  });

  it("with fallbacks and retries exhausted, the reason is exhausted", () => {
    expect(decide(errors.rateLimited("429", 60_000), { hasFallbacks: true, retriesMade: 3 })).toEqual({
      retry: false,
      reason: "exhausted",
    });
  });

  it("checks commit before anything else, then retryability, then idempotency", () => {
    expect(decide(errors.badRequest("x"), { committed: true, idempotent: false })).toEqual({
      retry: false,
      reason: "committed",
    });
    expect(decide(errors.badRequest("x"), { idempotent: false })).toEqual({
      retry: false,
      reason: "not-retryable",
    });
    expect(decide(errors.serverError("x", 500), { idempotent: false, retriesMade: 9 })).toEqual({
      retry: false,
      reason: "not-idempotent",
    });
  });
});
