// Validation of one [[deployment]] table (snake_case in the file, camelCase in code): the shared
// keys here, `runtime_config` delegated to the runtime's own schema from the registry hook.

import { z } from "zod";
import type { Deployment as DeploymentShape, PricingConfig } from "../deployment-types.js";
import { inferenceErrorKinds } from "../inference-error.js";
import { inferRuntime, isKnownRuntime, knownRuntimes, type RuntimeKind } from "../runtime-kind.js";
import { processSecretEnvironment, type SecretEnvironment } from "../secret.js";
import { joinPath, type Problem, type Validated } from "./problem.js";
import { loadSecrets, type SecretPolicy } from "./secret-schema.js";
import { zodProblems } from "./zod-problems.js";

/** The hook through which each runtime validates its own `runtime_config` (filled from the registry). */
export interface RuntimeSchema {
  readonly transport: "local" | "remote";
  /** Parses the snake_case `runtime_config` table; unknown keys must be refused. */
  readonly configSchema: z.ZodType;
  /** The runtime's list price for a deployment's model, when it has a price table. */
  pricing?(deployment: DeploymentShape): PricingConfig | undefined;
}
export type RuntimeSchemas = ReadonlyMap<string, RuntimeSchema>;

const nonNegativeUsd = z.number().min(0);

export const deploymentTableSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(128)
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/,
      "must start with a letter or digit and use only letters, digits, . _ : / -",
    ),
  model: z.string().min(1),
  runtime: z.string().optional(),
  runtime_config: z.record(z.string(), z.unknown()).optional(),
  replicas: z.int().min(1).max(64).default(1),
  /** GPUs each replica needs (local runtimes): it goes only to a node with that many free. */
  gpus: z.int().min(0).max(64).optional(),
  serving: z
    .strictObject({
      max_concurrent: z.int().min(1).max(4096).default(32),
      queue_capacity: z.int().min(0).max(1_000_000).default(256),
      on_capacity_exhausted: z.enum(["reject", "queue", "fallback"]).default("queue"),
      queue_timeout_ms: z.int().min(0).default(30_000),
    })
    .prefault({}),
  fallbacks: z.array(z.string().min(1)).default([]),
  fallback_on: z.array(z.enum(inferenceErrorKinds as [string, ...string[]])).optional(),
  context_window: z.int().min(1).optional(),
  budget: z
    .strictObject({
      max_spend_per_hour_usd: nonNegativeUsd.optional(),
      max_spend_per_day_usd: nonNegativeUsd.optional(),
      on_exceeded: z.enum(["reject", "warn", "throttle"]).default("reject"),
    })
    .refine(
      (budget) => budget.max_spend_per_hour_usd !== undefined || budget.max_spend_per_day_usd !== undefined,
      "set max_spend_per_hour_usd, max_spend_per_day_usd or both",
    )
    .optional(),
  pricing: z
    .strictObject({
      input_per_million_usd: nonNegativeUsd,
      cached_input_per_million_usd: nonNegativeUsd.optional(),
      cache_write_input_per_million_usd: nonNegativeUsd.optional(),
      output_per_million_usd: nonNegativeUsd,
    })
    .optional(),
  idempotent: z.boolean().default(true),
});

export interface ValidateDeploymentOptions {
  readonly runtimes: RuntimeSchemas;
  /** Other deployments' names, for `fallbacks` (the config file passes every name in it). */
  readonly knownDeployments?: readonly string[];
  readonly secrets?: SecretEnvironment;
  readonly secretPolicy?: SecretPolicy;
  /** Path prefix for problems, e.g. `deployment[2]`. */
  readonly path?: string;
}

function resolveRuntime(
  raw: Record<string, unknown>,
  runtimes: RuntimeSchemas,
  base: string,
  problems: Problem[],
): RuntimeKind | undefined {
  const path = joinPath(base, ["runtime"]);
  const model = typeof raw.model === "string" ? raw.model : undefined;
  if (raw.runtime !== undefined && typeof raw.runtime !== "string") return undefined; // reported by the schema
  const runtime =
    (raw.runtime as string | undefined) ?? (model === undefined ? undefined : inferRuntime(model));
  if (runtime === undefined) {
    if (model !== undefined)
      problems.push({ path, message: `cannot infer the runtime from model "${model}"; set runtime` });
    return undefined;
  }
  if (!isKnownRuntime(runtime)) {
    problems.push({ path, message: `unknown runtime "${runtime}" (known: ${knownRuntimes.join(", ")})` });
    return undefined;
  }
  if (!runtimes.has(runtime)) {
    problems.push({ path, message: `runtime "${runtime}" is not available in this build` });
    return undefined;
  }
  return runtime;
}

