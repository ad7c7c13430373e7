// Gemini API list prices in USD per million tokens (input, cached input, output; thinking tokens
// are output tokens, priced as output), versioned by the date they were taken, with the long-context
// tier the Pro models charge above 200k prompt tokens (PricingConfig.longContext, src/core/cost.ts).
// A deployment's [deployment.pricing] overrides them; a model name takes the price of its longest
// listed prefix when the rest is a version (gemini-2.5-flash-preview-09-2025 → gemini-2.5-flash),
// and an unlisted one none (a variant such as gemini-2.5-flash-image is not its base's price).

import type { PricingConfig } from "../../../core/deployment-types.js";

/**
 * Source notes. From Google's published pricing page (paid tier, text / image / video input):
 * every input and output price below, and the 200k long-context tiers of gemini-3-pro and
 * gemini-2.5-pro. gemini-2.0-flash-lite has no cached price listed. Less sure: the cached-input prices of gemini-2.5-flash ($0.03),
 * gemini-2.5-flash-lite ($0.01) and gemini-2.0-flash ($0.025) (Google has cut them since launch,
 * and third-party copies of the page disagree), and gemini-3.1-pro sharing gemini-3-pro's prices.
 * Audio input is priced higher on the Flash models and is not modelled here.
 */
export const geminiPriceTable = {
  version: "2026-12-03",
  source:
    "https://ai.google.dev/gemini-api/docs/pricing (standard paid tier), written down 2026-12-03 from the page as last read; not re-fetched (no internet where it was written)",
  models: {
    "gemini-3-pro": {
      inputPerMillionUsd: 2.0,
      cachedInputPerMillionUsd: 0.2,
      outputPerMillionUsd: 12.0,
      longContext: {
        aboveInputTokens: 200_000,
        inputPerMillionUsd: 4.0,
        cachedInputPerMillionUsd: 0.4,
        outputPerMillionUsd: 18.0,
      },
    },
    "gemini-3.1-pro": {
      inputPerMillionUsd: 2.0,
      cachedInputPerMillionUsd: 0.2,
      outputPerMillionUsd: 12.0,
      longContext: {
        aboveInputTokens: 200_000,
        inputPerMillionUsd: 4.0,
        cachedInputPerMillionUsd: 0.4,
        outputPerMillionUsd: 18.0,
      },
    },
    "gemini-3-flash": { inputPerMillionUsd: 0.5, cachedInputPerMillionUsd: 0.05, outputPerMillionUsd: 3.0 },
    "gemini-2.5-pro": {
      inputPerMillionUsd: 1.25,
      cachedInputPerMillionUsd: 0.125,
      outputPerMillionUsd: 10.0,
      longContext: {
        aboveInputTokens: 200_000,
        inputPerMillionUsd: 2.5,
        cachedInputPerMillionUsd: 0.25,
        outputPerMillionUsd: 15.0,
      },
    },
    "gemini-2.5-flash": { inputPerMillionUsd: 0.3, cachedInputPerMillionUsd: 0.03, outputPerMillionUsd: 2.5 },
    "gemini-2.5-flash-lite": {
      inputPerMillionUsd: 0.1,
      cachedInputPerMillionUsd: 0.01,
      outputPerMillionUsd: 0.4,
    },
    "gemini-2.0-flash": {
      inputPerMillionUsd: 0.1,
      cachedInputPerMillionUsd: 0.025,
      outputPerMillionUsd: 0.4,
    },
    "gemini-2.0-flash-lite": { inputPerMillionUsd: 0.075, outputPerMillionUsd: 0.3 },
  } satisfies Record<string, PricingConfig>,
} as const;

/** What may follow a listed name in a model id of the same model: -preview, -latest, -exp, -001, dates. */
const versionSuffix = /^(-(preview|latest|exp|experimental|\d+))*$/;

/** The listed price of a model (longest listed prefix followed by a version; `models/` ignored), or undefined. */
export function geminiPrice(model: string): PricingConfig | undefined {
  const name = model.replace(/^models\//, "");
  const models: Readonly<Record<string, PricingConfig>> = geminiPriceTable.models;
  let best: string | undefined;
  for (const listed of Object.keys(models)) {
    const listedHere = name.startsWith(listed) && versionSuffix.exec(name.slice(listed.length)) !== null;
    if (listedHere && (best === undefined || listed.length > best.length)) best = listed;
  }
  return best === undefined ? undefined : models[best];
}
