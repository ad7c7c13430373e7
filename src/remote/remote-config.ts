// The remote-only parts of `runtime_config` (rate_limits, retry, circuit_breaker, timeouts), shared
// by every provider's schema, with the defaults of docs/configuration.md. Local runtimes refuse these keys.

import { z } from "zod";

export const rateLimitsSchema = z
  .strictObject({
    requests_per_minute: z.number().positive().optional(),
    tokens_per_minute: z.number().positive().optional(),
  })
  .transform((t) => ({ requestsPerMinute: t.requests_per_minute, tokensPerMinute: t.tokens_per_minute }));

export function retrySchema(defaultMaxRetries: number) {
  return z
    .strictObject({
      max_retries: z.int().min(0).max(20).default(defaultMaxRetries),
      initial_backoff_ms: z.int().min(0).default(500),
      max_backoff_ms: z.int().min(0).default(8000),
      backoff_multiplier: z.number().min(1).default(2),
      jitter: z.enum(["full", "equal", "none"]).default("full"),
      respect_retry_after: z.boolean().default(true),
    })
    .prefault({})
    .transform((t) => ({
      maxRetries: t.max_retries,
      initialBackoffMs: t.initial_backoff_ms,
      maxBackoffMs: t.max_backoff_ms,
      backoffMultiplier: t.backoff_multiplier,
      jitter: t.jitter,
      respectRetryAfter: t.respect_retry_after,
    }));
}

export const circuitBreakerSchema = z
  .strictObject({
    failure_threshold: z.int().min(1).default(5),
    open_duration_ms: z.int().min(1).default(30_000),
    half_open_max_probes: z.int().min(1).default(1),
  })
  .prefault({})
  .transform((t) => ({
    failureThreshold: t.failure_threshold,
    openDurationMs: t.open_duration_ms,
    halfOpenMaxProbes: t.half_open_max_probes,
  }));

export const timeoutsSchema = z
  .strictObject({
    first_byte_timeout_ms: z.int().min(1).default(60_000),
    read_timeout_ms: z.int().min(1).default(30_000),
  })
  .prefault({})
  .transform((t) => ({ firstByteTimeoutMs: t.first_byte_timeout_ms, readTimeoutMs: t.read_timeout_ms }));

export type RetrySettings = z.output<ReturnType<typeof retrySchema>>;
export type CircuitSettings = z.output<typeof circuitBreakerSchema>;
export type TimeoutSettings = z.output<typeof timeoutsSchema>;
export type RateLimitSettings = z.output<typeof rateLimitsSchema>;

/** The resilience settings every remote deployment has, whatever its provider. */
export interface ResilienceSettings {
  readonly rateLimits: RateLimitSettings | undefined;
  readonly retry: RetrySettings;
  readonly circuitBreaker: CircuitSettings;
  readonly timeouts: TimeoutSettings;
}

/** The shape for a provider schema: spread into its strictObject. */
export function resilienceKeys(defaultMaxRetries: number) {
  return {
    rate_limits: rateLimitsSchema.optional(),
    retry: retrySchema(defaultMaxRetries),
    circuit_breaker: circuitBreakerSchema,
    timeouts: timeoutsSchema,
  };
}
