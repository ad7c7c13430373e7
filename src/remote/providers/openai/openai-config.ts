// runtime_config of `runtime = "openai"`: the OpenAI API, or Azure OpenAI with `variant = "azure"`.

import { z } from "zod";
import { secretSchema } from "../../../core/config/secret-schema.js";
import { resilienceKeys } from "../../remote-config.js";

/** Whether `value` parses as a URL with a user name or password (`https://user:pass@host`). */
function hasUserInfo(value: string): boolean {
  try {
    const url = new URL(value);
    return url.username !== "" || url.password !== "";
  } catch {
    return false; // not a URL at all: z.url() reports that
  }
}

/**
 * An http(s) base URL. Only its origin and path are used (paths are appended to it, the key goes
 * in a header), so a query, a fragment or user info would be dropped: each is refused instead.
 * The messages never repeat the value (user info may hold a password).
 */
export const baseUrlSchema = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .refine((value) => !value.includes("?") && !value.includes("#"), "must not have a query or fragment")
  .refine(
    (value) => !hasUserInfo(value),
    "must not have user info (user:password@): it would not be sent; give the key as api_key",
  );
const httpUrl = baseUrlSchema;

export const openAiConfigSchema = z
  .strictObject({
    variant: z.enum(["openai", "azure"]).default("openai"),
    api_key: secretSchema,
    base_url: httpUrl.optional(),
    organization: z.string().min(1).optional(),
    project: z.string().min(1).optional(),
    /** Azure: https://<resource>.openai.azure.com, or give `resource`. */
    endpoint: httpUrl.optional(),
    resource: z
      .string()
      .regex(/^[a-z0-9-]+$/i, "must be an Azure resource name")
      .optional(),
    /** Azure deployment name (default: the deployment's `model`). */
    deployment: z.string().min(1).optional(),
    api_version: z.string().min(1).optional(),
    ...resilienceKeys(2),
  })
  .superRefine(
    (table, context) => {
      // runs even when other keys are invalid, so one pass lists every problem
      const has = (key: string) => (table as Record<string, unknown>)[key] !== undefined;
      if (table.variant === "azure") {
        if (!has("endpoint") && !has("resource")) {
          context.addIssue({
            code: "custom",
            path: ["endpoint"],
            message: 'azure needs "endpoint" or "resource"',
          });
        }
        if (!has("api_version"))
          context.addIssue({ code: "custom", path: ["api_version"], message: "azure needs api_version" });
        for (const key of ["base_url", "organization", "project"] as const) {
          if (has(key)) {
            context.addIssue({ code: "custom", path: [key], message: `not used by variant = "azure"` });
          }
        }
      } else {
        for (const key of ["endpoint", "resource", "deployment", "api_version"] as const) {
          if (has(key))
            context.addIssue({ code: "custom", path: [key], message: `only for variant = "azure"` });
        }
      }
    },
    { when: () => true },
  )
  .transform((table) => ({
    variant: table.variant,
    apiKey: table.api_key,
    baseUrl: table.base_url ?? "https://api.openai.com/v1",
    organization: table.organization,
    project: table.project,
    azureEndpoint:
      table.endpoint ?? (table.resource ? `https://${table.resource}.openai.azure.com` : undefined),
    azureDeployment: table.deployment,
    apiVersion: table.api_version,
    resilience: {
      rateLimits: table.rate_limits,
      retry: table.retry,
      circuitBreaker: table.circuit_breaker,
      timeouts: table.timeouts,
    },
  }));

export type OpenAiConfig = z.output<typeof openAiConfigSchema>;
