// Anthropic's token count: the count_tokens request (the Messages body less what the endpoint does
// not take, same headers) and the reading of `{input_tokens}`; Anthropic cannot embed.

import { describe, expect, it } from "vitest";
import type { ExecuteBatch } from "../../../core/batch.js";
import { InferenceError } from "../../../core/inference-error.js";
import { anthropicConfigSchema } from "./anthropic-config.js";
import { parseAnthropicCountTokens } from "./anthropic-count-tokens.js";
import { anthropicAdapter } from "./anthropic-provider.js";

const adapter = (table: Record<string, unknown> = {}) =>
  anthropicAdapter(
    "claude-sonnet-4-5",
    anthropicConfigSchema.parse({ api_key: "sk-ant", ...table }),
    () => 0,
  );

const batch: ExecuteBatch = {
  requestId: "c-1",
  model: "claude",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "hello" },
  ],
  sampling: { maxTokens: 100, temperature: 0.5, stop: ["x"] },
  stream: false,
  priority: 0,
  estimatedTokens: 1,
  features: { tools: [{ name: "look", parameters: { type: "object" } }], user: "u-1" },
  signal: new AbortController().signal,
};

describe("Anthropic token count", () => {
  it("posts model, messages, system and tools to /v1/messages/count_tokens with the messages headers", () => {
    const request = adapter({ base_url: "https://proxy.test/anthropic" }).buildCountTokensRequest?.(
      batch,
      "sk-live",
    );
    expect(request?.path).toBe("/anthropic/v1/messages/count_tokens");
    expect(request?.headers["x-api-key"]).toBe("sk-live");
    expect(request?.headers.accept).toBe("application/json");
    expect(request?.headers["anthropic-version"]).toBeDefined();
    const body = JSON.parse(request?.body ?? "") as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["messages", "model", "system", "tools"]);
    expect(body.model).toBe("claude-sonnet-4-5");
    expect(body.system).toEqual([{ type: "text", text: "Be brief." }]);
  });

  it("has no embeddings endpoint", () => {
    expect(adapter().buildEmbeddingRequest).toBeUndefined();
  });

  it("reads input_tokens and refuses anything else", () => {
    expect(parseAnthropicCountTokens('{"input_tokens":42}')).toEqual({ inputTokens: 42, estimated: false });
    for (const body of ["{}", '{"input_tokens":-1}', "nope"]) {
      let error: unknown;
      try {
        parseAnthropicCountTokens(body);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(InferenceError);
      expect((error as InferenceError).kind).toBe("server_error");
    }
  });
});
