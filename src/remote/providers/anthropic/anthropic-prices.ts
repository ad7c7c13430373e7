// Anthropic list prices in USD per million tokens (input, 5-minute cache writes, cache reads,
// output), versioned by the date they were taken; which prices are published and which are assumed
// by family is listed in `anthropicPriceTable.assumed`. A deployment's [deployment.pricing]
// overrides them. Names take the price of their longest listed prefix (docs/providers.md).

import type { PricingConfig } from "../../../core/deployment.js";

/** Anthropic's rule: a 5-minute cache write costs 1.25× input, a cache read 0.1× input. */
function price(inputPerMillionUsd: number, outputPerMillionUsd: number): PricingConfig {
  return {
    inputPerMillionUsd,
    cacheWriteInputPerMillionUsd: Math.round(inputPerMillionUsd * 1.25 * 1000) / 1000,
    cachedInputPerMillionUsd: Math.round(inputPerMillionUsd * 0.1 * 1000) / 1000,
    outputPerMillionUsd,
  };
}

/** Sonnet 4 and 4.5 charge more above 200k prompt tokens (the 1M-context beta): $6 in, $22.50 out. */
function withSonnetLongContext(base: PricingConfig): PricingConfig {
  return {
    ...base,
    longContext: {
      aboveInputTokens: 200_000,
      inputPerMillionUsd: 6,
      cachedInputPerMillionUsd: 0.6,
      outputPerMillionUsd: 22.5,
    },
  };
}

const opus4 = price(15, 75);
const opus45 = price(5, 25);
const sonnet = price(3, 15);
const haiku45 = price(1, 5);

export const anthropicPriceTable = {
  version: "2026-12-02",
  source:
    "https://docs.anthropic.com/en/docs/about-claude/pricing (standard tier, 5-minute cache writes), written down 2026-12-02 from the page as last read; not re-fetched (no internet where it was written)",
  /**
   * The names whose price Anthropic's pricing page did not list when the table was taken: each
   * has the price of the newest published model of its tier, as said here. Names of families
   * whose tier is not known (claude-fable-*, claude-mythos-*) are not listed at all: they have
   * no built-in price; give them a [deployment.pricing].
   */
  assumed: {
    "claude-opus-4-7": "Opus tier: the price of claude-opus-4-6",
    "claude-opus-4-8": "Opus tier: the price of claude-opus-4-6",
    "claude-opus-5": "Opus tier: the price of claude-opus-4-6",
    "claude-opus-5-5": "Opus tier: the price of claude-opus-4-6",
    "claude-sonnet-5": "Sonnet tier: the price of claude-sonnet-4-6",
    "claude-sonnet-5-5": "Sonnet tier: the price of claude-sonnet-4-6",
    "claude-haiku-5-5": "Haiku tier: the price of claude-haiku-4-5",
  },
  models: {
    // published
    "claude-opus-4-0": opus4,
    "claude-opus-4-20250514": opus4,
    "claude-opus-4-1": opus4,
    "claude-opus-4-5": opus45,
    "claude-opus-4-6": opus45,
    "claude-sonnet-4-0": withSonnetLongContext(sonnet),
    "claude-sonnet-4-20250514": withSonnetLongContext(sonnet),
    "claude-sonnet-4-5": withSonnetLongContext(sonnet),
    "claude-sonnet-4-6": sonnet,
    "claude-haiku-4-5": haiku45,
    "claude-3-7-sonnet": sonnet,
    "claude-3-5-haiku": price(0.8, 4),
    // published apart from the 1.25× / 0.1× rule
    "claude-3-haiku": {
      inputPerMillionUsd: 0.25,
      cacheWriteInputPerMillionUsd: 0.3,
      cachedInputPerMillionUsd: 0.03,
      outputPerMillionUsd: 1.25,
    },
    // assumed by family (see `assumed`)
    "claude-opus-4-7": opus45,
    "claude-opus-4-8": opus45,
    "claude-opus-5": opus45,
    "claude-opus-5-5": opus45,
    "claude-sonnet-5": sonnet,
    "claude-sonnet-5-5": sonnet,
    "claude-haiku-5-5": haiku45,
  } satisfies Record<string, PricingConfig>,
} as const;

/** The listed price of a model (longest matching prefix), or undefined when unlisted. */
export function anthropicPrice(model: string): PricingConfig | undefined {
  const models: Readonly<Record<string, PricingConfig>> = anthropicPriceTable.models;
  let best: string | undefined;
  for (const name of Object.keys(models)) {
    if ((model === name || model.startsWith(`${name}-`)) && (best === undefined || name.length > best.length))
      best = name;
  }
  return best === undefined ? undefined : models[best];
}
