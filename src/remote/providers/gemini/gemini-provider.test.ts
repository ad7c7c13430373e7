// The Gemini adapter: where requests go (base_url prefix, api_version, model, ?alt=sse), the
// x-goog-api-key header, the body, what it refuses before sending, and its decoder and errors.

import { describe, expect, it } from "vitest";
import type { ExecuteBatch } from "../../../core/batch.js";
import type { RequestFeatures } from "../../../core/request-features.js";
import { type GeminiConfig, geminiConfigSchema } from "./gemini-config.js";
import { geminiAdapter } from "./gemini-provider.js";

const now = () => Date.UTC(2026, 0, 1);

function batchOf(
  features: RequestFeatures = {},
  messages: ExecuteBatch["messages"] = [{ role: "user", content: "hi" }],
) {
  const batch: ExecuteBatch = {
    requestId: "r-1",
    model: "gemini-2.5-flash",
    messages,
    sampling: { maxTokens: 50 },
    stream: true,
    priority: 0,
    estimatedTokens: 10,
    features,
    signal: new AbortController().signal,
  };
  return batch;
}

const parse = (table: Record<string, unknown>): GeminiConfig =>
  geminiConfigSchema.parse({ api_key: "k", ...table });

describe("geminiAdapter", () => {
  it("posts to <prefix>/<api_version>/models/<model>:streamGenerateContent?alt=sse on Google's origin", () => {
    const a = geminiAdapter("gemini-2.5-flash", parse({}), now);
    expect(a.provider).toBe("gemini");
    expect(a.origin).toBe("https://generativelanguage.googleapis.com");
    expect(a.upstreamModel).toBe("gemini-2.5-flash");
    expect(a.endpoint).toBe("gemini|https://generativelanguage.googleapis.com|gemini-2.5-flash");
    const request = a.buildRequest(batchOf(), "AIza-test");
    expect(request.path).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    expect(request.headers).toEqual({
      "content-type": "application/json",
      accept: "text/event-stream",
      "x-goog-api-key": "AIza-test",
    });
    expect(JSON.parse(request.body)).toEqual({
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      generationConfig: { maxOutputTokens: 50 },
    });
  });

  it("keeps a base_url path as a prefix, takes api_version, and drops a models/ prefix", () => {
    const a = geminiAdapter(
      "models/gemini-3-pro-preview",
      parse({ base_url: "http://127.0.0.1:9000/google/", api_version: "v1" }),
      now,
    );
    expect(a.origin).toBe("http://127.0.0.1:9000");
    expect(a.endpoint).toBe("gemini|http://127.0.0.1:9000/google|gemini-3-pro-preview");
    expect(a.buildRequest(batchOf(), "k").path).toBe(
      "/google/v1/models/gemini-3-pro-preview:streamGenerateContent?alt=sse",
    );
  });

  it("sends no key header without a key, and never the key in the body", () => {
    const a = geminiAdapter("gemini-2.5-flash", parse({}), now);
    expect(a.buildRequest(batchOf(), undefined).headers).not.toHaveProperty("x-goog-api-key");
    expect(a.buildRequest(batchOf(), "secret-key").body).not.toContain("secret-key");
    expect(a.apiKey?.reveal()).toBe("k");
  });

  it("refuses what Gemini cannot honour with a 400 naming the field, and nothing else", () => {
    const a = geminiAdapter("gemini-3-pro-preview", parse({}), now);
    expect(a.unsupported?.(batchOf())).toBeUndefined();
    expect(a.unsupported?.(batchOf({ reasoningEffort: "high", user: "u" }))).toBeUndefined();
    expect(a.unsupported?.(batchOf({ parallelToolCalls: false }))?.details).toEqual({
      kind: "bad_request",
      field: "parallel_tool_calls",
    });
    expect(a.unsupported?.(batchOf({ reasoningEffort: "none" }))?.details).toEqual({
      kind: "bad_request",
      field: "reasoning_effort",
    });
    expect(
      a.unsupported?.(
        batchOf({}, [
          { role: "user", content: "x" },
          { role: "tool", toolCallId: "missing", content: "y" },
        ]),
      )?.details,
    ).toEqual({ kind: "bad_request", field: "messages[1].tool_call_id" });
  });

  it("creates a fresh decoder per attempt, its tool call ids from the injected random", () => {
    const a = geminiAdapter("gemini-2.5-flash", parse({}), now, () => 0.5);
    const first = a.createDecoder(batchOf());
    const chunks = first.onData(
      JSON.stringify({
        candidates: [
          { content: { parts: [{ functionCall: { name: "f", args: {} } }] }, finishReason: "STOP" },
        ],
      }),
    );
    expect(chunks[0]?.toolCalls?.[0]?.id).toBe("call_ssssssssssss");
    expect(first.finish().finishReason).toBe("tool_calls");
    expect(() => a.createDecoder(batchOf()).finish()).toThrow("upstream stream ended early");
  });

  it("maps errors with Google's bodies and the injected clock for Retry-After dates", () => {
    const a = geminiAdapter("gemini-2.5-flash", parse({}), now);
    const date = new Date(now() + 4000).toUTCString();
    expect(a.mapError(429, { "retry-after": date }, "").details).toEqual({
      kind: "rate_limited",
      retryAfterMs: 4000,
    });
    expect(
      a.mapError(
        400,
        {},
        JSON.stringify({ error: { code: 400, message: "API key not valid.", status: "INVALID_ARGUMENT" } }),
      ).kind,
    ).toBe("upstream_unauthorized");
  });
});
