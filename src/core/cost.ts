// The price of a request (docs/operations.md, "Cost"). Usage follows OpenAI's convention: input
// includes the tokens read from and written to the provider's prompt cache, output includes
// reasoning tokens, so cost = (input − cached − cache writes) × input price + cache writes ×
// cache-write price + cached × cached price + output × output price.

import type { PricingConfig } from "./deployment-types.js";
import type { TokenUsage } from "./token-chunk.js";

const MILLION = 1_000_000;

export function costUsd(usage: TokenUsage, pricing: PricingConfig): number {
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const writes = Math.min(usage.cacheWriteInputTokens ?? 0, usage.inputTokens - cached);
  const cachedPrice = pricing.cachedInputPerMillionUsd ?? pricing.inputPerMillionUsd;
  const writePrice = pricing.cacheWriteInputPerMillionUsd ?? pricing.inputPerMillionUsd;
  return (
    ((usage.inputTokens - cached - writes) * pricing.inputPerMillionUsd +
      writes * writePrice +
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
