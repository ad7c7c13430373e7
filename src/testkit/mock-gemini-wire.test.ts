// The Gemini wire of the mock upstream (src/testkit/mock-gemini-wire.ts): its routes and keys, the
// chunks of a streamed and a unary completion, its error bodies per kind, checked end to end with
// the official @google/genai SDK (text, thought parts, a signed function call, usage, a blocked
// prompt, a 429 as the SDK's ApiError, an error mid-stream), which is what shows it is faithful.

import { ApiError, type GenerateContentResponse, GoogleGenAI } from "@google/genai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ReceivedRequest } from "./mock-behaviours.js";
import { geminiWire } from "./mock-gemini-wire.js";
import {
  complete,
  contextLengthExceeded,
  errorMidStream,
  errorResponse,
  type MockProvider,
  overloaded,
  rateLimited,
  serverError,
  startMockProvider,
  unauthorizedUnlessKey,
} from "./mock-provider.js";
import type { MockAnswerContext, MockWireError } from "./mock-wire.js";

let provider: MockProvider;

beforeEach(async () => {
  provider = await startMockProvider({ wires: [geminiWire] });
});

afterEach(async () => {
  await provider.close();
});

function client(apiKey = "k", apiVersion = "v1beta"): GoogleGenAI {
  return new GoogleGenAI({
    apiKey,
    httpOptions: { baseUrl: provider.url, apiVersion, retryOptions: { attempts: 1 } },
  });
}

const MODEL = "gemini-2.5-flash";

async function streamed(ai: GoogleGenAI, contents = "say hello to me"): Promise<GenerateContentResponse[]> {
  const chunks: GenerateContentResponse[] = [];
  for await (const chunk of await ai.models.generateContentStream({ model: MODEL, contents }))
    chunks.push(chunk);
  return chunks;
}

async function apiError(run: () => Promise<unknown>): Promise<ApiError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("expected an ApiError");
}

