// What a remote engine needs from a provider: how to build the upstream (always streaming, usage
// requested) request, how to turn its SSE events into TokenChunks, how to classify its errors;
// optionally, how to ask for embeddings and token counts (unary JSON calls) and read the answers.
// One implementation per wire format under providers/<name>/.

import type { ExecuteBatch } from "../core/batch.js";
import type { EmbedBatch, Embeddings, TokenCount } from "../core/embedding.js";
import type { InferenceError } from "../core/inference-error.js";
import type { ProviderKind } from "../core/runtime-kind.js";
import type { Secret } from "../core/secret.js";
import type { TokenChunk } from "../core/token-chunk.js";
import type { ResilienceSettings } from "./remote-config.js";

export interface UpstreamRequest {
  /** Path and query, relative to the provider's origin (the session's connection pool). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Turns the upstream's SSE `data:` payloads into chunks, in order. */
export interface StreamDecoder {
  /** Chunks for one event's data; throws an InferenceError for an unreadable event. */
  onData(data: string): TokenChunk[];
  /** At the end of the stream: the final chunk (finish reason + usage), or an error when it ended early. */
  finish(): TokenChunk;
}

export interface ProviderAdapter {
  readonly provider: ProviderKind;
  /** `https://host[:port]`: the session keeps one keep-alive pool per origin. */
  readonly origin: string;
  /** The circuit breaker's endpoint: provider, base URL, upstream model. */
  readonly endpoint: string;
  /** The model name sent upstream. */
  readonly upstreamModel: string;
  /** The credential, re-read on a 401 (undefined for servers that need none). */
  readonly apiKey: Secret | undefined;
  readonly resilience: ResilienceSettings;
  buildRequest(batch: ExecuteBatch, apiKey: string | undefined): UpstreamRequest;
  /** A request field this provider cannot honour, refused with 400 naming it (never silently dropped). */
  unsupported?(batch: ExecuteBatch): InferenceError | undefined;
  /** A decoder for one attempt's stream; `batch` is the request it answers (a forced tool may stand for content). */
  createDecoder(batch: ExecuteBatch): StreamDecoder;
  /**
   * The upstream call that embeds `batch` (a unary JSON POST). Absent: the provider cannot embed,
   * and an embedding request is refused with 400 naming the deployment.
   */
  buildEmbeddingRequest?(batch: EmbedBatch, apiKey: string | undefined): UpstreamRequest;
  /** An embedding field this provider cannot honour, refused with 400 naming it. */
  unsupportedEmbedding?(batch: EmbedBatch): InferenceError | undefined;
  /**
   * Reads a 2xx embedding answer: one vector per input, in input order, and the usage (estimated
   * when the upstream reports none). Throws an InferenceError for an answer it cannot read.
   */
  parseEmbeddingResponse?(body: string, batch: EmbedBatch): Embeddings;
  /**
   * The upstream call that counts the input tokens of `batch` (a unary JSON POST). Absent: the
   * engine answers the estimate of src/core/batch.ts, flagged `estimated`.
   */
  buildCountTokensRequest?(batch: ExecuteBatch, apiKey: string | undefined): UpstreamRequest;
  /** Reads a 2xx count answer; throws an InferenceError for an answer it cannot read. */
  parseCountTokensResponse?(body: string): TokenCount;
  /** Classifies a non-2xx answer (status, headers, body text) into an InferenceError. */
  mapError(
    status: number,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    body: string,
  ): InferenceError;
}
