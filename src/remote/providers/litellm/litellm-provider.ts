// LiteLLM proxy: the OpenAI wire format at the proxy's URL; `model` names the proxy's model.

import type { ProviderAdapter } from "../../provider.js";
import { baseUrlAdapter } from "../openai/base-url-provider.js";
import type { LiteLlmConfig } from "./litellm-config.js";

export function liteLlmAdapter(model: string, config: LiteLlmConfig, now: () => number): ProviderAdapter {
  return baseUrlAdapter("litellm", model, config, now);
}
