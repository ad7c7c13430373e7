// The one mapping from InferenceError to an HTTP status and headers (docs/api.md, "Errors"),
// whatever the wire: each dialect writes its own error body for it (src/core/dialect.ts). Only the
// gateway calls it.

import type { InferenceError, InferenceErrorKind } from "./inference-error.js";

export interface HttpError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

const statusByKind: Readonly<Record<InferenceErrorKind, number>> = {
  bad_request: 400,
  content_filtered: 400,
  context_length_exceeded: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  rate_limited: 429,
  backpressure: 429,
  budget_exceeded: 429,
  context_poisoned: 500,
  internal: 500,
  server_error: 502,
  network_error: 502,
  upstream_unauthorized: 502,
  circuit_open: 503,
  unavailable: 503,
  timeout: 504,
};

export function httpStatusOf(kind: InferenceErrorKind): number {
  return statusByKind[kind];
}

/** Retry-After in whole seconds, rounded up; at least 1. */
function retryAfterSeconds(ms: number | undefined): string {
  return String(Math.max(1, Math.ceil((ms ?? 1000) / 1000)));
}

/** `now` (ms, from the injected clock) is needed for circuit_open's Retry-After. */
export function toHttpError(error: InferenceError, now: number): HttpError {
  const status = statusByKind[error.kind];
  const details = error.details;
  let headers: Record<string, string> = {};
  switch (details.kind) {
    case "rate_limited":
    case "backpressure":
    case "budget_exceeded":
      headers = { "retry-after": retryAfterSeconds(details.retryAfterMs) };
      break;
    case "circuit_open":
      headers = { "retry-after": retryAfterSeconds(details.retryAt - now) };
      break;
  }
  return { status, headers };
}
