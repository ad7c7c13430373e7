// runtime_config of `runtime = "litellm"`: a LiteLLM proxy (OpenAI wire format at its URL). The
// proxy retries itself, so ours default to one retry.

import { z } from "zod";
import { secretSchema } from "../../../core/config/secret-schema.js";
import { resilienceKeys } from "../../remote-config.js";
import { baseUrlSchema } from "../openai/openai-config.js";

export const liteLlmConfigSchema = z
  .strictObject({
    base_url: baseUrlSchema,
    api_key: secretSchema.optional(),
    ...resilienceKeys(1),
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

export type LiteLlmConfig = z.output<typeof liteLlmConfigSchema>;
