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
  /** Prompt tokens written to the provider's cache; the input price when unset. */
  readonly cacheWriteInputPerMillionUsd?: number;
  readonly outputPerMillionUsd: number;
  /**
   * A higher tier for long prompts (Gemini's Pro models above 200k prompt tokens): a request whose
   * prompt has more than `aboveInputTokens` tokens is priced at these rates instead.
   */
  readonly longContext?: {
    readonly aboveInputTokens: number;
    readonly inputPerMillionUsd: number;
    readonly cachedInputPerMillionUsd?: number;
    readonly outputPerMillionUsd: number;
  };
}

export interface Deployment {
  readonly name: string;
  /** Upstream model name, or the GGUF path for llama. */
  readonly model: string;
  readonly runtime: RuntimeKind;
  /** Parsed by the runtime's own schema (see the runtime registry); opaque to serving. */
  readonly runtimeConfig: unknown;
  readonly replicas: number;
  /** GPUs each replica needs (local runtimes; placement puts it only where that many are free). */
  readonly gpus?: number;
  readonly serving: ServingConfig;
  readonly fallbacks: readonly string[];
  readonly fallbackOn?: readonly InferenceErrorKind[];
  readonly contextWindow?: number;
  readonly budget?: BudgetConfig;
  readonly pricing?: PricingConfig;
  readonly idempotent: boolean;
  /**
   * Set by the admin service on a deployment applied through the admin API (never from a table):
   * its remote sessions refuse to connect to link-local and metadata addresses except
   * `allowedHosts` (`[server] admin_allowed_hosts`). Config-file deployments have none.
   */
  readonly egressGuard?: EgressGuardConfig;
}

export interface EgressGuardConfig {
  /** IP addresses and CIDR ranges exempt from the guard. */
  readonly allowedHosts: readonly string[];
}

export const servingDefaults: ServingConfig = {
  maxConcurrent: 32,
  queueCapacity: 256,
  onCapacityExhausted: "queue",
  queueTimeoutMs: 30_000,
};
