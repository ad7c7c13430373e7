// The price of a request (docs/operations.md, "Cost"). Usage follows OpenAI's convention: input
// includes the tokens read from and written to the provider's prompt cache, output includes
// reasoning tokens, so cost = (input − cached − cache writes) × input price + cache writes ×
// cache-write price + cached × cached price + output × output price.

import type { PricingConfig } from "./deployment-types.js";
import type { TokenUsage } from "./token-chunk.js";

const MILLION = 1_000_000;

export function costUsd(usage: TokenUsage, listed: PricingConfig): number {
  const pricing = tierFor(usage.inputTokens, listed);
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

/** The rates for a prompt of `inputTokens`: the long-context tier above its threshold, else the listed ones. */
function tierFor(inputTokens: number, pricing: PricingConfig): PricingConfig {
  const tier = pricing.longContext;
  if (tier === undefined || inputTokens <= tier.aboveInputTokens) return pricing;
  return {
    ...pricing,
    inputPerMillionUsd: tier.inputPerMillionUsd,
    cachedInputPerMillionUsd: tier.cachedInputPerMillionUsd ?? pricing.cachedInputPerMillionUsd,
    outputPerMillionUsd: tier.outputPerMillionUsd,
  };
}

/** The most a request can cost before it runs: its estimated prompt plus max_tokens (or 1024). */
export function estimateCostUsd(
  promptTokens: number,
  maxOutputTokens: number,
  listed: PricingConfig,
): number {
  const pricing = tierFor(promptTokens, listed);
  return (
    (promptTokens * pricing.inputPerMillionUsd + maxOutputTokens * pricing.outputPerMillionUsd) / MILLION
  );
}
