// runtime_config of `runtime = "gemini"`: Google's Gemini API (generativelanguage.googleapis.com),
// keyed by `x-goog-api-key`; requests go to `<base_url path>/<api_version>/models/<model>:streamGenerateContent?alt=sse`
// (docs/providers.md, `runtime = "gemini"`). Read by gemini-provider.ts.

import { z } from "zod";
import { secretSchema } from "../../../core/config/secret-schema.js";
import { resilienceKeys } from "../../remote-config.js";
import { baseUrlSchema } from "../openai/openai-config.js";

export const GEMINI_DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com";
export const GEMINI_DEFAULT_API_VERSION = "v1beta";

export const geminiConfigSchema = z
  .strictObject({
    api_key: secretSchema,
    base_url: baseUrlSchema
      .refine(
        (value) => /\/v1(beta)?\/*$/i.exec(value) === null,
        "must not end with the API version (/v1beta, /v1): it is appended from api_version",
      )
      .optional(),
    /** A path segment: `v1beta` (default) or `v1`. */
    api_version: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, "must be one path segment, e.g. v1beta or v1")
      .optional(),
    ...resilienceKeys(2),
  })
  .transform((table) => ({
    apiKey: table.api_key,
    baseUrl: table.base_url ?? GEMINI_DEFAULT_BASE_URL,
    apiVersion: table.api_version ?? GEMINI_DEFAULT_API_VERSION,
    resilience: {
      rateLimits: table.rate_limits,
      retry: table.retry,
      circuitBreaker: table.circuit_breaker,
      timeouts: table.timeouts,
    },
  }));

export type GeminiConfig = z.output<typeof geminiConfigSchema>;
