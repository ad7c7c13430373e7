// The shape shared by OpenAI-wire servers addressed by a base URL with an optional key (LiteLLM
// proxies, vLLM / llama.cpp server / Ollama): their runtime_config schema and their adapter.

import { z } from "zod";
import { secretSchema } from "../../../core/config/secret-schema.js";
import type { ProviderKind } from "../../../core/runtime-kind.js";
import type { ProviderAdapter } from "../../provider.js";
import { resilienceKeys } from "../../remote-config.js";
import { baseUrlSchema } from "./openai-config.js";
import { openAiStyleAdapter } from "./openai-provider.js";

export function baseUrlConfigSchema(defaultMaxRetries: number) {
  return z
    .strictObject({
      base_url: baseUrlSchema,
      api_key: secretSchema.optional(),
      ...resilienceKeys(defaultMaxRetries),
    })
    .transform((table) => ({
      baseUrl: table.base_url,
      apiKey: table.api_key,
      resilience: {
        rateLimits: table.rate_limits,
        retry: table.retry,
        circuitBreaker: table.circuit_breaker,
        timeouts: table.timeouts,
      },
    }));
}

export type BaseUrlConfig = z.output<ReturnType<typeof baseUrlConfigSchema>>;

/** These servers take `max_tokens` and vLLM's `top_k`; `model` names the server's model. */
export function baseUrlAdapter(
  provider: ProviderKind,
  model: string,
  config: BaseUrlConfig,
  now: () => number,
): ProviderAdapter {
  return openAiStyleAdapter({
    provider,
    baseUrl: config.baseUrl,
    chatPath: "/chat/completions",
    upstreamModel: model,
    apiKey: config.apiKey,
    keyHeader: "authorization",
    extraHeaders: {},
    resilience: config.resilience,
    now,
    maxTokensField: "max_tokens",
    acceptsTopK: true,
    replaysReasoning: provider === "litellm",
  });
}
