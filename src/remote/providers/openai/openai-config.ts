// runtime_config of `runtime = "openai"`: the OpenAI API, or Azure OpenAI with `variant = "azure"`.

import { z } from "zod";
import { secretSchema } from "../../../core/config/secret-schema.js";
import { resilienceKeys } from "../../remote-config.js";

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

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
  .superRefine((table, context) => {
    if (table.variant === "azure") {
      if (!table.endpoint && !table.resource) {
        context.addIssue({
          code: "custom",
          path: ["endpoint"],
          message: 'azure needs "endpoint" or "resource"',
        });
      }
      if (!table.api_version)
        context.addIssue({ code: "custom", path: ["api_version"], message: "azure needs api_version" });
      if (table.base_url)
        context.addIssue({
          code: "custom",
          path: ["base_url"],
          message: 'azure uses "endpoint", not base_url',
        });
    } else {
      for (const key of ["endpoint", "resource", "deployment", "api_version"] as const) {
        if (table[key] !== undefined) {
          context.addIssue({ code: "custom", path: [key], message: `only for variant = "azure"` });
        }
      }
    }
  })
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
