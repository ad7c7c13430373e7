// `POST /v1/embeddings` parsing and answers (docs/api.md, "Embeddings"): every input form, the
// refusals naming their field, the list in input order as floats or base64.

import { describe, expect, it } from "vitest";
import { base64ToFloat32, type EmbeddingResult, MAX_EMBEDDING_INPUTS } from "../../../core/embedding.js";
import { embeddingsBody, parseEmbeddingsRequest } from "./openai-embeddings.js";

function parsed(body: Record<string, unknown>) {
  const result = parseEmbeddingsRequest({ model: "emb", ...body });
  if (!result.ok) throw new Error(`refused: ${result.error.message}`);
  return result;
}

function refused(body: unknown): { message: string; field: string | undefined } {
  const result = parseEmbeddingsRequest(body);
  if (result.ok) throw new Error("expected a refusal");
  expect(result.error.kind).toBe("bad_request");
  const details = result.error.details;
  return { message: result.error.message, field: details.kind === "bad_request" ? details.field : undefined };
}

describe("parseEmbeddingsRequest", () => {
  it("takes a string, strings, one token array, or token arrays; defaults float and priority 0", () => {
    expect(parsed({ input: "hello" })).toEqual({
      ok: true,
      request: { model: "emb", input: ["hello"], priority: 0 },
      encodingFormat: "float",
    });
    expect(parsed({ input: ["a", "b"] }).request.input).toEqual(["a", "b"]);
    expect(parsed({ input: [1, 2, 3] }).request.input).toEqual([[1, 2, 3]]);
    expect(parsed({ input: [[1], [2, 3]] }).request.input).toEqual([[1], [2, 3]]);
  });

  it("takes encoding_format, dimensions, user and priority; null means unset", () => {
    expect(
      parsed({ input: "x", encoding_format: "base64", dimensions: 256, user: "u-1", priority: -1 }),
    ).toEqual({
      ok: true,
      request: { model: "emb", input: ["x"], dimensions: 256, user: "u-1", priority: -1 },
      encodingFormat: "base64",
    });
    expect(parsed({ input: "x", encoding_format: null, dimensions: null, user: null }).request).toEqual({
      model: "emb",
      input: ["x"],
      priority: 0,
    });
  });

  it("refuses an empty input by name", () => {
    expect(refused({ model: "emb", input: "" })).toEqual({
      message: "input: must not be empty",
      field: "input",
    });
    expect(refused({ model: "emb", input: [] }).field).toBe("input");
    expect(refused({ model: "emb", input: ["a", ""] })).toEqual({
      message: "input[1]: must not be an empty string",
      field: "input[1]",
    });
    expect(refused({ model: "emb", input: [[1], []] }).field).toBe("input[1]");
    expect(refused({ model: "emb" })).toEqual({ message: "input: is required", field: "input" });
  });

  it("refuses more inputs than the documented maximum", () => {
    const input = new Array(MAX_EMBEDDING_INPUTS + 1).fill("x");
    expect(refused({ model: "emb", input })).toEqual({
      message: `input: holds ${MAX_EMBEDDING_INPUTS + 1} inputs; at most ${MAX_EMBEDDING_INPUTS} are allowed`,
      field: "input",
    });
    expect(parsed({ input: new Array(MAX_EMBEDDING_INPUTS).fill("x") }).request.input).toHaveLength(
      MAX_EMBEDDING_INPUTS,
    );
  });

  it("refuses mixed or malformed inputs, naming the element", () => {
    expect(refused({ model: "emb", input: ["a", 1] }).field).toBe("input[1]");
    expect(refused({ model: "emb", input: [1, -2] }).field).toBe("input[1]");
    expect(refused({ model: "emb", input: [1, 2.5] }).field).toBe("input[1]");
    expect(refused({ model: "emb", input: [[1], [2, "x"]] }).field).toBe("input[1][1]");
    expect(refused({ model: "emb", input: [[1], 2] }).field).toBe("input[1]");
    expect(refused({ model: "emb", input: [{ text: "a" }] }).field).toBe("input");
    expect(refused({ model: "emb", input: 7 }).field).toBe("input");
  });

  it("refuses a bad model, encoding_format, dimensions, user or priority by name", () => {
    expect(refused({ input: "x" })).toEqual({ message: "model: is required", field: "model" });
    expect(refused({ model: "", input: "x" }).field).toBe("model");
    expect(refused({ model: "emb", input: "x", encoding_format: "int8" })).toEqual({
      message: 'encoding_format: must be "float" or "base64"',
      field: "encoding_format",
    });
    for (const dimensions of [0, -1, 1.5, "256"])
      expect(refused({ model: "emb", input: "x", dimensions }).field).toBe("dimensions");
    expect(refused({ model: "emb", input: "x", user: 7 }).field).toBe("user");
    expect(refused({ model: "emb", input: "x", priority: "high" }).field).toBe("priority");
    expect(refused([1]).message).toBe("request body must be a JSON object");
  });
});

const result: EmbeddingResult = {
  requestId: "r-1",
  deployment: "emb",
  vectors: [new Float32Array([0.5, -1]), new Float32Array([2, 0.25])],
  usage: { inputTokens: 7 },
};

describe("embeddingsBody", () => {
  it("lists the vectors in input order, as floats, with the usage", () => {
    expect(embeddingsBody(result, "asked", "float")).toEqual({
      object: "list",
      data: [
        { object: "embedding", index: 0, embedding: [0.5, -1] },
        { object: "embedding", index: 1, embedding: [2, 0.25] },
      ],
      model: "asked",
      usage: { prompt_tokens: 7, total_tokens: 7 },
    });
  });

  it("as base64, each vector is its little-endian float32 bytes", () => {
    const body = embeddingsBody(result, "asked", "base64");
    const decoded = body.data.map((item) => base64ToFloat32(item.embedding as string));
    expect(decoded).toEqual(result.vectors);
    expect(Buffer.from(body.data[0]?.embedding as string, "base64").readFloatLE(4)).toBe(-1);
  });
});