describe("geminiWire with @google/genai", () => {
  it("generateContent: a unary answer with text, the finish reason and usage; the key from x-goog-api-key", async () => {
    const response = await client().models.generateContent({ model: MODEL, contents: "say hello to me" });
    expect(response.text).toBe("Hello world");
    expect(response.candidates?.[0]?.finishReason).toBe("STOP");
    expect(response.usageMetadata).toEqual({
      promptTokenCount: 4,
      candidatesTokenCount: 2,
      totalTokenCount: 6,
    });
    expect(response.modelVersion).toBe(MODEL);
    expect(response.responseId).toBe("mock-response-0");
    const request = provider.requests[0] as ReceivedRequest;
    expect(request.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
    expect(request.apiKey).toBe("k");
    expect(request.headers["x-goog-api-key"]).toBe("k");
    expect(request.wire).toBe("gemini");
  });

  it("generateContentStream: one chunk per piece over /v1 too, usage on the last", async () => {
    provider.script(complete({ content: ["The", " answer", " is 42"] }));
    const chunks = await streamed(client("k", "v1"));
    expect(chunks.map((chunk) => chunk.text)).toEqual(["The", " answer", " is 42"]);
    expect(chunks.map((chunk) => chunk.candidates?.[0]?.finishReason)).toEqual([
      undefined,
      undefined,
      "STOP",
    ]);
    expect(chunks.at(-1)?.usageMetadata).toEqual({
      promptTokenCount: 4,
      candidatesTokenCount: 3,
      totalTokenCount: 7,
    });
    expect(chunks[0]?.usageMetadata).toEqual({ promptTokenCount: 4, totalTokenCount: 4 });
    const request = provider.requests[0] as ReceivedRequest;
    expect(request.path).toBe(`/v1/models/${MODEL}:streamGenerateContent`);
    expect(request.query.alt).toBe("sse");
  });

  it("thought parts come before the text, and the SDK leaves them out of .text", async () => {
    provider.script(
      complete({ reasoning: ["Let me", " think."], content: ["Hi"], reasoningSignature: "c2lnbmF0dXJl" }),
    );
    const chunks = await streamed(client());
    expect(chunks.map((chunk) => chunk.candidates?.[0]?.content?.parts)).toEqual([
      [{ text: "Let me", thought: true }],
      [{ text: " think.", thought: true }],
      [{ text: "Hi", thoughtSignature: "c2lnbmF0dXJl" }],
    ]);
    expect(chunks.map((chunk) => chunk.text ?? "").join("")).toBe("Hi");
    expect(chunks.at(-1)?.usageMetadata).toEqual({
      promptTokenCount: 4,
      candidatesTokenCount: 1,
      thoughtsTokenCount: 2,
      totalTokenCount: 7,
    });
  });

  it("function calls arrive whole, the first carrying the thought signature", async () => {
    const toolCalls = [
      { id: "call_1", name: "weather", arguments: ['{"city":', '"Paris"}'] },
      { id: "call_2", name: "time", arguments: [] },
    ];
    provider.script(complete({ content: [], toolCalls, reasoningSignature: "c2ln" }));
    const chunks = await streamed(client());
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.candidates?.[0]?.content?.parts).toEqual([
      { functionCall: { name: "weather", args: { city: "Paris" } }, thoughtSignature: "c2ln" },
      { functionCall: { name: "time", args: {} } },
    ]);
    expect(chunks[0]?.functionCalls).toEqual([
      { name: "weather", args: { city: "Paris" } },
      { name: "time", args: {} },
    ]);
    expect(chunks[0]?.candidates?.[0]?.finishReason).toBe("STOP");
    provider.script(
      complete({ content: ["Checking."], toolCalls: [toolCalls[0] ?? { id: "", name: "", arguments: [] }] }),
    );
    const unary = await client().models.generateContent({ model: MODEL, contents: "weather?" });
    expect(unary.candidates?.[0]?.content?.parts).toEqual([
      { text: "Checking." },
      { functionCall: { name: "weather", args: { city: "Paris" } } },
    ]);
  });

  it("finish reasons: mapped, or the native one as is", async () => {
    provider.script(complete({ finishReason: "length" }), complete({ nativeFinishReason: "RECITATION" }));
    expect((await streamed(client())).at(-1)?.candidates?.[0]?.finishReason).toBe("MAX_TOKENS");
    const unary = await client().models.generateContent({ model: MODEL, contents: "x" });
    expect(unary.candidates?.[0]?.finishReason).toBe("RECITATION");
  });

  it("usage in OpenAI's shape becomes Gemini's, thoughts and cached tokens apart", async () => {
    provider.script(
      complete({
        usage: {
          prompt_tokens: 100,
          completion_tokens: 50,
          prompt_tokens_details: { cached_tokens: 40 },
          completion_tokens_details: { reasoning_tokens: 30 },
        },
      }),
    );
    const response = await client().models.generateContent({ model: MODEL, contents: "x" });
    expect(response.usageMetadata).toEqual({
      promptTokenCount: 100,
      candidatesTokenCount: 20,
      thoughtsTokenCount: 30,
      cachedContentTokenCount: 40,
      totalTokenCount: 150,
    });
  });

  it("a blocked prompt is one chunk with promptFeedback and no candidates", async () => {
    provider.script(complete({ blockReason: "SAFETY" }));
    const chunks = await streamed(client());
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.promptFeedback).toEqual({ blockReason: "SAFETY" });
    expect(chunks[0]?.candidates).toBeUndefined();
  });

  it("a 429 is the SDK's ApiError with status 429, RESOURCE_EXHAUSTED and a RetryInfo wait", async () => {
    provider.script(rateLimited(30));
    const error = await apiError(() => client().models.generateContent({ model: MODEL, contents: "x" }));
    expect(error.status).toBe(429);
    const body = JSON.parse(error.message) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ code: 429, status: "RESOURCE_EXHAUSTED" });
    expect(body.error.details).toContainEqual({
      "@type": "type.googleapis.com/google.rpc.RetryInfo",
      retryDelay: "30s",
    });
  });

  it("a bad key is Gemini's 400 API_KEY_INVALID; the key may also come as ?key=", async () => {
    provider.setDefault(unauthorizedUnlessKey("right"));
    const error = await apiError(() =>
      client("wrong").models.generateContent({ model: MODEL, contents: "x" }),
    );
    expect(error.status).toBe(400);
    expect(error.message).toContain("API key not valid");
    expect(error.message).toContain("API_KEY_INVALID");
    expect((await client("right").models.generateContent({ model: MODEL, contents: "x" })).text).toBe(
      "Hello world",
    );
    const byQuery = await fetch(`${provider.url}/v1beta/models/${MODEL}:generateContent?key=right`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "x" }] }] }),
    });
    expect(byQuery.status).toBe(200);
    expect(provider.requests.at(-1)?.apiKey).toBe("right");
  });

  it("errors mid-stream reach the SDK as an ApiError with the event's code", async () => {
    provider.script(errorMidStream(1));
    const seen: string[] = [];
    const error = await apiError(async () => {
      for await (const chunk of await client().models.generateContentStream({ model: MODEL, contents: "x" }))
        seen.push(chunk.text ?? "");
    });
    expect(seen).toEqual(["chunk1"]);
    expect(error.status).toBe(503);
    expect(error.message).toContain("UNAVAILABLE");
  });

  it("5xx and overloaded answers: INTERNAL and UNAVAILABLE (503, not Anthropic's 529)", async () => {
    provider.script(serverError(), overloaded());
    expect(
      (await apiError(() => client().models.generateContent({ model: MODEL, contents: "x" }))).status,
    ).toBe(500);
    const error = await apiError(() => client().models.generateContent({ model: MODEL, contents: "x" }));
    expect(error.status).toBe(503);
    expect(error.message).toContain("UNAVAILABLE");
  });
});

