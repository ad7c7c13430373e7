// Retry decisions as pure functions (docs/architecture.md, docs/providers.md): exponential backoff with jitter, the
// server's Retry-After honoured (not capped by max_backoff_ms), never past the request deadline,
// never for errors a retry cannot fix, never for non-idempotent deployments, never after commit.

import type { InferenceError } from "../core/inference-error.js";
import { isRetryable } from "../core/inference-error.js";
import type { RetrySettings } from "./remote-config.js";

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | {
      readonly retry: false;
      readonly reason:
        | "not-retryable"
        | "exhausted"
        | "committed"
        | "not-idempotent"
        | "deadline"
        | "fallback";
    };

/** Backoff before retry number `attempt` (1 = the first retry), before jitter. */
export function backoffMs(settings: RetrySettings, attempt: number): number {
  const exponential = settings.initialBackoffMs * settings.backoffMultiplier ** Math.max(0, attempt - 1);
  return Math.min(settings.maxBackoffMs, exponential);
}

/** The delay before retry number `attempt`, honouring the error's Retry-After when set. */
export function nextDelayMs(
  settings: RetrySettings,
  attempt: number,
  error: InferenceError,
  random: () => number,
): number {
  const base = backoffMs(settings, attempt);
  const jittered =
    settings.jitter === "full"
      ? random() * base
      : settings.jitter === "equal"
        ? base / 2 + (random() * base) / 2
        : base;
  const details = error.details;
  const retryAfter =
    details.kind === "rate_limited" && settings.respectRetryAfter ? details.retryAfterMs : undefined;
  return Math.max(Math.round(jittered), retryAfter ?? 0);
}

export function decideRetry(input: {
  readonly settings: RetrySettings;
  readonly error: InferenceError;
  /** Retries already made. */
  readonly retriesMade: number;
  readonly committed: boolean;
  readonly idempotent: boolean;
  readonly now: number;
  readonly deadline: number | undefined;
  readonly random: () => number;
  /** The deployment has fallbacks: a Retry-After longer than max_backoff_ms goes there instead of waiting. */
  readonly hasFallbacks?: boolean;
}): RetryDecision {
  if (input.committed) return { retry: false, reason: "committed" };
  if (!isRetryable(input.error)) return { retry: false, reason: "not-retryable" };
  if (!input.idempotent) return { retry: false, reason: "not-idempotent" };
  if (input.retriesMade >= input.settings.maxRetries) return { retry: false, reason: "exhausted" };
  const details = input.error.details;
  if (
    input.hasFallbacks &&
    details.kind === "rate_limited" &&
    details.retryAfterMs !== undefined &&
    details.retryAfterMs > input.settings.maxBackoffMs
  ) {
    return { retry: false, reason: "fallback" };
  }
  const delayMs = nextDelayMs(input.settings, input.retriesMade + 1, input.error, input.random);
  if (input.deadline !== undefined && input.now + delayMs >= input.deadline)
    return { retry: false, reason: "deadline" };
  return { retry: true, delayMs };
}
