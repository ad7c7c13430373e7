// The Gemini adapter end to end over loopback: callUpstream (src/remote/upstream-call.ts) through
// an undici Pool to the mock upstream's Gemini wire (src/testkit/mock-gemini-wire.ts): what is
// sent, what the client gets for text, thoughts and signed tool calls (and the signature coming
// back on the next turn), and the kind of every failure.

import { Pool } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ExecuteBatch, Message } from "../../../core/batch.js";
import type { RequestFeatures } from "../../../core/request-features.js";
import { type TokenChunk, Tokens } from "../../../core/token-chunk.js";
import { ManualClock } from "../../../testkit/manual-clock.js";
import { geminiWire } from "../../../testkit/mock-gemini-wire.js";
import {
  complete,
  contextLengthExceeded,
  dropMidStream,
  errorMidStream,
  type MockProvider,
  malformedSse,
  overloaded,
  rateLimited,
  startMockProvider,
  unauthorizedUnlessKey,
} from "../../../testkit/mock-provider.js";
import type { ProviderAdapter } from "../../provider.js";
import { type AttemptResult, callUpstream } from "../../upstream-call.js";
import { geminiConfigSchema } from "./gemini-config.js";
import { geminiAdapter } from "./gemini-provider.js";
import { signatureFromToolCallId } from "./gemini-tool-call-id.js";

const MODEL = "gemini-3-flash-preview";

let provider: MockProvider;
let pool: Pool;
let adapter: ProviderAdapter;

beforeAll(async () => {
  provider = await startMockProvider({ wires: [geminiWire] });
  const config = geminiConfigSchema.parse({ api_key: "AIza-test", base_url: provider.url });
  let seed = 0;
  adapter = geminiAdapter(
    MODEL,
    config,
    () => Date.UTC(2026, 0, 1),
    () => (seed++ % 36) / 36,
  );
  pool = new Pool(adapter.origin);
});

afterEach(() => {
  provider.reset();
});

afterAll(async () => {
  await pool.close();
  await provider.close();
});

function batchOf(messages: readonly Message[], features: RequestFeatures = {}): ExecuteBatch {
  return {
    requestId: "r-1",
    model: MODEL,
    messages,
    sampling: { maxTokens: 64 },
    stream: true,
    priority: 0,
    estimatedTokens: 10,
    features,
    signal: new AbortController().signal,
  };
}

async function attempt(
  batch: ExecuteBatch,
  apiKey = "AIza-test",
): Promise<{ result: AttemptResult; chunks: TokenChunk[]; tokens: Tokens }> {
  const chunks: TokenChunk[] = [];
  const tokens = new Tokens();
  const result = await callUpstream({
    dispatcher: pool,
    adapter,
    request: adapter.buildRequest(batch, apiKey),
    batch,
    clock: new ManualClock(),
    timeouts: { firstByteTimeoutMs: 60_000, readTimeoutMs: 30_000 },
    signal: new AbortController().signal,
    onChunk: (chunk) => {
      chunks.push(chunk);
      tokens.append(chunk);
    },
  });
  if (result.type === "completed") tokens.append(result.final);
  return { result, chunks, tokens };
}

const hello: Message[] = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "say hello to me" },
];

/** The JSON body of the `n`th request the mock received. */
function sentBody(n: number): Record<string, unknown> {
  const body = provider.requests[n]?.body;
  if (typeof body !== "object" || body === null) throw new Error(`request ${n} has no JSON body`);
  return body as Record<string, unknown>;
}

function failure(result: AttemptResult) {
  if (result.type !== "failed") throw new Error(`expected a failed attempt, got ${result.type}`);
  return result.error;
}

