// The Deployment type: what a client's `model` names, and how it is served (runtime, replicas,
// serving limits, fallbacks, budget). Validation lives in config/deployment-schema.ts.

import type { InferenceErrorKind } from "./inference-error.js";
import type { RuntimeKind } from "./runtime-kind.js";

export type OnCapacityExhausted = "reject" | "queue" | "fallback";

export interface ServingConfig {
  readonly maxConcurrent: number;
  readonly queueCapacity: number;
  readonly onCapacityExhausted: OnCapacityExhausted;
  readonly queueTimeoutMs: number;
}

export interface BudgetConfig {
  readonly maxSpendPerHourUsd?: number;
  readonly maxSpendPerDayUsd?: number;
  readonly onExceeded: "reject" | "warn" | "throttle";
}

export interface PricingConfig {
  readonly inputPerMillionUsd: number;
  readonly cachedInputPerMillionUsd?: number;
  readonly outputPerMillionUsd: number;
}

export interface Deployment {
  readonly name: string;
  /** Upstream model name, or the GGUF path for llama. */
  readonly model: string;
  readonly runtime: RuntimeKind;
  /** Parsed by the runtime's own schema (see the runtime registry); opaque to serving. */
  readonly runtimeConfig: unknown;
  readonly replicas: number;
  readonly gpus?: readonly number[];
  readonly serving: ServingConfig;
  readonly fallbacks: readonly string[];
  readonly fallbackOn?: readonly InferenceErrorKind[];
  readonly contextWindow?: number;
  readonly budget?: BudgetConfig;
  readonly pricing?: PricingConfig;
  readonly idempotent: boolean;
}

export const servingDefaults: ServingConfig = {
  maxConcurrent: 32,
  queueCapacity: 256,
  onCapacityExhausted: "queue",
  queueTimeoutMs: 30_000,
};
