// InferenceError: every failure a request can end with, one `kind` per cause, whatever layer
// raised it (engine, provider, gateway). The gateway maps it to HTTP in one place (http-error.ts).

export type InferenceErrorDetails =
  | { readonly kind: "rate_limited"; readonly retryAfterMs?: number }
  | { readonly kind: "circuit_open"; readonly openedAt: number; readonly retryAt: number }
  | { readonly kind: "content_filtered" }
  | { readonly kind: "context_length_exceeded"; readonly limit?: number; readonly requested?: number }
  | { readonly kind: "bad_request"; readonly field?: string }
  | { readonly kind: "unauthorized" }
  | { readonly kind: "forbidden" }
  | { readonly kind: "backpressure"; readonly retryAfterMs?: number }
  | { readonly kind: "budget_exceeded"; readonly retryAfterMs?: number }
  | { readonly kind: "network_error" }
  | { readonly kind: "server_error"; readonly status: number }
  | { readonly kind: "timeout"; readonly phase?: "first_byte" | "read" | "request" | "queue" }
  | { readonly kind: "context_poisoned" }
  | { readonly kind: "not_found" }
  | { readonly kind: "unavailable"; readonly state?: string }
  | { readonly kind: "upstream_unauthorized" }
  | { readonly kind: "internal" };

export type InferenceErrorKind = InferenceErrorDetails["kind"];

export const inferenceErrorKinds: readonly InferenceErrorKind[] = [
  "rate_limited",
  "circuit_open",
  "content_filtered",
  "context_length_exceeded",
  "bad_request",
  "unauthorized",
  "forbidden",
  "backpressure",
  "budget_exceeded",
  "network_error",
  "server_error",
  "timeout",
  "context_poisoned",
  "not_found",
  "unavailable",
  "upstream_unauthorized",
  "internal",
];

const retryableKinds: ReadonlySet<InferenceErrorKind> = new Set([
  "rate_limited",
  "network_error",
  "server_error",
  "timeout",
]);
const circuitFailureKinds: ReadonlySet<InferenceErrorKind> = new Set([
  "server_error",
  "network_error",
  "timeout",
]);

export class InferenceError extends Error {
  readonly details: InferenceErrorDetails;

  constructor(details: InferenceErrorDetails, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InferenceError";
    this.details = details;
  }

  get kind(): InferenceErrorKind {
    return this.details.kind;
  }

  /** Stable code for APIs and metrics: the kind. */
  get code(): InferenceErrorKind {
    return this.details.kind;
  }

  /** May the same upstream be tried again (before commit, within the deadline)? */
  get retryable(): boolean {
    return isRetryable(this);
  }
}

/** Kinds worth another attempt at the same target: 429s, 5xx, network errors, timeouts. */
export function isRetryable(error: InferenceError | InferenceErrorKind): boolean {
  return retryableKinds.has(typeof error === "string" ? error : error.kind);
}

/** Kinds a circuit breaker counts as failures: 5xx, timeouts, network errors (never 429, 4xx, cancels). */
export function countsAsCircuitFailure(error: InferenceError | InferenceErrorKind): boolean {
  return circuitFailureKinds.has(typeof error === "string" ? error : error.kind);
}

/** Wraps anything thrown into an InferenceError (kind `internal` unless it already is one). */
export function toInferenceError(error: unknown): InferenceError {
  if (error instanceof InferenceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new InferenceError({ kind: "internal" }, `internal error: ${message}`, { cause: error });
}

/** Shorthand constructors, one per kind, used by every layer. */
export const errors = {
  rateLimited: (message: string, retryAfterMs?: number) =>
    new InferenceError(
      retryAfterMs === undefined ? { kind: "rate_limited" } : { kind: "rate_limited", retryAfterMs },
      message,
    ),
  circuitOpen: (message: string, openedAt: number, retryAt: number) =>
    new InferenceError({ kind: "circuit_open", openedAt, retryAt }, message),
  contentFiltered: (message: string) => new InferenceError({ kind: "content_filtered" }, message),
  contextLengthExceeded: (message: string, limit?: number, requested?: number) =>
    new InferenceError({ kind: "context_length_exceeded", limit, requested }, message),
  badRequest: (message: string, field?: string) =>
    new InferenceError({ kind: "bad_request", field }, message),
  unauthorized: (message: string) => new InferenceError({ kind: "unauthorized" }, message),
  forbidden: (message: string) => new InferenceError({ kind: "forbidden" }, message),
  backpressure: (message: string, retryAfterMs?: number) =>
    new InferenceError(
      retryAfterMs === undefined ? { kind: "backpressure" } : { kind: "backpressure", retryAfterMs },
      message,
    ),
  budgetExceeded: (message: string, retryAfterMs?: number) =>
    new InferenceError(
      retryAfterMs === undefined ? { kind: "budget_exceeded" } : { kind: "budget_exceeded", retryAfterMs },
      message,
    ),
  networkError: (message: string, cause?: unknown) =>
    new InferenceError({ kind: "network_error" }, message, { cause }),
  serverError: (message: string, status: number) =>
    new InferenceError({ kind: "server_error", status }, message),
  timeout: (message: string, phase?: "first_byte" | "read" | "request" | "queue") =>
    new InferenceError(phase === undefined ? { kind: "timeout" } : { kind: "timeout", phase }, message),
  contextPoisoned: (message: string, cause?: unknown) =>
    new InferenceError({ kind: "context_poisoned" }, message, { cause }),
  notFound: (message: string) => new InferenceError({ kind: "not_found" }, message),
  unavailable: (message: string, state?: string) =>
    new InferenceError(
      state === undefined ? { kind: "unavailable" } : { kind: "unavailable", state },
      message,
    ),
  upstreamUnauthorized: (message: string) => new InferenceError({ kind: "upstream_unauthorized" }, message),
  internal: (message: string, cause?: unknown) =>
    new InferenceError({ kind: "internal" }, message, { cause }),
};

/**
 * What a request meets when a shared store failed to decide for it: the store's own typed error
 * (e.g. `unavailable` "cluster store unavailable"), or any other failure (a Redis error reply, a
 * lost compare-and-set) as `unavailable` naming it. The actors that ask stores answer with it, so
 * no request waits on an answer that never comes.
 */
export function storeFailure(error: unknown): InferenceError {
  if (error instanceof InferenceError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return errors.unavailable(`shared store failed: ${reason.slice(0, 200)}`);
}