describe("geminiWire", () => {
  it("serves streamGenerateContent, generateContent, batchEmbedContents and countTokens on v1beta and v1, nothing else", () => {
    expect(geminiWire.match("POST", "/v1beta/models/gemini-2.5-pro:streamGenerateContent")).toEqual({
      wire: "gemini",
      endpoint: "generate",
      model: "gemini-2.5-pro",
      stream: true,
    });
    expect(geminiWire.match("POST", "/v1/models/gemini-3-pro-preview:generateContent")).toEqual({
      wire: "gemini",
      endpoint: "generate",
      model: "gemini-3-pro-preview",
      stream: false,
    });
    expect(geminiWire.match("GET", "/v1beta/models/gemini-2.5-pro:generateContent")).toBeUndefined();
    expect(geminiWire.match("POST", "/v1beta/models/gemini-2.5-pro:countTokens")).toEqual({
      wire: "gemini",
      endpoint: "count-tokens",
      model: "gemini-2.5-pro",
      stream: false,
    });
    expect(geminiWire.match("POST", "/v1/models/gemini-embedding-001:batchEmbedContents")).toEqual({
      wire: "gemini",
      endpoint: "embeddings",
      model: "gemini-embedding-001",
      stream: false,
    });
    expect(geminiWire.match("POST", "/v1beta/models/gemini-embedding-001:embedContent")).toBeUndefined();
    expect(geminiWire.match("POST", "/v1/chat/completions")).toBeUndefined();
    expect(geminiWire.match("POST", "/v2/models/m:generateContent")).toBeUndefined();
  });

  it("maps neutral finish reasons to Gemini's", () => {
    expect(
      ["stop", "length", "tool_calls", "content_filter"].map((r) => geminiWire.finishReason(r as never)),
    ).toEqual(["STOP", "MAX_TOKENS", "STOP", "SAFETY"]);
  });

  const error = (
    kind: MockWireError["kind"],
    status: number,
    extra: Partial<MockWireError> = {},
  ): MockWireError => ({
    kind,
    status,
    message: "scripted message",
    ...extra,
  });

  it("writes Google's error body for each kind, with its canonical status", () => {
    expect(geminiWire.errorBody(error("bad_request", 400))).toEqual({
      error: { code: 400, message: "scripted message", status: "INVALID_ARGUMENT" },
    });
    expect(geminiWire.errorBody(error("context_length", 400))).toEqual({
      error: {
        code: 400,
        message: "The input token count (5000) exceeds the maximum number of tokens allowed (4096).",
        status: "INVALID_ARGUMENT",
      },
    });
    expect(geminiWire.errorBody(error("forbidden", 403))).toMatchObject({
      error: { status: "PERMISSION_DENIED" },
    });
    expect(geminiWire.errorBody(error("not_found", 404))).toMatchObject({ error: { status: "NOT_FOUND" } });
    expect(geminiWire.errorBody(error("server_error", 500))).toMatchObject({ error: { status: "INTERNAL" } });
    expect(geminiWire.errorBody(error("overloaded", 503))).toMatchObject({
      error: { status: "UNAVAILABLE" },
    });
    expect(geminiWire.errorBody(error("quota_exhausted", 429))).toMatchObject({
      error: { status: "RESOURCE_EXHAUSTED" },
    });
    const limited = geminiWire.errorBody(error("rate_limited", 429, { retryAfterSeconds: 1.5 })) as {
      error: { details: unknown[] };
    };
    expect(limited.error.details).toContainEqual({
      "@type": "type.googleapis.com/google.rpc.RetryInfo",
      retryDelay: "1.5s",
    });
    const unpaced = geminiWire.errorBody(error("rate_limited", 429)) as {
      error: { details: Array<Record<string, unknown>> };
    };
    expect(unpaced.error.details.map((detail) => detail["@type"])).toEqual([
      "type.googleapis.com/google.rpc.QuotaFailure",
    ]);
  });

  it("answers a bad key and an oversized payload with 400, an overloaded model with 503", () => {
    expect(geminiWire.errorStatus?.(error("unauthorized", 401))).toBe(400);
    expect(geminiWire.errorStatus?.(error("request_too_large", 413))).toBe(400);
    expect(geminiWire.errorStatus?.(error("overloaded", 529))).toBe(503);
    expect(geminiWire.errorStatus?.(error("server_error", 502))).toBe(502);
  });

  it("partial streams carry chunk1, chunk2, … and no finish reason; the error event is a data event", () => {
    const context = {
      route: { wire: "gemini", endpoint: "generate", model: MODEL, stream: true },
      request: { body: {} },
      id: "mock-response-0",
      model: MODEL,
      stream: true,
    } as unknown as MockAnswerContext;
    const events = geminiWire.partialEvents(2, context);
    expect(events.map((event) => event.event)).toEqual([undefined, undefined]);
    expect(events.map((event) => event.data)).toEqual([
      {
        candidates: [{ content: { parts: [{ text: "chunk1" }], role: "model" }, index: 0 }],
        modelVersion: MODEL,
        responseId: "mock-response-0",
      },
      {
        candidates: [{ content: { parts: [{ text: " chunk2" }], role: "model" }, index: 0 }],
        modelVersion: MODEL,
        responseId: "mock-response-0",
      },
    ]);
    expect(geminiWire.streamErrorEvent(error("server_error", 500))).toEqual({
      data: { error: { code: 500, message: "scripted message", status: "INTERNAL" } },
    });
  });

  it("a scripted context-length error reaches the client in Gemini's words", async () => {
    provider.script(contextLengthExceeded(), errorResponse(404, { message: "models/x is not found" }));
    const tooLong = await apiError(() => client().models.generateContent({ model: MODEL, contents: "x" }));
    expect(tooLong.status).toBe(400);
    expect(tooLong.message).toContain("exceeds the maximum number of tokens allowed (4096)");
    const missing = await apiError(() => client().models.generateContent({ model: MODEL, contents: "x" }));
    expect(missing.status).toBe(404);
    expect(missing.message).toContain("NOT_FOUND");
  });
});
