// The `anthropic` runtime's adapter (docs/providers.md, `runtime = "anthropic"`): requests to
// `<base_url path>/v1/messages` with the key in `x-api-key` and the `anthropic-version` /
// `anthropic-beta` headers; bodies from convert-to-anthropic-request.ts, streams read by
// AnthropicStreamDecoder, errors classified by map-anthropic-error.ts.

import type { ExecuteBatch } from "../../../core/batch.js";
import type { ProviderAdapter, StreamDecoder, UpstreamRequest } from "../../provider.js";
import type { AnthropicConfig } from "./anthropic-config.js";
import { anthropicCountTokensBody, parseAnthropicCountTokens } from "./anthropic-count-tokens.js";
import { AnthropicStreamDecoder } from "./anthropic-stream-decoder.js";
import {
  anthropicRequestProblem,
  convertToAnthropicRequest,
  jsonResponseTool,
} from "./convert-to-anthropic-request.js";
import { mapAnthropicError } from "./map-anthropic-error.js";

export function anthropicAdapter(model: string, config: AnthropicConfig, now: () => number): ProviderAdapter {
  const url = new URL(config.baseUrl);
  const prefix = url.pathname.replace(/\/+$/, "");
  const path = `${prefix}/v1/messages`;
  const baseHeaders: Record<string, string> = {
    "content-type": "application/json",
    accept: "text/event-stream",
    "anthropic-version": config.apiVersion,
    ...(config.beta.length > 0 ? { "anthropic-beta": config.beta.join(",") } : {}),
  };
  const options = config.defaultMaxTokens === undefined ? {} : { defaultMaxTokens: config.defaultMaxTokens };
  return {
    provider: "anthropic",
    origin: url.origin,
    endpoint: `anthropic|${url.origin}${prefix}|${model}`,
    upstreamModel: model,
    apiKey: config.apiKey,
    resilience: config.resilience,
    buildRequest(batch: ExecuteBatch, apiKey: string | undefined): UpstreamRequest {
      const headers = apiKey === undefined ? { ...baseHeaders } : { ...baseHeaders, "x-api-key": apiKey };
      return { path, headers, body: JSON.stringify(convertToAnthropicRequest(batch, model, options)) };
    },
    unsupported: (batch: ExecuteBatch) => anthropicRequestProblem(batch, model, options),
    createDecoder(batch: ExecuteBatch): StreamDecoder {
      const jsonTool = jsonResponseTool(batch, model);
      return new AnthropicStreamDecoder(jsonTool === undefined ? { now } : { jsonTool, now });
    },
    // no embeddings endpoint: an embedding request is refused naming the deployment
    buildCountTokensRequest(batch: ExecuteBatch, apiKey: string | undefined): UpstreamRequest {
      const headers: Record<string, string> = { ...baseHeaders, accept: "application/json" };
      if (apiKey !== undefined) headers["x-api-key"] = apiKey;
      const body = anthropicCountTokensBody(batch, model, options);
      return { path: `${path}/count_tokens`, headers, body: JSON.stringify(body) };
    },
    parseCountTokensResponse: parseAnthropicCountTokens,
    mapError: (status, headers, body) => mapAnthropicError(status, headers, body, now()),
  };
}
