// Gemini's batch embeddings and token count: the requests the adapter sends (path, key header,
// body) and the reading of the answers.

import { describe, expect, it } from "vitest";
import type { ExecuteBatch } from "../../../core/batch.js";
import type { EmbedBatch } from "../../../core/embedding.js";
import { InferenceError } from "../../../core/inference-error.js";
import { geminiConfigSchema } from "./gemini-config.js";
import { parseGeminiCountTokens } from "./gemini-count-tokens.js";
import { parseGeminiEmbeddings } from "./gemini-embeddings.js";
import { geminiAdapter } from "./gemini-provider.js";

const adapter = (model = "gemini-embedding-001") =>
  geminiAdapter(model, geminiConfigSchema.parse({ api_key: "k" }), () => 0);

const batch: EmbedBatch = {
  requestId: "e-1",
  model: "gem-embed",
  input: ["first text", "second"],
  priority: 0,
  estimatedTokens: 5,
  signal: new AbortController().signal,
};

const chat: ExecuteBatch = {
  requestId: "c-1",
  model: "gem",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "hello" },
  ],
  sampling: {},
  stream: false,
  priority: 0,
  estimatedTokens: 1,
  features: {},
  signal: new AbortController().signal,
};

function thrown(run: () => unknown): InferenceError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InferenceError);
    return error as InferenceError;
  }
  throw new Error("expected it to throw");
}

describe("Gemini embeddings", () => {
  it("posts one request per input to :batchEmbedContents with the key in x-goog-api-key", () => {
    const request = adapter().buildEmbeddingRequest?.({ ...batch, dimensions: 768 }, "key-1");
    expect(request?.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(request?.headers).toEqual({
      "content-type": "application/json",
      accept: "application/json",
      "x-goog-api-key": "key-1",
    });
    expect(JSON.parse(request?.body ?? "")).toEqual({
      requests: [
        {
          model: "models/gemini-embedding-001",
          content: { parts: [{ text: "first text" }] },
          outputDimensionality: 768,
        },
        {
          model: "models/gemini-embedding-001",
          content: { parts: [{ text: "second" }] },
          outputDimensionality: 768,
        },
      ],
    });
  });

  it("refuses token arrays with 400 naming input and the deployment", () => {
    const error = adapter().unsupportedEmbedding?.({ ...batch, input: [[1, 2]] });
    expect(error?.details).toEqual({ kind: "bad_request", field: "input" });
    expect(error?.message).toBe("input: deployment gem-embed (runtime gemini) embeds text, not token arrays");
    expect(adapter().unsupportedEmbedding?.(batch)).toBeUndefined();
  });

  it("refuses more than 100 inputs (Gemini's batch limit) with 400 naming input, before anything is sent", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => `text ${i}`);
    expect(adapter().unsupportedEmbedding?.({ ...batch, input: hundred })).toBeUndefined();
    const error = adapter().unsupportedEmbedding?.({ ...batch, input: [...hundred, "one more"] });
    expect(error?.details).toEqual({ kind: "bad_request", field: "input" });
    expect(error?.message).toBe(
      "input: deployment gem-embed (runtime gemini) embeds at most 100 inputs per request, got 101",
    );
  });

  it("reads the vectors in input order; usage is the estimate unless every vector counts its tokens", () => {
    const plain = parseGeminiEmbeddings(
      JSON.stringify({ embeddings: [{ values: [1, 2] }, { values: [3, 4] }] }),
      batch,
    );
    expect(plain.vectors).toEqual([new Float32Array([1, 2]), new Float32Array([3, 4])]);
    expect(plain.usage).toEqual({ inputTokens: 5, estimated: true });
    const counted = parseGeminiEmbeddings(
      JSON.stringify({
        embeddings: [
          { values: [1], statistics: { tokenCount: 3 } },
          { values: [2], statistics: { tokenCount: 1 } },
        ],
      }),
      batch,
    );
    expect(counted.usage).toEqual({ inputTokens: 4 });
  });

  it("refuses an answer it cannot read", () => {
    expect(thrown(() => parseGeminiEmbeddings("{}", batch)).message).toBe(
      "upstream batchEmbedContents answer has no embeddings list",
    );
    expect(
      thrown(() => parseGeminiEmbeddings(JSON.stringify({ embeddings: [{ values: [1] }] }), batch)).message,
    ).toBe("upstream batchEmbedContents answer has 1 embeddings for 2 inputs");
    expect(
      thrown(() => parseGeminiEmbeddings(JSON.stringify({ embeddings: [{ values: [1] }, {}] }), batch))
        .message,
    ).toBe("upstream batchEmbedContents answer embeddings[1].values is not a vector of numbers");
  });
});

describe("Gemini token count", () => {
  it("posts the whole generateContent request to :countTokens", () => {
    const request = adapter("gemini-2.5-flash").buildCountTokensRequest?.(chat, "key-2");
    expect(request?.path).toBe("/v1beta/models/gemini-2.5-flash:countTokens");
    expect(request?.headers["x-goog-api-key"]).toBe("key-2");
    const body = JSON.parse(request?.body ?? "") as { generateContentRequest: Record<string, unknown> };
    expect(body.generateContentRequest.model).toBe("models/gemini-2.5-flash");
    expect(body.generateContentRequest.contents).toEqual([{ role: "user", parts: [{ text: "hello" }] }]);
    expect(body.generateContentRequest.systemInstruction).toEqual({ parts: [{ text: "Be brief." }] });
  });

  it("reads totalTokens; a missing one is Gemini's zero", () => {
    expect(parseGeminiCountTokens('{"totalTokens":12}')).toEqual({ inputTokens: 12, estimated: false });
    expect(parseGeminiCountTokens("{}")).toEqual({ inputTokens: 0, estimated: false });
    expect(thrown(() => parseGeminiCountTokens('{"totalTokens":"x"}')).kind).toBe("server_error");
    expect(thrown(() => parseGeminiCountTokens("nope")).kind).toBe("server_error");
  });
});
