// Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama): the OpenAI wire format at any
// base URL, with an optional key.

import type { ProviderAdapter } from "../../provider.js";
import { openAiStyleAdapter } from "../openai/openai-provider.js";
import type { OpenAiCompatibleConfig } from "./openai-compatible-config.js";

export function openAiCompatibleAdapter(
  model: string,
  config: OpenAiCompatibleConfig,
  now: () => number,
): ProviderAdapter {
  return openAiStyleAdapter({
    provider: "openai-compatible",
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
