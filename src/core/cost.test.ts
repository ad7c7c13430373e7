import { describe, expect, it } from "vitest";
import { costUsd, estimateCostUsd } from "./cost.js";

const gpt4o = { inputPerMillionUsd: 2.5, cachedInputPerMillionUsd: 1.25, outputPerMillionUsd: 10 };

describe("costUsd", () => {
  it("prices input, cached input and output separately (input includes cached, output includes reasoning)", () => {
    // 1,000 input of which 400 cached, 500 output of which 200 reasoning
    const usage = { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 500, reasoningTokens: 200 };
    expect(costUsd(usage, gpt4o)).toBeCloseTo((600 * 2.5 + 400 * 1.25 + 500 * 10) / 1e6, 12);
  });

  it("prices cached tokens at the input price when no cached price is set", () => {
    const usage = { inputTokens: 100, cachedInputTokens: 50, outputTokens: 0 };
    expect(costUsd(usage, { inputPerMillionUsd: 1, outputPerMillionUsd: 2 })).toBeCloseTo(100 / 1e6, 12);
  });

  it("never counts more cached tokens than input tokens", () => {
    expect(costUsd({ inputTokens: 10, cachedInputTokens: 50, outputTokens: 0 }, gpt4o)).toBeCloseTo(
      (10 * 1.25) / 1e6,
      12,
    );
  });

  it("prices tokens written to the prompt cache at the cache-write price (input includes them)", () => {
    const claude = { ...gpt4o, cacheWriteInputPerMillionUsd: 3.125 };
    // 1,000 input: 300 read from the cache, 200 written to it, 500 plain
    const usage = { inputTokens: 1000, cachedInputTokens: 300, cacheWriteInputTokens: 200, outputTokens: 10 };
    expect(costUsd(usage, claude)).toBeCloseTo((500 * 2.5 + 200 * 3.125 + 300 * 1.25 + 10 * 10) / 1e6, 12);
    // without a cache-write price they cost the input price
    expect(costUsd(usage, gpt4o)).toBeCloseTo((700 * 2.5 + 300 * 1.25 + 10 * 10) / 1e6, 12);
    // never more cache writes than the input left after the cached tokens
    const over = { inputTokens: 100, cachedInputTokens: 60, cacheWriteInputTokens: 90, outputTokens: 0 };
    expect(costUsd(over, claude)).toBeCloseTo((40 * 3.125 + 60 * 1.25) / 1e6, 12);
  });

  it("prices a prompt above the long-context threshold at the long-context tier", () => {
    const pro = {
      inputPerMillionUsd: 1.25,
      cachedInputPerMillionUsd: 0.31,
      outputPerMillionUsd: 10,
      longContext: { aboveInputTokens: 200_000, inputPerMillionUsd: 2.5, outputPerMillionUsd: 15 },
    };
    const at = { inputTokens: 200_000, cachedInputTokens: 100_000, outputTokens: 1000 };
    expect(costUsd(at, pro)).toBeCloseTo((100_000 * 1.25 + 100_000 * 0.31 + 1000 * 10) / 1e6, 12);
    const above = { ...at, inputTokens: 200_001 };
    // the tier has no cached price: the listed cached price stays
    expect(costUsd(above, pro)).toBeCloseTo((100_001 * 2.5 + 100_000 * 0.31 + 1000 * 15) / 1e6, 12);
    expect(estimateCostUsd(300_000, 10, pro)).toBeCloseTo((300_000 * 2.5 + 10 * 15) / 1e6, 12);
  });

  it("estimates the most a request can cost", () => {
    expect(estimateCostUsd(100, 1024, gpt4o)).toBeCloseTo((100 * 2.5 + 1024 * 10) / 1e6, 12);
  });
});
