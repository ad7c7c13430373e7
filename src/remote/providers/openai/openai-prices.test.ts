import { describe, expect, it } from "vitest";
import { openAiPrice, openAiPriceTable } from "./openai-prices.js";

describe("openAiPrice", () => {
  it("finds listed models and dated snapshots by their longest prefix", () => {
    expect(openAiPrice("gpt-4o")).toEqual(openAiPriceTable.models["gpt-4o"]);
    expect(openAiPrice("gpt-4o-2024-08-06")).toEqual(openAiPriceTable.models["gpt-4o"]);
    expect(openAiPrice("gpt-4o-mini-2024-07-18")).toEqual(openAiPriceTable.models["gpt-4o-mini"]);
    expect(openAiPrice("o3-mini")).toEqual(openAiPriceTable.models["o3-mini"]);
  });

  it("knows nothing of unlisted models", () => {
    expect(openAiPrice("my-finetune")).toBeUndefined();
    expect(openAiPrice("gpt-4ox")).toBeUndefined();
  });

  it("is versioned by the date it was taken", () => {
    expect(openAiPriceTable.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
