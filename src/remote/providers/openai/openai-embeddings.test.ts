// The OpenAI family's embeddings: the body and path each variant sends, and the reading of answers
// (order by index, floats or base64, usage or its estimate, unreadable answers refused).

import { describe, expect, it } from "vitest";
import { type EmbedBatch, float32ToBase64 } from "../../../core/embedding.js";
import { InferenceError } from "../../../core/inference-error.js";
import { baseUrlAdapter, baseUrlConfigSchema } from "./base-url-provider.js";
import { openAiConfigSchema } from "./openai-config.js";
import { openAiEmbeddingBody, parseOpenAiEmbeddings } from "./openai-embeddings.js";
import { openAiAdapter } from "./openai-provider.js";

const now = () => 0;

const batch: EmbedBatch = {
  requestId: "e-1",
  model: "embedder",
  input: ["first", "second"],
  priority: 0,
  estimatedTokens: 4,
  signal: new AbortController().signal,
};

const openai = (table: Record<string, unknown> = {}) =>
  openAiAdapter("text-embedding-3-small", openAiConfigSchema.parse({ api_key: "sk-test", ...table }), now);

function refusal(body: unknown, on: EmbedBatch = batch): string {
  try {
    parseOpenAiEmbeddings(typeof body === "string" ? body : JSON.stringify(body), on);
  } catch (error) {
    expect(error).toBeInstanceOf(InferenceError);
    expect((error as InferenceError).kind).toBe("server_error");
    return (error as InferenceError).message;
  }
  throw new Error("expected the answer to be refused");
}

describe("OpenAI embeddings request", () => {
  it("posts the inputs, dimensions and user to {base}/embeddings with the key as a Bearer token", () => {
    const adapter = openai();
    const request = adapter.buildEmbeddingRequest?.({ ...batch, dimensions: 256, user: "u-1" }, "sk-live");
    expect(request?.path).toBe("/v1/embeddings");
    expect(request?.headers).toEqual({
      "content-type": "application/json",
      accept: "application/json",
      authorization: "Bearer sk-live",
    });
    expect(JSON.parse(request?.body ?? "")).toEqual({
      model: "text-embedding-3-small",
      input: ["first", "second"],
      dimensions: 256,
      user: "u-1",
    });
  });

  it("sends token arrays as they are, and nothing it was not given", () => {
    expect(openAiEmbeddingBody({ ...batch, input: [[1, 2], [3]] }, "m")).toEqual({
      model: "m",
      input: [[1, 2], [3]],
    });
  });

  it("Azure: the deployment's embeddings path with the api-version, the key in api-key", () => {
    const adapter = openai({
      variant: "azure",
      endpoint: "https://res.openai.azure.com",
      api_version: "2024-10-21",
      deployment: "emb",
    });
    const request = adapter.buildEmbeddingRequest?.(batch, "az-key");
    expect(request?.path).toBe("/openai/deployments/emb/embeddings?api-version=2024-10-21");
    expect(request?.headers["api-key"]).toBe("az-key");
    expect(request?.headers).not.toHaveProperty("authorization");
  });

  it("LiteLLM and OpenAI-compatible servers: {base_url}/embeddings, the key only when there is one", () => {
    const config = baseUrlConfigSchema(2).parse({ base_url: "http://127.0.0.1:4000/proxy/v1" });
    for (const provider of ["litellm", "openai-compatible"] as const) {
      const request = baseUrlAdapter(provider, "bge-m3", config, now).buildEmbeddingRequest?.(
        batch,
        undefined,
      );
      expect(request?.path).toBe("/proxy/v1/embeddings");
      expect(request?.headers).not.toHaveProperty("authorization");
      expect(JSON.parse(request?.body ?? "").model).toBe("bge-m3");
    }
  });
});

describe("OpenAI embeddings answer", () => {
  it("puts vectors in input order by index, floats or base64, with the usage reported", () => {
    const result = parseOpenAiEmbeddings(
      JSON.stringify({
        object: "list",
        data: [
          { object: "embedding", index: 1, embedding: float32ToBase64(new Float32Array([3, 4])) },
          { object: "embedding", index: 0, embedding: [1, 2] },
        ],
        usage: { prompt_tokens: 5, total_tokens: 5 },
      }),
      batch,
    );
    expect(result.vectors).toEqual([new Float32Array([1, 2]), new Float32Array([3, 4])]);
    expect(result.usage).toEqual({ inputTokens: 5 });
  });

  it("takes the order sent when there is no index, and estimates a usage that is missing", () => {
    const result = parseOpenAiEmbeddings(
      JSON.stringify({ data: [{ embedding: [1] }, { embedding: [2] }] }),
      batch,
    );
    expect(result.vectors).toEqual([new Float32Array([1]), new Float32Array([2])]);
    expect(result.usage).toEqual({ inputTokens: 4, estimated: true });
  });

  it("refuses an answer it cannot read, naming what is wrong", () => {
    expect(refusal("{not json")).toBe("upstream embeddings answer is not JSON");
    expect(refusal({ object: "list" })).toBe("upstream embeddings answer has no data list");
    expect(refusal({ data: [{ index: 0, embedding: [1] }] })).toBe(
      "upstream embeddings answer has 1 embeddings for 2 inputs",
    );
    expect(
      refusal({
        data: [
          { index: 0, embedding: [1] },
          { index: 0, embedding: [2] },
        ],
      }),
    ).toBe("upstream embeddings answer repeats index 0");
    expect(
      refusal({
        data: [
          { index: 0, embedding: [1] },
          { index: 5, embedding: [2] },
        ],
      }),
    ).toBe("upstream embeddings answer data[1].index is not an input's index");
    expect(
      refusal({
        data: [
          { index: 0, embedding: ["x"] },
          { index: 1, embedding: [2] },
        ],
      }),
    ).toBe("upstream embeddings answer data[0].embedding is not a vector of numbers");
  });
});
