// The helpers every provider's error mapping shares: the Retry-After wait and the kind of a status.

import { describe, expect, it } from "vitest";
import { errorForStatus, headerValue, retryAfterMs } from "./upstream-errors.js";

const NOW = Date.UTC(2026, 0, 1);

describe("retryAfterMs", () => {
  it("reads nothing from no headers", () => {
    expect(retryAfterMs({}, NOW)).toBeUndefined();
  });

  it("never returns a negative delay", () => {
    expect(retryAfterMs({ "retry-after": "-3" }, NOW)).toBe(0);
    expect(retryAfterMs({ "retry-after-ms": "-3" }, NOW)).toBe(0);
  });

  it("a non-numeric retry-after-ms falls back to retry-after", () => {
    expect(retryAfterMs({ "retry-after-ms": "x", "retry-after": "2" }, NOW)).toBe(2000);
  });
});

describe("headerValue", () => {
  it("reads a header's value, the first of a repeated one, undefined when absent", () => {
    expect(headerValue({ "x-a": "1" }, "x-a")).toBe("1");
    expect(headerValue({ "x-a": ["2", "3"] }, "x-a")).toBe("2");
    expect(headerValue({}, "x-a")).toBeUndefined();
  });
});

describe("errorForStatus", () => {
  it.each([
    [429, "rate_limited"],
    [401, "upstream_unauthorized"],
    [403, "forbidden"],
    [404, "not_found"],
    [408, "timeout"],
    [500, "server_error"],
    [503, "server_error"],
    [400, "bad_request"],
    [422, "bad_request"],
  ])("HTTP %i is %s", (status, kind) => {
    expect(errorForStatus(status, `upstream ${status}: x`, {}, NOW).kind).toBe(kind);
  });

  it("a 429 carries the upstream's Retry-After, and the message as given", () => {
    const error = errorForStatus(429, "upstream 429: slow down", { "retry-after": "2" }, NOW);
    expect(error.details).toEqual({ kind: "rate_limited", retryAfterMs: 2000 });
    expect(error.message).toBe("upstream 429: slow down");
  });
});
