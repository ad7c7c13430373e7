// OpenAI's embeddings endpoint (`POST {base}/embeddings`, Azure: `/openai/deployments/{d}/embeddings`)
// for the OpenAI family (openai, azure, litellm, openai-compatible): the request body for an
// EmbedBatch and the reading of its answer. Vectors are asked for as floats (the endpoint's
// default, which every OpenAI-compatible server speaks); a base64 answer is read too.

import {
  base64ToFloat32,
  type EmbedBatch,
  type Embeddings,
  estimateEmbeddingTokens,
  toFloat32,
} from "../../../core/embedding.js";
import { errors } from "../../../core/inference-error.js";

export interface OpenAiEmbeddingBody {
  readonly model: string;
  readonly input: readonly string[] | readonly (readonly number[])[];
  readonly dimensions?: number;
  readonly user?: string;
}

export function openAiEmbeddingBody(batch: EmbedBatch, upstreamModel: string): OpenAiEmbeddingBody {
  return {
    model: upstreamModel,
    input: batch.input,
    ...(batch.dimensions !== undefined ? { dimensions: batch.dimensions } : {}),
    ...(batch.user !== undefined ? { user: batch.user } : {}),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unreadable(what: string): never {
  throw errors.serverError(`upstream embeddings answer ${what}`, 200);
}

/**
 * `{data: [{index, embedding}], usage: {prompt_tokens}}` → vectors in input order (by `index`,
 * else in the order sent) and the usage; an answer without usage gets the estimate, flagged.
 */
export function parseOpenAiEmbeddings(body: string, batch: EmbedBatch): Embeddings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    unreadable("is not JSON");
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.data)) unreadable("has no data list");
  const count = batch.input.length;
  if (parsed.data.length !== count) unreadable(`has ${parsed.data.length} embeddings for ${count} inputs`);
  const vectors: Array<Float32Array | undefined> = new Array(count).fill(undefined);
  parsed.data.forEach((item: unknown, position: number) => {
    if (!isRecord(item)) unreadable(`data[${position}] is not an object`);
    const index = item.index === undefined ? position : item.index;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= count)
      unreadable(`data[${position}].index is not an input's index`);
    if (vectors[index] !== undefined) unreadable(`repeats index ${index}`);
    const embedding = item.embedding;
    const vector =
      typeof embedding === "string"
        ? base64ToFloat32(embedding)
        : Array.isArray(embedding)
          ? toFloat32(embedding)
          : undefined;
    if (vector === undefined) unreadable(`data[${position}].embedding is not a vector of numbers`);
    vectors[index] = vector;
  });
  const usage = isRecord(parsed.usage) ? parsed.usage : undefined;
  const promptTokens = usage?.prompt_tokens;
  return {
    vectors: vectors as Float32Array[],
    usage:
      typeof promptTokens === "number" && Number.isFinite(promptTokens) && promptTokens >= 0
        ? { inputTokens: promptTokens }
        : { inputTokens: estimateEmbeddingTokens(batch.input), estimated: true },
  };
}
