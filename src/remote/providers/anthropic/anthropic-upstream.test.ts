// The Anthropic adapter end to end: callUpstream over a real undici Pool to the mock's Anthropic
// wire on 127.0.0.1, for text, tool calls, the thinking round trip (signed blocks back in the next
// request), the forced json tool as content, usage, and each failure as the client would see it.

import { Pool } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ExecuteBatch, Message } from "../../../core/batch.js";
import type { InferenceError } from "../../../core/inference-error.js";
import type { RequestFeatures } from "../../../core/request-features.js";
import { type TokenChunk, Tokens } from "../../../core/token-chunk.js";
import { ManualClock } from "../../../testkit/manual-clock.js";
import { anthropicWire } from "../../../testkit/mock-anthropic-wire.js";
import {
  complete,
  contextLengthExceeded,
  dropMidStream,
  errorMidStream,
  errorResponse,
  type MockProvider,
  malformedSse,
  overloaded,
  rateLimited,
  startMockProvider,
  unauthorized,
} from "../../../testkit/mock-provider.js";
import type { ProviderAdapter } from "../../provider.js";
import { type AttemptResult, callUpstream } from "../../upstream-call.js";
import { anthropicConfigSchema } from "./anthropic-config.js";
import { anthropicAdapter } from "./anthropic-provider.js";

const MODEL = "claude-sonnet-4-6";

let mock: MockProvider;
let pool: Pool;
let adapter: ProviderAdapter;
const clock = new ManualClock();

beforeAll(async () => {
  mock = await startMockProvider({ wires: [anthropicWire] });
  const config = anthropicConfigSchema.parse({
    api_key: "sk-ant-test",
    base_url: mock.url,
    retry: { max_retries: 0 },
  });
  adapter = anthropicAdapter(MODEL, config, () => clock.now());
  pool = new Pool(adapter.origin, { connections: 2 });
});

afterAll(async () => {
  await pool.close().catch(() => {});
  await mock.close();
});

beforeEach(() => {
  mock.reset();
});

function batchOf(
  messages: readonly Message[] = [{ role: "user", content: "say hello to me" }],
  features: RequestFeatures = {},
): ExecuteBatch {
  return {
    requestId: "r-1",
    model: MODEL,
    messages,
    sampling: { maxTokens: 256 },
    stream: true,
    priority: 0,
    estimatedTokens: 10,
    features,
    signal: new AbortController().signal,
  };
}

async function run(
  batch: ExecuteBatch = batchOf(),
): Promise<{ result: AttemptResult; chunks: TokenChunk[]; tokens: Tokens }> {
  expect(adapter.unsupported?.(batch)).toBeUndefined();
  const chunks: TokenChunk[] = [];
  const result = await callUpstream({
    dispatcher: pool,
    adapter,
    request: adapter.buildRequest(batch, "sk-ant-test"),
    batch,
    clock,
    timeouts: adapter.resilience.timeouts,
    signal: new AbortController().signal,
    onChunk: (chunk) => {
      chunks.push(chunk);
    },
  });
  const tokens = new Tokens();
  for (const chunk of chunks) tokens.append(chunk);
  if (result.type === "completed") tokens.append(result.final);
  return { result, chunks, tokens };
}

function failure(result: AttemptResult): InferenceError {
  if (result.type !== "failed") throw new Error(`expected a failed attempt, got ${result.type}`);
  return result.error;
}

