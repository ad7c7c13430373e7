// The built-in Gemini price table: lookup by model id (versions and previews take their base
// model's price, variants and unlisted models none) and the Pro models' long-context tier.

import { describe, expect, it } from "vitest";
import { costUsd } from "../../../core/cost.js";
import { geminiPrice, geminiPriceTable } from "./gemini-prices.js";

describe("geminiPrice", () => {
  it("finds listed models and their preview, dated and numbered ids", () => {
    const models = geminiPriceTable.models;
    expect(geminiPrice("gemini-2.5-flash")).toEqual(models["gemini-2.5-flash"]);
    expect(geminiPrice("gemini-2.5-flash-preview-09-2025")).toEqual(models["gemini-2.5-flash"]);
    expect(geminiPrice("gemini-2.5-flash-lite")).toEqual(models["gemini-2.5-flash-lite"]);
    expect(geminiPrice("gemini-2.5-flash-lite-preview-06-17")).toEqual(models["gemini-2.5-flash-lite"]);
    expect(geminiPrice("gemini-2.0-flash-001")).toEqual(models["gemini-2.0-flash"]);
    expect(geminiPrice("gemini-2.0-flash-lite")).toEqual(models["gemini-2.0-flash-lite"]);
    expect(geminiPrice("gemini-3-pro-preview")).toEqual(models["gemini-3-pro"]);
    expect(geminiPrice("gemini-3-flash-preview")).toEqual(models["gemini-3-flash"]);
    expect(geminiPrice("models/gemini-2.5-pro")).toEqual(models["gemini-2.5-pro"]);
  });

  it("knows nothing of unlisted models or of variants priced apart (never zero)", () => {
    expect(geminiPrice("gemini-1.5-pro")).toBeUndefined();
    expect(geminiPrice("gemini-2.5-flash-image")).toBeUndefined();
    expect(geminiPrice("gemini-3-pro-image-preview")).toBeUndefined();
    expect(geminiPrice("gemini-2.5-flashy")).toBeUndefined();
    expect(geminiPrice("gemma-3-27b-it")).toBeUndefined();
  });

  it("prices thinking as output and charges the Pro models' long-context tier above 200k prompt tokens", () => {
    const pro = geminiPrice("gemini-2.5-pro");
    if (pro === undefined) throw new Error("gemini-2.5-pro is listed");
    expect(pro.longContext?.aboveInputTokens).toBe(200_000);
    // 1M output tokens, thinking included: $10 below the tier
    expect(costUsd({ inputTokens: 0, outputTokens: 1_000_000, reasoningTokens: 600_000 }, pro)).toBeCloseTo(
      10,
    );
    expect(costUsd({ inputTokens: 200_000, outputTokens: 0 }, pro)).toBeCloseTo(0.25);
    expect(costUsd({ inputTokens: 200_001, outputTokens: 1_000_000 }, pro)).toBeCloseTo(0.5000025 + 15);
    const threePro = geminiPrice("gemini-3-pro-preview");
    expect(threePro?.longContext).toEqual({
      aboveInputTokens: 200_000,
      inputPerMillionUsd: 4,
      cachedInputPerMillionUsd: 0.4,
      outputPerMillionUsd: 18,
    });
    expect(geminiPrice("gemini-2.5-flash")?.longContext).toBeUndefined();
  });

  it("is versioned by the date it was taken, and names its source", () => {
    expect(geminiPriceTable.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(geminiPriceTable.source).toContain("https://ai.google.dev/gemini-api/docs/pricing");
  });
});
