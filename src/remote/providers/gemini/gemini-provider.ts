// The Gemini adapter (`runtime = "gemini"`, docs/providers.md): Google's Gemini API at `base_url`,
// always `POST <prefix>/<api_version>/models/<model>:streamGenerateContent?alt=sse` with the key in
// `x-goog-api-key`. The remote worker runs it like every provider (src/remote/provider.ts); the
// index registers it with geminiConfigSchema and geminiPrice.

import type { ExecuteBatch } from "../../../core/batch.js";
import type { EmbedBatch } from "../../../core/embedding.js";
import { InferenceError } from "../../../core/inference-error.js";
import type { ProviderAdapter, StreamDecoder, UpstreamRequest } from "../../provider.js";
import { bareModelName, convertToGeminiRequest } from "./convert-to-gemini-request.js";
import type { GeminiConfig } from "./gemini-config.js";
import { geminiCountTokensBody, parseGeminiCountTokens } from "./gemini-count-tokens.js";
import { geminiBatchEmbedBody, geminiEmbeddingProblem, parseGeminiEmbeddings } from "./gemini-embeddings.js";
import { GeminiStreamDecoder } from "./gemini-stream-decoder.js";
import { mapGeminiError } from "./map-gemini-error.js";

/**
 * `model` is the deployment's model (`gemini-2.5-flash`, or `models/gemini-2.5-flash`); `now` the
 * clock's now() (Retry-After dates); `random` makes the tool call ids (gemini-tool-call-id.ts).
 */
export function geminiAdapter(
  model: string,
  config: GeminiConfig,
  now: () => number,
  random: () => number = Math.random,
): ProviderAdapter {
  const url = new URL(config.baseUrl);
  const prefix = url.pathname.replace(/\/+$/, "");
  const upstreamModel = bareModelName(model);
  const path = `${prefix}/${encodeURIComponent(config.apiVersion)}/models/${encodeURIComponent(
    upstreamModel,
  )}:streamGenerateContent?alt=sse`;
  const modelPath = `${prefix}/${encodeURIComponent(config.apiVersion)}/models/${encodeURIComponent(upstreamModel)}`;
  const jsonHeaders = (apiKey: string | undefined): Record<string, string> => ({
    "content-type": "application/json",
    accept: "application/json",
    ...(apiKey === undefined ? {} : { "x-goog-api-key": apiKey }),
  });
  return {
    provider: "gemini",
    origin: url.origin,
    endpoint: `gemini|${url.origin}${prefix}|${upstreamModel}`,
    upstreamModel,
    apiKey: config.apiKey,
    resilience: config.resilience,
    buildRequest(batch: ExecuteBatch, apiKey: string | undefined): UpstreamRequest {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: "text/event-stream",
        ...(apiKey === undefined ? {} : { "x-goog-api-key": apiKey }),
      };
      return { path, headers, body: JSON.stringify(convertToGeminiRequest(batch, upstreamModel)) };
    },
    unsupported(batch: ExecuteBatch) {
      // the conversion is the one place that knows what Gemini cannot take: run it, keep its 400
      try {
        convertToGeminiRequest(batch, upstreamModel);
        return undefined;
      } catch (error) {
        if (error instanceof InferenceError) return error;
        throw error;
      }
    },
    createDecoder(): StreamDecoder {
      return new GeminiStreamDecoder(random, now);
    },
    buildEmbeddingRequest(batch: EmbedBatch, apiKey: string | undefined): UpstreamRequest {
      const body = geminiBatchEmbedBody(batch, upstreamModel);
      return {
        path: `${modelPath}:batchEmbedContents`,
        headers: jsonHeaders(apiKey),
        body: JSON.stringify(body),
      };
    },
    unsupportedEmbedding: geminiEmbeddingProblem,
    parseEmbeddingResponse: parseGeminiEmbeddings,
    buildCountTokensRequest(batch: ExecuteBatch, apiKey: string | undefined): UpstreamRequest {
      const body = geminiCountTokensBody(batch, upstreamModel);
      return { path: `${modelPath}:countTokens`, headers: jsonHeaders(apiKey), body: JSON.stringify(body) };
    },
    parseCountTokensResponse: parseGeminiCountTokens,
    mapError: (status, headers, body) => mapGeminiError(status, headers, body, now()),
  };
}
