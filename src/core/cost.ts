// The price of a request (docs/providers.md). Usage follows OpenAI's convention: input includes cached
// tokens, output includes reasoning tokens, so
// cost = (input − cached) × input price + cached × cached price + output × output price.

import type { PricingConfig } from "./deployment-types.js";
import type { TokenUsage } from "./token-chunk.js";

const MILLION = 1_000_000;

export function costUsd(usage: TokenUsage, pricing: PricingConfig): number {
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const cachedPrice = pricing.cachedInputPerMillionUsd ?? pricing.inputPerMillionUsd;
  return (
    ((usage.inputTokens - cached) * pricing.inputPerMillionUsd +
      cached * cachedPrice +
      usage.outputTokens * pricing.outputPerMillionUsd) /
    MILLION
  );
}

/** The most a request can cost before it runs: its estimated prompt plus max_tokens (or 1024). */
export function estimateCostUsd(
  promptTokens: number,
  maxOutputTokens: number,
  pricing: PricingConfig,
): number {
  return (
    (promptTokens * pricing.inputPerMillionUsd + maxOutputTokens * pricing.outputPerMillionUsd) / MILLION
  );
}
