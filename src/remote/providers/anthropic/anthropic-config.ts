// runtime_config of `runtime = "anthropic"`: the Anthropic Messages API (docs/providers.md,
// `runtime = "anthropic"`): the key, the base URL (requests go to `<base_url path>/v1/messages`),
// the `anthropic-version` and `anthropic-beta` headers, the default `max_tokens`, and the
// resilience tables every remote runtime shares.

import { z } from "zod";
import { secretSchema } from "../../../core/config/secret-schema.js";
import { resilienceKeys } from "../../remote-config.js";
import { baseUrlSchema } from "../openai/openai-config.js";

/**
 * The `anthropic-version` sent when the table names none: the version every Anthropic endpoint and
 * Anthropic-compatible proxy accepts; every field rakka sends and reads is served under it
 * (docs/providers.md explains the choice; `api_version = "2026-10-21"` is what SDK 1.x sends).
 */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

export const DEFAULT_ANTHROPIC_BASE_URL = "https://api.anthropic.com";

export const anthropicConfigSchema = z
  .strictObject({
    api_key: secretSchema,
    base_url: baseUrlSchema.optional(),
    api_version: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date such as 2023-06-01")
      .optional(),
    /** Beta features, sent as one `anthropic-beta` header (comma-joined). */
    beta: z
      .array(
        z
          .string()
          .min(1)
          .regex(/^[^,\s]*$/, "must be one beta name (no commas or spaces)"),
      )
      .optional(),
    /** `max_tokens` when the client sends none, instead of the per-model default. */
    default_max_tokens: z.int().min(1).optional(),
    ...resilienceKeys(2),
  })
  .transform((table) => ({
    apiKey: table.api_key,
    baseUrl: table.base_url ?? DEFAULT_ANTHROPIC_BASE_URL,
    apiVersion: table.api_version ?? DEFAULT_ANTHROPIC_VERSION,
    beta: table.beta ?? [],
    defaultMaxTokens: table.default_max_tokens,
    resilience: {
      rateLimits: table.rate_limits,
      retry: table.retry,
      circuitBreaker: table.circuit_breaker,
      timeouts: table.timeouts,
    },
  }));

export type AnthropicConfig = z.output<typeof anthropicConfigSchema>;