function validate(input: unknown, options: ValidateDeploymentOptions): Validated<DeploymentShape> {
  const base = options.path ?? "";
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    return { ok: false, problems: [{ path: base || "deployment", message: "must be a table" }] };
  }
  const raw = input as Record<string, unknown>;
  const parsed = deploymentTableSchema.safeParse(raw);
  const problems: Problem[] = parsed.success ? [] : zodProblems(base, parsed.error, raw);
  if (Array.isArray(raw.fallbacks)) {
    raw.fallbacks.forEach((name, index) => {
      if (typeof name !== "string") return;
      const path = joinPath(base, ["fallbacks", index]);
      if (name === raw.name) problems.push({ path, message: "a deployment cannot fall back to itself" });
      else if (options.knownDeployments && !options.knownDeployments.includes(name)) {
        problems.push({ path, message: `fallback "${name}" names no deployment` });
      }
    });
  }
  const runtime = resolveRuntime(raw, options.runtimes, base, problems);
  let runtimeConfig: unknown;
  if (runtime !== undefined) {
    const schema = options.runtimes.get(runtime) as RuntimeSchema;
    const input = raw.runtime_config ?? {};
    const config = schema.configSchema.safeParse(input);
    if (config.success) runtimeConfig = config.data;
    else problems.push(...zodProblems(joinPath(base, ["runtime_config"]), config.error, input));
    if (schema.transport === "remote" && typeof raw.gpus === "number" && raw.gpus > 0)
      problems.push({
        path: joinPath(base, ["gpus"]),
        message: `"gpus" applies to local runtimes only (${runtime} runs at its provider)`,
      });
  }
  const secrets = loadSecrets(
    runtimeConfig,
    joinPath(base, ["runtime_config"]),
    options.secrets ?? processSecretEnvironment,
    options.secretPolicy,
  );
  problems.push(...secrets.problems);
  if (!parsed.success || problems.length > 0 || runtime === undefined) return { ok: false, problems };
  const table = parsed.data;
  const deployment: DeploymentShape = {
    name: table.name,
    model: table.model,
    runtime,
    runtimeConfig,
    replicas: table.replicas,
    ...(table.gpus ? { gpus: table.gpus } : {}),
    serving: {
      maxConcurrent: table.serving.max_concurrent,
      queueCapacity: table.serving.queue_capacity,
      onCapacityExhausted: table.serving.on_capacity_exhausted,
      queueTimeoutMs: table.serving.queue_timeout_ms,
    },
    fallbacks: table.fallbacks,
    ...(table.fallback_on ? { fallbackOn: table.fallback_on as DeploymentShape["fallbackOn"] } : {}),
    ...(table.context_window ? { contextWindow: table.context_window } : {}),
    ...(table.budget
      ? {
          budget: {
            maxSpendPerHourUsd: table.budget.max_spend_per_hour_usd,
            maxSpendPerDayUsd: table.budget.max_spend_per_day_usd,
            onExceeded: table.budget.on_exceeded,
          },
        }
      : {}),
    ...(table.pricing
      ? {
          pricing: {
            inputPerMillionUsd: table.pricing.input_per_million_usd,
            cachedInputPerMillionUsd: table.pricing.cached_input_per_million_usd,
            cacheWriteInputPerMillionUsd: table.pricing.cache_write_input_per_million_usd,
            outputPerMillionUsd: table.pricing.output_per_million_usd,
          },
        }
      : {}),
    idempotent: table.idempotent,
  };
  if (deployment.budget && !deployment.pricing && !options.runtimes.get(runtime)?.pricing?.(deployment)) {
    return {
      ok: false,
      problems: [
        {
          path: joinPath(base, ["budget"]),
          message: `a budget needs prices: the ${runtime} runtime has none for "${deployment.model}"; set [deployment.pricing]`,
        },
      ],
    };
  }
  return { ok: true, value: deployment, warnings: secrets.warnings };
}

/** `Deployment.validate(table, options)`: every problem with its field path, not just the first. */
export const Deployment = {
  validate,
  inferRuntime,
};
