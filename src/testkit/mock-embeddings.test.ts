// The mock upstream's embeddings and token-count routes over loopback HTTP: OpenAI `/v1/embeddings`
// (and Azure's path), Gemini `:batchEmbedContents` and `:countTokens`, Anthropic
// `/v1/messages/count_tokens`; their default answers, the scripted ones, and errors on them.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  complete,
  countTokens,
  embeddings,
  type MockProvider,
  mockUpstreamVector,
  rateLimited,
  startMockProvider,
} from "./mock-provider.js";

let provider: MockProvider;
beforeEach(async () => {
  provider = await startMockProvider();
});
afterEach(async () => {
  await provider.close();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${provider.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe("mock OpenAI embeddings", () => {
  it("answers one default vector per input, in order, with the words as usage", async () => {
    const { status, json } = await post("/v1/embeddings", { model: "emb", input: ["one two", "three"] });
    expect(status).toBe(200);
    expect(json).toEqual({
      object: "list",
      data: [
        { object: "embedding", index: 0, embedding: [1, 7, 0.25] },
        { object: "embedding", index: 1, embedding: [2, 5, 0.25] },
      ],
      model: "emb",
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
    expect(mockUpstreamVector(0, "one two", 3)).toEqual([1, 7, 0.25]);
  });

  it("honours the request's dimensions and encoding_format, and one token array", async () => {
    const { json } = await post("/v1/embeddings", {
      input: [5, 6],
      dimensions: 2,
      encoding_format: "base64",
    });
    const item = (json.data as Array<{ embedding: string }>)[0];
    const bytes = Buffer.from(item?.embedding ?? "", "base64");
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4)]).toEqual([1, 2]);
    expect(json.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
  });

  it("answers scripted vectors, reversed lists, no usage; Azure's path too", async () => {
    provider.script(embeddings({ vectors: [[9], [8]], reversed: true, usage: null }));
    const { json } = await post("/openai/deployments/emb/embeddings", { input: ["a", "b"] });
    expect(json.data).toEqual([
      { object: "embedding", index: 1, embedding: [8] },
      { object: "embedding", index: 0, embedding: [9] },
    ]);
    expect(json).not.toHaveProperty("usage");
    expect(provider.requests[0]?.deployment).toBe("emb");
  });

  it("answers scripted errors on the route, and refuses an embeddings answer scripted for chat", async () => {
    provider.script(rateLimited(3), embeddings());
    expect((await post("/v1/embeddings", { input: "a" })).status).toBe(429);
    const misplaced = await post("/v1/chat/completions", { messages: [] });
    expect(misplaced.status).toBe(400);
    expect(JSON.stringify(misplaced.json)).toContain(
      "a scripted embeddings answer reached the openai chat route",
    );
  });
});

describe("mock Gemini embeddings and token counts", () => {
  it("batchEmbedContents answers values in order, without usage", async () => {
    const requests = ["alpha", "be"].map((text) => ({
      model: "models/gemini-embedding-001",
      content: { parts: [{ text }] },
      outputDimensionality: 4,
    }));
    const { status, json } = await post("/v1beta/models/gemini-embedding-001:batchEmbedContents", {
      requests,
    });
    expect(status).toBe(200);
    expect(json).toEqual({
      embeddings: [{ values: [1, 5, 0.25, 0.25] }, { values: [2, 2, 0.25, 0.25] }],
    });
  });

  it("countTokens counts the words of the contents or of the whole generateContentRequest", async () => {
    const contents = [{ role: "user", parts: [{ text: "one two three" }] }];
    expect((await post("/v1beta/models/g:countTokens", { contents })).json).toEqual({ totalTokens: 3 });
    const whole = {
      generateContentRequest: {
        model: "models/g",
        contents,
        systemInstruction: { parts: [{ text: "be brief" }] },
      },
    };
    expect((await post("/v1/models/g:countTokens", whole)).json).toEqual({ totalTokens: 5 });
    provider.script(countTokens(0), complete());
    expect((await post("/v1/models/g:countTokens", { contents })).json).toEqual({});
    expect((await post("/v1/models/g:countTokens", { contents })).json).toEqual({ totalTokens: 3 });
  });
});

describe("mock Anthropic token counts", () => {
  it("count_tokens answers the words of system and messages, or the scripted count", async () => {
    const body = { model: "claude", system: "be brief", messages: [{ role: "user", content: "hi there" }] };
    expect((await post("/v1/messages/count_tokens", body)).json).toEqual({ input_tokens: 4 });
    provider.script(countTokens(99));
    expect((await post("/v1/messages/count_tokens", body)).json).toEqual({ input_tokens: 99 });
  });
});
