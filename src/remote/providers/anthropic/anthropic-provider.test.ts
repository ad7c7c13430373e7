// The Anthropic adapter: where requests go (origin, path prefix), the headers (x-api-key, version,
// betas), the circuit endpoint, what it refuses before sending, the decoder it builds for a forced
// json tool, and the error mapping it uses.

import { describe, expect, it } from "vitest";
import type { ExecuteBatch } from "../../../core/batch.js";
import type { RequestFeatures } from "../../../core/request-features.js";
import { anthropicConfigSchema } from "./anthropic-config.js";
import { anthropicAdapter } from "./anthropic-provider.js";

const NOW = Date.UTC(2026, 0, 1);
const now = () => NOW;

const batchOf = (
  features: RequestFeatures = {},
  sampling: ExecuteBatch["sampling"] = { maxTokens: 5 },
): ExecuteBatch => ({
  requestId: "r-1",
  model: "claude-sonnet-4-6",
  messages: [{ role: "user", content: "hello" }],
  sampling,
  stream: false,
  priority: 0,
  estimatedTokens: 10,
  features,
  signal: new AbortController().signal,
});

const adapter = (table: Record<string, unknown> = {}, model = "claude-sonnet-4-6") =>
  anthropicAdapter(model, anthropicConfigSchema.parse({ api_key: "sk-ant-test", ...table }), now);

describe("anthropicAdapter", () => {
  it("defaults to https://api.anthropic.com with path /v1/messages", () => {
    const a = adapter();
    expect(a.provider).toBe("anthropic");
    expect(a.origin).toBe("https://api.anthropic.com");
    expect(a.upstreamModel).toBe("claude-sonnet-4-6");
    expect(a.endpoint).toBe("anthropic|https://api.anthropic.com|claude-sonnet-4-6");
    expect(a.buildRequest(batchOf(), "sk-ant-test").path).toBe("/v1/messages");
    expect(a.apiKey?.source).toEqual({ kind: "inline" });
    expect(a.resilience.retry.maxRetries).toBe(2);
  });

  it("keeps a base_url's path as a prefix (a trailing / ignored), in the path and the endpoint", () => {
    const a = adapter({ base_url: "http://127.0.0.1:8080/proxy/anthropic/" });
    expect(a.origin).toBe("http://127.0.0.1:8080");
    expect(a.buildRequest(batchOf(), "k").path).toBe("/proxy/anthropic/v1/messages");
    expect(a.endpoint).toBe("anthropic|http://127.0.0.1:8080/proxy/anthropic|claude-sonnet-4-6");
  });

  it("sends the key it is given in x-api-key, the version, and asks for SSE", () => {
    expect(adapter().buildRequest(batchOf(), "sk-ant-rotated").headers).toEqual({
      "content-type": "application/json",
      accept: "text/event-stream",
      "anthropic-version": "2023-06-01",
      "x-api-key": "sk-ant-rotated",
    });
  });

  it("sends the configured version and the betas as one comma-joined anthropic-beta header", () => {
    const headers = adapter({
      api_version: "2026-10-21",
      beta: ["context-1m-2025-08-07", "files-api-2025-04-14"],
    }).buildRequest(batchOf(), "k").headers;
    expect(headers["anthropic-version"]).toBe("2026-10-21");
    expect(headers["anthropic-beta"]).toBe("context-1m-2025-08-07,files-api-2025-04-14");
  });

  it("builds the Messages body, with default_max_tokens standing in for a missing max_tokens", () => {
    const body = JSON.parse(adapter({ default_max_tokens: 321 }).buildRequest(batchOf({}, {}), "k").body);
    expect(body).toEqual({
      model: "claude-sonnet-4-6",
      messages: [{ role: "user", content: [{ type: "text", text: "hello" }] }],
      max_tokens: 321,
      stream: true,
    });
  });

  it("refuses before sending what Anthropic cannot honour, naming the field", () => {
    const a = adapter();
    expect(a.unsupported?.(batchOf({}, { seed: 1 }))?.details).toEqual({
      kind: "bad_request",
      field: "seed",
    });
    expect(a.unsupported?.(batchOf({}, { presencePenalty: 1 }))?.details).toEqual({
      kind: "bad_request",
      field: "presence_penalty",
    });
    expect(
      adapter({}, "claude-3-5-haiku-20241022").unsupported?.(batchOf({ reasoningEffort: "low" }))?.details,
    ).toEqual({
      kind: "bad_request",
      field: "reasoning_effort",
    });
    expect(a.unsupported?.(batchOf())).toBeUndefined();
  });

  it("gives a decoder that reads a forced json tool as content when the request needs one", () => {
    const decoder = adapter().createDecoder(batchOf({ responseFormat: { type: "json_object" } }));
    const events = [
      { type: "message_start", message: { usage: { input_tokens: 3, output_tokens: 1 } } },
      {
        type: "content_block_start",
        index: 0,
        content_block: { type: "tool_use", id: "t", name: "json_response", input: {} },
      },
      { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '{"a":1}' } },
      { type: "content_block_stop", index: 0 },
      { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 4 } },
      { type: "message_stop" },
    ];
    const chunks = events.flatMap((event) => decoder.onData(JSON.stringify(event)));
    expect(chunks).toEqual([{ text: '{"a":1}' }]);
    expect(decoder.finish()).toEqual({
      text: "",
      finishReason: "stop",
      usage: { inputTokens: 3, outputTokens: 4 },
    });
    // a plain request's decoder shows the same tool as a tool call
    const plain = adapter().createDecoder(batchOf());
    const plainChunks = events.flatMap((event) => plain.onData(JSON.stringify(event)));
    expect(plainChunks[0]?.toolCalls?.[0]).toMatchObject({
      index: 0,
      id: "t",
      function: { name: "json_response" },
    });
    expect(plain.finish().finishReason).toBe("tool_calls");
  });

  it("classifies errors by Anthropic's types, with the clock's now for reset headers", () => {
    const a = adapter();
    const body = (type: string) => JSON.stringify({ type: "error", error: { type, message: "m" } });
    expect(a.mapError(529, {}, body("overloaded_error")).details).toEqual({
      kind: "server_error",
      status: 529,
    });
    expect(
      a.mapError(
        429,
        {
          "anthropic-ratelimit-tokens-remaining": "0",
          "anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:30Z",
        },
        body("rate_limit_error"),
      ).details,
    ).toEqual({ kind: "rate_limited", retryAfterMs: 30_000 });
  });
});
