// runtime_config of `runtime = "openai-compatible"`: vLLM, llama.cpp server, Ollama and any other
// server speaking OpenAI's chat completions at `base_url` (e.g. http://127.0.0.1:8000/v1).

import { z } from "zod";
import { secretSchema } from "../../../core/config/secret-schema.js";
import { resilienceKeys } from "../../remote-config.js";
import { baseUrlSchema } from "../openai/openai-config.js";

export const openAiCompatibleConfigSchema = z
  .strictObject({
    base_url: baseUrlSchema,
    api_key: secretSchema.optional(),
    ...resilienceKeys(2),
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

export type OpenAiCompatibleConfig = z.output<typeof openAiCompatibleConfigSchema>;
