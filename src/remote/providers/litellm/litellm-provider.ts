// LiteLLM proxy: the OpenAI wire format at the proxy's URL; `model` names the proxy's model.

import type { ProviderAdapter } from "../../provider.js";
import { openAiStyleAdapter } from "../openai/openai-provider.js";
import type { LiteLlmConfig } from "./litellm-config.js";

export function liteLlmAdapter(model: string, config: LiteLlmConfig, now: () => number): ProviderAdapter {
  return openAiStyleAdapter({
    provider: "litellm",
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
  });
}
