// Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama): the OpenAI wire format at any
// base URL, with an optional key.

import type { ProviderAdapter } from "../../provider.js";
import { baseUrlAdapter } from "../openai/base-url-provider.js";
import type { OpenAiCompatibleConfig } from "./openai-compatible-config.js";

export function openAiCompatibleAdapter(
  model: string,
  config: OpenAiCompatibleConfig,
  now: () => number,
): ProviderAdapter {
  return baseUrlAdapter("openai-compatible", model, config, now);
}