describe("anthropic adapter against the mock Anthropic API", () => {
  it("streams text and ends with the stop reason and usage; the request carries the key and version", async () => {
    mock.script(
      complete({
        content: ["Hello", " there"],
        usage: {
          prompt_tokens: 40,
          completion_tokens: 2,
          prompt_tokens_details: { cached_tokens: 30 },
          cache_write_tokens: 5,
        },
      }),
    );
    const { result, tokens } = await run();
    expect(result).toMatchObject({ type: "completed", status: 200 });
    expect(tokens.text).toBe("Hello there");
    expect(tokens.finishReason).toBe("stop");
    expect(tokens.usage).toEqual({
      inputTokens: 40,
      outputTokens: 2,
      cachedInputTokens: 30,
      cacheWriteInputTokens: 5,
    });
    const request = mock.requests[0];
    expect(request?.path).toBe("/v1/messages");
    expect(request?.apiKey).toBe("sk-ant-test");
    expect(request?.headers["anthropic-version"]).toBe("2023-06-01");
    expect(request?.body).toMatchObject({ model: MODEL, stream: true, max_tokens: 256 });
  });

  it("streams tool calls with their arguments", async () => {
    mock.script(
      complete({
        content: [],
        toolCalls: [{ id: "toolu_9", name: "get_weather", arguments: ['{"city":', '"Paris"}'] }],
      }),
    );
    const { tokens } = await run(batchOf(undefined, { tools: [{ name: "get_weather" }] }));
    expect(tokens.text).toBe("");
    expect(tokens.finishReason).toBe("tool_calls");
    expect(tokens.toolCalls).toEqual([
      { id: "toolu_9", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
    ]);
  });

  it("reasoning round trip: thinking streams as reasoning, its signed block comes back first in the next turn", async () => {
    mock.script(
      complete({
        reasoning: ["The user wants", " the time."],
        reasoningSignature: "sig-123",
        content: [],
        toolCalls: [{ id: "toolu_t", name: "now", arguments: ["{}"] }],
      }),
      complete({ content: ["It is noon."] }),
    );
    const features: RequestFeatures = { tools: [{ name: "now" }], reasoningEffort: "high" };
    const first = await run(batchOf([{ role: "user", content: "What time is it?" }], features));
    expect(first.tokens.reasoning).toBe("The user wants the time.");
    expect(first.tokens.text).toBe("");
    expect(first.tokens.reasoningBlocks).toEqual([
      { type: "thinking", thinking: "The user wants the time.", signature: "sig-123" },
    ]);
    expect(mock.requests[0]?.body).toMatchObject({
      thinking: { type: "adaptive" },
      output_config: { effort: "high" },
    });

    const second = await run(
      batchOf(
        [
          { role: "user", content: "What time is it?" },
          {
            role: "assistant",
            content: null,
            reasoningBlocks: first.tokens.reasoningBlocks,
            toolCalls: first.tokens.toolCalls,
          },
          { role: "tool", toolCallId: "toolu_t", content: "12:00" },
        ],
        features,
      ),
    );
    expect(second.tokens.text).toBe("It is noon.");
    expect(mock.requests[1]?.body).toHaveProperty("messages", [
      { role: "user", content: [{ type: "text", text: "What time is it?" }] },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "The user wants the time.", signature: "sig-123" },
          { type: "tool_use", id: "toolu_t", name: "now", input: {} },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_t", content: "12:00" }] },
    ]);
  });

  it("json_object: the forced json_response tool's input is the content, finishing with stop", async () => {
    mock.script(
      complete({
        content: [],
        toolCalls: [{ id: "toolu_j", name: "json_response", arguments: ['{"ok":', "true}"] }],
      }),
    );
    const { tokens } = await run(batchOf(undefined, { responseFormat: { type: "json_object" } }));
    expect(tokens.text).toBe('{"ok":true}');
    expect(tokens.toolCalls).toEqual([]);
    expect(tokens.finishReason).toBe("stop");
    expect(mock.requests[0]?.body).toMatchObject({ tool_choice: { type: "tool", name: "json_response" } });
  });

  it("a refusal stop reason is content_filter", async () => {
    mock.script(complete({ content: ["I can't"], nativeFinishReason: "refusal" }));
    expect((await run()).tokens.finishReason).toBe("content_filter");
  });

  it("a 429 is rate_limited with the Retry-After wait", async () => {
    mock.script(rateLimited(4));
    expect(failure((await run()).result).details).toEqual({ kind: "rate_limited", retryAfterMs: 4000 });
  });

  it("a 529 overloaded_error is a retryable server_error 529; a 500 api_error one of 500", async () => {
    mock.script(overloaded(), errorResponse(500, { kind: "server_error", message: "Internal server error" }));
    const busy = failure((await run()).result);
    expect(busy.details).toEqual({ kind: "server_error", status: 529 });
    expect(busy.retryable).toBe(true);
    expect(busy.message).toBe("upstream 529: Overloaded");
    expect(failure((await run()).result).details).toEqual({ kind: "server_error", status: 500 });
  });

  it("a prompt that is too long is context_length_exceeded; a bad key upstream_unauthorized; billing budget_exceeded", async () => {
    mock.script(
      contextLengthExceeded(),
      unauthorized(),
      errorResponse(429, { kind: "quota_exhausted", message: "Your credit balance is too low." }),
    );
    expect(failure((await run()).result).details).toEqual({
      kind: "context_length_exceeded",
      limit: 4096,
      requested: 5000,
    });
    const auth = failure((await run()).result);
    expect(auth.kind).toBe("upstream_unauthorized");
    expect(auth.message).not.toContain("sk-ant-test");
    const billing = failure((await run()).result);
    expect(billing.kind).toBe("budget_exceeded");
    expect(billing.message).toContain("upstream 402:");
  });

  it("an error event mid-stream fails the attempt after the content before it", async () => {
    mock.script(errorMidStream(2, { kind: "overloaded", message: "Overloaded" }));
    const { result, chunks } = await run();
    expect(chunks.map((chunk) => chunk.text)).toEqual(["chunk1", " chunk2"]);
    expect(failure(result).details).toEqual({ kind: "server_error", status: 529 });
  });

  it("a dropped stream is a network_error; a malformed event a 502 server_error", async () => {
    mock.script(dropMidStream(1), malformedSse(1));
    expect(failure((await run()).result).kind).toBe("network_error");
    expect(failure((await run()).result).details).toEqual({ kind: "server_error", status: 502 });
  });
});
