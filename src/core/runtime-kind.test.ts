import { describe, expect, it } from "vitest";
import { inferRuntime } from "./runtime-kind.js";

describe("inferRuntime", () => {
  it.each([
    ["gpt-4o", "openai"],
    ["gpt-4o-mini", "openai"],
    ["o1-preview", "openai"],
    ["o3-mini", "openai"],
    ["claude-3-5-sonnet-latest", "anthropic"],
    ["gemini-1.5-pro", "gemini"],
    ["./models/tiny-llama.gguf", "llama"],
    ["/srv/Models/Qwen.GGUF", "llama"],
    ["llama-3-8b", undefined],
    ["my-model", undefined],
  ])("%s → %s", (model, runtime) => {
    expect(inferRuntime(model)).toBe(runtime);
  });
});
