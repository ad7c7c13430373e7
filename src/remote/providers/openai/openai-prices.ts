// OpenAI list prices in USD per million tokens (input, cached input, output), versioned by the
// date they were taken. A deployment's [deployment.pricing] overrides them. Model names with a
// date suffix (gpt-4o-2024-08-06) take the price of their longest listed prefix.

import type { PricingConfig } from "../../../core/deployment.js";

export const openAiPriceTable = {
  version: "2025-06-10",
  source: "https://openai.com/api/pricing (standard tier, taken 2025-06-10)",
  models: {
    "gpt-4.1": { inputPerMillionUsd: 2.0, cachedInputPerMillionUsd: 0.5, outputPerMillionUsd: 8.0 },
    "gpt-4.1-mini": { inputPerMillionUsd: 0.4, cachedInputPerMillionUsd: 0.1, outputPerMillionUsd: 1.6 },
    "gpt-4.1-nano": { inputPerMillionUsd: 0.1, cachedInputPerMillionUsd: 0.025, outputPerMillionUsd: 0.4 },
    "gpt-4o": { inputPerMillionUsd: 2.5, cachedInputPerMillionUsd: 1.25, outputPerMillionUsd: 10.0 },
    "gpt-4o-mini": { inputPerMillionUsd: 0.15, cachedInputPerMillionUsd: 0.075, outputPerMillionUsd: 0.6 },
    "gpt-4-turbo": { inputPerMillionUsd: 10.0, outputPerMillionUsd: 30.0 },
    "gpt-3.5-turbo": { inputPerMillionUsd: 0.5, outputPerMillionUsd: 1.5 },
    o1: { inputPerMillionUsd: 15.0, cachedInputPerMillionUsd: 7.5, outputPerMillionUsd: 60.0 },
    "o1-mini": { inputPerMillionUsd: 1.1, cachedInputPerMillionUsd: 0.55, outputPerMillionUsd: 4.4 },
    o3: { inputPerMillionUsd: 2.0, cachedInputPerMillionUsd: 0.5, outputPerMillionUsd: 8.0 },
    "o3-mini": { inputPerMillionUsd: 1.1, cachedInputPerMillionUsd: 0.55, outputPerMillionUsd: 4.4 },
    "o4-mini": { inputPerMillionUsd: 1.1, cachedInputPerMillionUsd: 0.275, outputPerMillionUsd: 4.4 },
  } satisfies Record<string, PricingConfig>,
} as const;

/** The listed price of a model (longest matching prefix), or undefined when unlisted. */
export function openAiPrice(model: string): PricingConfig | undefined {
  const models: Readonly<Record<string, PricingConfig>> = openAiPriceTable.models;
  let best: string | undefined;
  for (const name of Object.keys(models)) {
    if ((model === name || model.startsWith(`${name}-`)) && (best === undefined || name.length > best.length))
      best = name;
  }
  return best === undefined ? undefined : models[best];
}
