// The Anthropic price table: longest-prefix lookup, the 1.25× / 0.1× cache rule, the Sonnet 4
// long-context tier, and which names are assumed by family (never an unknown model).

import { describe, expect, it } from "vitest";
import { anthropicPrice, anthropicPriceTable } from "./anthropic-prices.js";

describe("anthropicPrice", () => {
  it("finds listed models and dated snapshots by their longest prefix", () => {
    expect(anthropicPrice("claude-sonnet-4-5-20250929")).toEqual(
      anthropicPriceTable.models["claude-sonnet-4-5"],
    );
    expect(anthropicPrice("claude-opus-4-1-20250805")).toEqual({
      inputPerMillionUsd: 15,
      cacheWriteInputPerMillionUsd: 18.75,
      cachedInputPerMillionUsd: 1.5,
      outputPerMillionUsd: 75,
    });
    expect(anthropicPrice("claude-opus-4-5-20251101")?.inputPerMillionUsd).toBe(5);
    expect(anthropicPrice("claude-haiku-4-5-20251001")).toEqual({
      inputPerMillionUsd: 1,
      cacheWriteInputPerMillionUsd: 1.25,
      cachedInputPerMillionUsd: 0.1,
      outputPerMillionUsd: 5,
    });
    expect(anthropicPrice("claude-3-5-haiku-20241022")).toEqual({
      inputPerMillionUsd: 0.8,
      cacheWriteInputPerMillionUsd: 1,
      cachedInputPerMillionUsd: 0.08,
      outputPerMillionUsd: 4,
    });
    expect(anthropicPrice("claude-opus-5-5")).toEqual(anthropicPriceTable.models["claude-opus-5-5"]);
  });

  it("prices cache writes at 1.25× and cache reads at 0.1× input (Claude 3 Haiku as published)", () => {
    for (const [name, price] of Object.entries(anthropicPriceTable.models)) {
      if (name === "claude-3-haiku") continue;
      expect([name, price.cacheWriteInputPerMillionUsd]).toEqual([name, price.inputPerMillionUsd * 1.25]);
      expect(Math.abs((price.cachedInputPerMillionUsd ?? 0) - price.inputPerMillionUsd * 0.1)).toBeLessThan(
        1e-9,
      );
    }
  });

  it("Sonnet 4 and 4.5 have the above-200k tier; Sonnet 4.6 has none", () => {
    expect(anthropicPrice("claude-sonnet-4-20250514")?.longContext).toEqual({
      aboveInputTokens: 200_000,
      inputPerMillionUsd: 6,
      cachedInputPerMillionUsd: 0.6,
      outputPerMillionUsd: 22.5,
    });
    expect(anthropicPrice("claude-sonnet-4-6")?.longContext).toBeUndefined();
  });

  it("knows nothing of unlisted models: an unknown 4.x never takes 4.0's price", () => {
    expect(anthropicPrice("claude-opus-4-9")).toBeUndefined();
    expect(anthropicPrice("claude-fable-5-2")).toBeUndefined();
    expect(anthropicPrice("claude-mythos-5")).toBeUndefined();
    expect(anthropicPrice("my-finetune")).toBeUndefined();
    expect(anthropicPrice("claude-opus-4-5x")).toBeUndefined();
  });

  it("lists every assumed price as a model of the table, and is versioned with its source", () => {
    for (const name of Object.keys(anthropicPriceTable.assumed))
      expect(anthropicPriceTable.models).toHaveProperty(name);
    expect(anthropicPriceTable.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(anthropicPriceTable.source).toContain("https://");
    expect(anthropicPriceTable.source).toContain(anthropicPriceTable.version);
  });
});
