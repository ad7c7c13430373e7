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

  it("estimates the most a request can cost", () => {
    expect(estimateCostUsd(100, 1024, gpt4o)).toBeCloseTo((100 * 2.5 + 1024 * 10) / 1e6, 12);
  });
});
