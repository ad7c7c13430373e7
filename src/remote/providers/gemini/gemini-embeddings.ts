// Gemini's batch embeddings (`POST {prefix}/{api_version}/models/{model}:batchEmbedContents`, key in
// `x-goog-api-key`): one request per input, each `{model, content: {parts: [{text}]}}` with
// `outputDimensionality` for `dimensions`; the answer's `embeddings[i].values` come in input order.
// The Gemini API reports no usage for embeddings: the input tokens are the estimate of
// src/core/embedding.ts (flagged), unless an answer carries `statistics.tokenCount` per vector.

import {
  type EmbedBatch,
  type Embeddings,
  estimateEmbeddingTokens,
  isTokenInput,
  toFloat32,
} from "../../../core/embedding.js";
import { errors, type InferenceError } from "../../../core/inference-error.js";

export interface GeminiEmbedRequest {
  readonly model: string;
  readonly content: { readonly parts: ReadonlyArray<{ readonly text: string }> };
  readonly outputDimensionality?: number;
}

export interface GeminiBatchEmbedBody {
  readonly requests: readonly GeminiEmbedRequest[];
}

/** The most inputs one batchEmbedContents call takes (Gemini answers 400 past it). */
export const GEMINI_MAX_EMBED_INPUTS = 100;

/**
 * Gemini embeds text only, at most 100 inputs a call: token arrays, or more inputs, are refused
 * with 400 naming `input` before anything is sent.
 */
export function geminiEmbeddingProblem(batch: EmbedBatch): InferenceError | undefined {
  if (batch.input.length > GEMINI_MAX_EMBED_INPUTS) {
    return errors.badRequest(
      `input: deployment ${batch.model} (runtime gemini) embeds at most ${GEMINI_MAX_EMBED_INPUTS} inputs per request, got ${batch.input.length}`,
      "input",
    );
  }
  if (!isTokenInput(batch.input)) return undefined;
  return errors.badRequest(
    `input: deployment ${batch.model} (runtime gemini) embeds text, not token arrays`,
    "input",
  );
}

export function geminiBatchEmbedBody(batch: EmbedBatch, upstreamModel: string): GeminiBatchEmbedBody {
  const model = `models/${upstreamModel}`;
  return {
    requests: batch.input.map((item) => ({
      model,
      content: { parts: [{ text: typeof item === "string" ? item : "" }] },
      ...(batch.dimensions !== undefined ? { outputDimensionality: batch.dimensions } : {}),
    })),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unreadable(what: string): never {
  throw errors.serverError(`upstream batchEmbedContents answer ${what}`, 200);
}

/** `{embeddings: [{values}]}` → the vectors in input order and the (estimated) usage. */
export function parseGeminiEmbeddings(body: string, batch: EmbedBatch): Embeddings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    unreadable("is not JSON");
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.embeddings)) unreadable("has no embeddings list");
  const count = batch.input.length;
  if (parsed.embeddings.length !== count)
    unreadable(`has ${parsed.embeddings.length} embeddings for ${count} inputs`);
  let counted = 0;
  let everyCounted = true;
  const vectors = parsed.embeddings.map((item: unknown, index: number) => {
    const values = isRecord(item) && Array.isArray(item.values) ? toFloat32(item.values) : undefined;
    if (values === undefined) unreadable(`embeddings[${index}].values is not a vector of numbers`);
    const statistics = isRecord(item) && isRecord(item.statistics) ? item.statistics : undefined;
    const tokens = statistics?.tokenCount;
    if (typeof tokens === "number" && Number.isFinite(tokens) && tokens >= 0) counted += tokens;
    else everyCounted = false;
    return values;
  });
  return {
    vectors,
    usage: everyCounted
      ? { inputTokens: counted }
      : { inputTokens: estimateEmbeddingTokens(batch.input), estimated: true },
  };
}
