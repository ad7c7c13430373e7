// runtime_config of `runtime = "openai-compatible"`: vLLM, llama.cpp server, Ollama and any other
// server speaking OpenAI's chat completions at `base_url` (e.g. http://127.0.0.1:8000/v1).

import { type BaseUrlConfig, baseUrlConfigSchema } from "../openai/base-url-provider.js";

export const openAiCompatibleConfigSchema = baseUrlConfigSchema(2);

export type OpenAiCompatibleConfig = BaseUrlConfig;
