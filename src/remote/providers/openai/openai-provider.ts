// The OpenAI-family adapter: OpenAI itself, Azure OpenAI, and (with their own configs) LiteLLM
// proxies and any OpenAI-compatible server (vLLM, llama.cpp server, Ollama).

import type { ExecuteBatch } from "../../../core/batch.js";
import type { EmbedBatch } from "../../../core/embedding.js";
import { errors } from "../../../core/inference-error.js";
import type { ProviderKind } from "../../../core/runtime-kind.js";
import type { Secret } from "../../../core/secret.js";
import type { ProviderAdapter, StreamDecoder, UpstreamRequest } from "../../provider.js";
import type { ResilienceSettings } from "../../remote-config.js";
import { convertToOpenAiRequest } from "./convert-to-openai-request.js";
import { mapOpenAiError } from "./map-openai-error.js";
import type { OpenAiConfig } from "./openai-config.js";
import { openAiEmbeddingBody, parseOpenAiEmbeddings } from "./openai-embeddings.js";
import { OpenAiStreamDecoder } from "./openai-stream-decoder.js";

export interface OpenAiStyleTarget {
  readonly provider: ProviderKind;
  /** e.g. https://api.openai.com/v1 (path prefix kept), or an Azure endpoint. */
  readonly baseUrl: string;
  /** Path appended to the base URL's path, with query. */
  readonly chatPath: string;
  /** The embeddings endpoint's path, appended the same way; default `/embeddings`. */
  readonly embeddingsPath?: string;
  readonly upstreamModel: string;
  readonly apiKey: Secret | undefined;
  /** How the key is sent: `Authorization: Bearer` (OpenAI) or `api-key` (Azure). */
  readonly keyHeader: "authorization" | "api-key";
  readonly extraHeaders: Readonly<Record<string, string>>;
  readonly resilience: ResilienceSettings;
  /** The clock's now(), for Retry-After dates. */
  readonly now: () => number;
  /** OpenAI wants max_completion_tokens (its o-series refuse max_tokens); other servers max_tokens. */
  readonly maxTokensField: "max_tokens" | "max_completion_tokens";
  /** Whether the server takes vLLM's top_k (OpenAI does not: refused with 400). */
  readonly acceptsTopK: boolean;
  /** Whether signed reasoning is sent back (LiteLLM's fields; convert-to-openai-request.ts). */
  readonly replaysReasoning?: boolean;
}

export function openAiStyleAdapter(target: OpenAiStyleTarget): ProviderAdapter {
  const url = new URL(target.baseUrl);
  const prefix = url.pathname.replace(/\/+$/, "");
  const path = `${prefix}${target.chatPath}`;
  const embeddingsPath = `${prefix}${target.embeddingsPath ?? "/embeddings"}`;
  const baseHeaders = {
    "content-type": "application/json",
    accept: "text/event-stream",
    ...target.extraHeaders,
  };
  /** The embeddings call's headers: JSON both ways, the key as the chat call sends it. */
  const embeddingHeaders = (apiKey: string | undefined): Record<string, string> => {
    const headers: Record<string, string> = { ...baseHeaders, accept: "application/json" };
    if (apiKey === undefined) return headers;
    if (target.keyHeader === "api-key") headers["api-key"] = apiKey;
    else headers.authorization = `Bearer ${apiKey}`;
    return headers;
  };
  return {
    provider: target.provider,
    origin: url.origin,
    endpoint: `${target.provider}|${url.origin}${prefix}|${target.upstreamModel}`,
    upstreamModel: target.upstreamModel,
    apiKey: target.apiKey,
    resilience: target.resilience,
    buildRequest(batch: ExecuteBatch, apiKey: string | undefined): UpstreamRequest {
      const headers: Record<string, string> = { ...baseHeaders };
      if (apiKey !== undefined) {
        if (target.keyHeader === "api-key") headers["api-key"] = apiKey;
        else headers.authorization = `Bearer ${apiKey}`;
      }
      const body = convertToOpenAiRequest(batch, target.upstreamModel, {
        maxTokensField: target.maxTokensField,
        topK: target.acceptsTopK,
        replaysReasoning: target.replaysReasoning === true,
      });
      return { path, headers, body: JSON.stringify(body) };
    },
    unsupported(batch: ExecuteBatch) {
      if (batch.sampling.topK !== undefined && !target.acceptsTopK) {
        return errors.badRequest(`top_k: ${target.provider} does not support top_k`, "top_k");
      }
      return undefined;
    },
    createDecoder(): StreamDecoder {
      return new OpenAiStreamDecoder();
    },
    buildEmbeddingRequest(batch: EmbedBatch, apiKey: string | undefined): UpstreamRequest {
      const headers = embeddingHeaders(apiKey);
      const body = openAiEmbeddingBody(batch, target.upstreamModel);
      return { path: embeddingsPath, headers, body: JSON.stringify(body) };
    },
    parseEmbeddingResponse: parseOpenAiEmbeddings,
    mapError: (status, headers, body) => mapOpenAiError(status, headers, body, target.now()),
  };
}

export function openAiAdapter(model: string, config: OpenAiConfig, now: () => number): ProviderAdapter {
  if (config.variant === "azure") {
    const deployment = config.azureDeployment ?? model;
    return openAiStyleAdapter({
      provider: "openai",
      baseUrl: config.azureEndpoint as string,
      chatPath: `/openai/deployments/${encodeURIComponent(deployment)}/chat/completions?api-version=${encodeURIComponent(
        config.apiVersion as string,
      )}`,
      embeddingsPath: `/openai/deployments/${encodeURIComponent(deployment)}/embeddings?api-version=${encodeURIComponent(
        config.apiVersion as string,
      )}`,
      upstreamModel: deployment,
      apiKey: config.apiKey,
      keyHeader: "api-key",
      extraHeaders: {},
      resilience: config.resilience,
      now,
      maxTokensField: "max_completion_tokens",
      acceptsTopK: false,
    });
  }
  return openAiStyleAdapter({
    provider: "openai",
    baseUrl: config.baseUrl,
    chatPath: "/chat/completions",
    upstreamModel: model,
    apiKey: config.apiKey,
    keyHeader: "authorization",
    extraHeaders: {
      ...(config.organization ? { "openai-organization": config.organization } : {}),
      ...(config.project ? { "openai-project": config.project } : {}),
    },
    resilience: config.resilience,
    now,
    maxTokensField: "max_completion_tokens",
    acceptsTopK: false,
  });
}
