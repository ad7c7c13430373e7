// Embeddings and token counts as engines see them (docs/api.md, "Embeddings"): the request a
// client's `POST /v1/embeddings` becomes, the batch an engine embeds, what it answers, and a
// token count (`/v1/messages/count_tokens`). Vectors travel as Float32Array, in input order.

/** Texts, or token arrays (ids of the deployment model's vocabulary); never both in one request. */
export type EmbeddingInput = readonly string[] | readonly (readonly number[])[];

/** The most inputs one embedding request may carry (OpenAI's limit); more is a 400. */
export const MAX_EMBEDDING_INPUTS = 2048;

/** A validated embedding request, whatever wire it came in on: what the inference service runs. */
export interface EmbeddingRequest {
  /** The deployment name (OpenAI's `model`). */
  readonly model: string;
  /** At least one input, at most MAX_EMBEDDING_INPUTS. */
  readonly input: EmbeddingInput;
  /** Output dimensions, where the model can shorten its vectors. */
  readonly dimensions?: number;
  /** The end user, passed to providers that take one. */
  readonly user?: string;
  /** Lower runs first; default 0. */
  readonly priority: number;
}

/** One embedding request handed to an engine (as ExecuteBatch is for a generation). */
export interface EmbedBatch {
  readonly requestId: string;
  /** The deployment it was routed to. */
  readonly model: string;
  readonly input: EmbeddingInput;
  readonly dimensions?: number;
  readonly user?: string;
  /** Lower runs first (vLLM convention). */
  readonly priority: number;
  /** Input tokens as estimated before the run (the rate limiter's reservation). */
  readonly estimatedTokens: number;
  /** The whole request's deadline (clock ms): no retry waits past it. */
  readonly deadline?: number;
  /** Aborted when the client leaves, the deadline passes or the server drains. */
  readonly signal: AbortSignal;
}

export interface EmbeddingUsage {
  readonly inputTokens: number;
  /** True when the number is an estimate (an upstream that reports no usage). */
  readonly estimated?: boolean;
}

/** What an engine answers for an EmbedBatch: one vector per input, in input order. */
export interface Embeddings {
  readonly vectors: readonly Float32Array[];
  readonly usage: EmbeddingUsage;
}

/** A whole embedding answer, as the route's body is built from it. */
export interface EmbeddingResult extends Embeddings {
  readonly requestId: string;
  /** The deployment that served it. */
  readonly deployment: string;
  /** The node whose engine ran it (`x-rakka-node`), once routed. */
  readonly node?: string;
}

/** Input tokens of a request as the deployment counts them; `estimated` when it could not. */
export interface TokenCount {
  readonly inputTokens: number;
  readonly estimated: boolean;
}

/** Whether the inputs are token arrays (an empty input list counts as texts). */
export function isTokenInput(input: EmbeddingInput): input is readonly (readonly number[])[] {
  return input.length > 0 && typeof input[0] !== "string";
}

/**
 * Input tokens before the run: a token array counts its ids, a text ceil(characters / 4) (the
 * estimate of src/core/batch.ts), at least 1 per input.
 */
export function estimateEmbeddingTokens(input: EmbeddingInput): number {
  let tokens = 0;
  for (const item of input)
    tokens += Math.max(1, typeof item === "string" ? Math.ceil(item.length / 4) : item.length);
  return tokens;
}

/** A vector as base64 of its little-endian float32 bytes (OpenAI's `encoding_format: "base64"`). */
export function float32ToBase64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] as number, i * 4);
  return bytes.toString("base64");
}

/** The inverse of float32ToBase64; undefined when the text is not whole float32 values in base64. */
export function base64ToFloat32(text: string): Float32Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  if (bytes.length % 4 !== 0) return undefined;
  const vector = new Float32Array(bytes.length / 4);
  for (let i = 0; i < vector.length; i++) vector[i] = bytes.readFloatLE(i * 4);
  return vector;
}

/** `values` as a Float32Array, or undefined when one of them is not a finite number. */
export function toFloat32(values: readonly unknown[]): Float32Array | undefined {
  const vector = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
    vector[i] = value;
  }
  return vector;
}