describe("gemini upstream over loopback", () => {
  it("streams text: the request Gemini gets, the chunks and the final usage", async () => {
    provider.script(complete({ content: ["Hello", " there"] }));
    const { result, chunks } = await attempt(batchOf(hello));
    expect(chunks).toEqual([{ text: "Hello" }, { text: " there" }]);
    expect(result).toEqual({
      type: "completed",
      status: 200,
      final: { text: "", finishReason: "stop", usage: { inputTokens: 6, outputTokens: 2 } },
    });
    const request = provider.requests[0];
    expect(request?.path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent`);
    expect(request?.query).toEqual({ alt: "sse" });
    expect(request?.apiKey).toBe("AIza-test");
    expect(sentBody(0)).toEqual({
      contents: [{ role: "user", parts: [{ text: "say hello to me" }] }],
      systemInstruction: { parts: [{ text: "Be brief." }] },
      generationConfig: { maxOutputTokens: 64 },
    });
  });

  it("thoughts are reasoning; a signed call keeps its signature on the next turn, even through its id alone", async () => {
    provider.script(
      complete({
        reasoning: ["Need the weather."],
        content: [],
        toolCalls: [{ id: "ignored", name: "weather", arguments: ['{"city":"Paris"}'] }],
        reasoningSignature: "U2lnbmVkK3RoaW5raW5nLw==",
        usage: {
          prompt_tokens: 9,
          completion_tokens: 12,
          completion_tokens_details: { reasoning_tokens: 8 },
        },
      }),
    );
    const tools = [{ name: "weather", parameters: { type: "object" } }];
    const first = await attempt(
      batchOf([{ role: "user", content: "Weather in Paris?" }], { tools, reasoningEffort: "low" }),
    );
    expect(first.tokens.reasoning).toBe("Need the weather.");
    expect(first.tokens.text).toBe("");
    expect(first.tokens.finishReason).toBe("tool_calls");
    expect(first.tokens.usage).toEqual({ inputTokens: 9, outputTokens: 12, reasoningTokens: 8 });
    const [call] = first.tokens.toolCalls;
    expect(call?.function).toEqual({ name: "weather", arguments: '{"city":"Paris"}' });
    expect(call?.signature).toBe("U2lnbmVkK3RoaW5raW5nLw==");
    expect(call?.id).toMatch(/^call_[a-z0-9]{12}__ts__[A-Za-z0-9_-]+$/);
    expect(signatureFromToolCallId(call?.id ?? "")).toBe("U2lnbmVkK3RoaW5raW5nLw==");
    expect(sentBody(0).generationConfig).toEqual({
      maxOutputTokens: 64,
      thinkingConfig: { includeThoughts: true, thinkingLevel: "LOW" },
    });

    // a client that kept only id, name and arguments (AI SDK, LangChain) sends the call back
    const id = call?.id ?? "";
    provider.script(complete({ content: ["It is sunny."] }));
    const second = await attempt(
      batchOf(
        [
          { role: "user", content: "Weather in Paris?" },
          {
            role: "assistant",
            content: null,
            toolCalls: [
              { id, type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
            ],
          },
          { role: "tool", toolCallId: id, content: '{"sky":"sunny"}' },
        ],
        { tools },
      ),
    );
    expect(second.tokens.text).toBe("It is sunny.");
    expect(sentBody(1).contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris?" }] },
      {
        role: "model",
        parts: [
          {
            functionCall: { name: "weather", args: { city: "Paris" } },
            thoughtSignature: "U2lnbmVkK3RoaW5raW5nLw==",
          },
        ],
      },
      { role: "user", parts: [{ functionResponse: { name: "weather", response: { sky: "sunny" } } }] },
    ]);
  });

  it("an output stopped by a filter ends with content_filter", async () => {
    provider.script(complete({ content: ["Partial"], nativeFinishReason: "SAFETY" }));
    const { result } = await attempt(batchOf(hello));
    expect(result.type === "completed" && result.final.finishReason).toBe("content_filter");
  });

  it("a blocked prompt fails as content_filtered", async () => {
    provider.script(complete({ blockReason: "PROHIBITED_CONTENT" }));
    const error = failure((await attempt(batchOf(hello))).result);
    expect(error.kind).toBe("content_filtered");
    expect(error.message).toBe("upstream blocked the prompt: PROHIBITED_CONTENT");
  });

  it("a 429 is rate_limited with the RetryInfo wait", async () => {
    provider.script(rateLimited(30));
    const { result } = await attempt(batchOf(hello));
    expect(result.status).toBe(429);
    expect(failure(result).details).toEqual({ kind: "rate_limited", retryAfterMs: 30_000 });
    expect(failure(result).message).toMatch(/^upstream 429: /);
  });

  it("a bad key (Gemini's 400 API_KEY_INVALID) is upstream_unauthorized, without the key in the message", async () => {
    provider.setDefault(unauthorizedUnlessKey("AIza-right"));
    const { result } = await attempt(batchOf(hello), "AIza-wrong");
    expect(result.status).toBe(400);
    expect(failure(result).kind).toBe("upstream_unauthorized");
    expect(failure(result).message).not.toContain("AIza-wrong");
    expect((await attempt(batchOf(hello), "AIza-right")).result.type).toBe("completed");
  });

  it("a prompt over the context is context_length_exceeded with the counts", async () => {
    provider.script(contextLengthExceeded());
    expect(failure((await attempt(batchOf(hello))).result).details).toEqual({
      kind: "context_length_exceeded",
      limit: 4096,
      requested: 5000,
    });
  });

  it("an overloaded model is a retryable 503 server_error", async () => {
    provider.script(overloaded());
    const error = failure((await attempt(batchOf(hello))).result);
    expect(error.details).toEqual({ kind: "server_error", status: 503 });
    expect(error.retryable).toBe(true);
  });

  it("an error event mid-stream fails the attempt after the chunks before it", async () => {
    provider.script(errorMidStream(2));
    const { result, chunks } = await attempt(batchOf(hello));
    expect(chunks.map((chunk) => chunk.text)).toEqual(["chunk1", " chunk2"]);
    const error = failure(result);
    expect(error.details).toEqual({ kind: "server_error", status: 503 });
    expect(error.message).toMatch(/^upstream stream error: UNAVAILABLE: /);
  });

  it("a dropped stream is a network_error; a malformed event a server_error", async () => {
    provider.script(dropMidStream(1), malformedSse(1));
    const dropped = await attempt(batchOf(hello));
    expect(dropped.chunks).toEqual([{ text: "chunk1" }]);
    expect(failure(dropped.result).kind).toBe("network_error");
    const malformed = failure((await attempt(batchOf(hello))).result);
    expect(malformed.details).toEqual({ kind: "server_error", status: 502 });
    expect(malformed.message).toMatch(/^upstream sent a malformed stream event/);
  });
});
