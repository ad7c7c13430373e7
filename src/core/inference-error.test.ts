import { describe, expect, it } from "vitest";
import { openAiErrorBody } from "../serving/dialects/openai/openai-error-body.js";
import { toHttpError } from "./http-error.js";
import {
  countsAsCircuitFailure,
  errors,
  type InferenceError,
  type InferenceErrorKind,
  inferenceErrorKinds,
  isRetryable,
} from "./inference-error.js";

const now = 1_000_000;

// kind → [example error, retryable, circuit failure, status, Retry-After, OpenAI error type]
const table: Record<
  InferenceErrorKind,
  [InferenceError, boolean, boolean, number, string | undefined, string]
> = {
  rate_limited: [errors.rateLimited("slow down", 2500), true, false, 429, "3", "rate_limit_error"],
  circuit_open: [
    errors.circuitOpen("circuit open", now - 10, now + 4001),
    false,
    false,
    503,
    "5",
    "service_unavailable",
  ],
  content_filtered: [
    errors.contentFiltered("filtered"),
    false,
    false,
    400,
    undefined,
    "invalid_request_error",
  ],
  context_length_exceeded: [
    errors.contextLengthExceeded("too long", 10, 20),
    false,
    false,
    400,
    undefined,
    "invalid_request_error",
  ],
  bad_request: [
    errors.badRequest("bad field", "messages"),
    false,
    false,
    400,
    undefined,
    "invalid_request_error",
  ],
  unauthorized: [errors.unauthorized("no key"), false, false, 401, undefined, "authentication_error"],
  forbidden: [errors.forbidden("no"), false, false, 403, undefined, "permission_error"],
  backpressure: [errors.backpressure("full", 1), false, false, 429, "1", "rate_limit_error"],
  budget_exceeded: [errors.budgetExceeded("spent", 60_000), false, false, 429, "60", "rate_limit_error"],
  network_error: [errors.networkError("reset"), true, true, 502, undefined, "upstream_error"],
  server_error: [errors.serverError("upstream 503", 503), true, true, 502, undefined, "upstream_error"],
  timeout: [errors.timeout("slow", "first_byte"), true, true, 504, undefined, "timeout_error"],
  context_poisoned: [errors.contextPoisoned("eval failed"), false, false, 500, undefined, "server_error"],
  not_found: [errors.notFound("no such model"), false, false, 404, undefined, "not_found_error"],
  unavailable: [
    errors.unavailable("failed deployment", "failed"),
    false,
    false,
    503,
    undefined,
    "service_unavailable",
  ],
  upstream_unauthorized: [
    errors.upstreamUnauthorized("provider refused our key"),
    false,
    false,
    502,
    undefined,
    "upstream_error",
  ],
  internal: [errors.internal("bug"), false, false, 500, undefined, "server_error"],
};

describe("InferenceError kinds", () => {
  it("the table covers every kind", () => {
    expect(Object.keys(table).sort()).toEqual([...inferenceErrorKinds].sort());
  });

  for (const kind of inferenceErrorKinds) {
    const [error, retryable, circuit, status, retryAfter, type] = table[kind];
    it(`${kind}: retryable=${retryable}, circuit failure=${circuit}, HTTP ${status}`, () => {
      expect(error.kind).toBe(kind);
      expect(isRetryable(error)).toBe(retryable);
      expect(error.retryable).toBe(retryable);
      expect(countsAsCircuitFailure(error)).toBe(circuit);
      const http = toHttpError(error, now);
      expect(http.status).toBe(status);
      expect(http.headers["retry-after"]).toBe(retryAfter);
      expect(openAiErrorBody(error, http.status)).toEqual({
        error: { message: error.message, type, code: kind },
      });
    });
  }

  it("rounds Retry-After up to whole seconds and never below 1", () => {
    expect(toHttpError(errors.rateLimited("x", 1), now).headers["retry-after"]).toBe("1");
    expect(toHttpError(errors.rateLimited("x", 1001), now).headers["retry-after"]).toBe("2");
    expect(toHttpError(errors.rateLimited("x"), now).headers["retry-after"]).toBe("1");
    expect(toHttpError(errors.circuitOpen("x", now, now - 5), now).headers["retry-after"]).toBe("1");
  });
});
