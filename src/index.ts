// The package's public API: the one place (with the CLI built on it) that knows the concrete
// runtimes and fills the runtime registry.

import type { RuntimeSchemas } from "./core/config/deployment-schema.js";
import { mockConfigSchema } from "./runtimes/mock/index.js";

export { type ProjectConfig, parseConfig } from "./core/config/load-config.js";
export { formatProblems, type Problem } from "./core/config/problem.js";
export type { DeploymentSpec, ServingConfig } from "./core/deployment.js";
export { Deployment } from "./core/deployment.js";
export type { InferenceErrorDetails, InferenceErrorKind } from "./core/inference-error.js";
export { countsAsCircuitFailure, errors, InferenceError, isRetryable } from "./core/inference-error.js";
export { Secret } from "./core/secret.js";
export type { RuntimeRegistry, RuntimeRegistryEntry } from "./protocol/runtime-registry.js";

/** The runtimes this build provides. */
export function defaultRuntimeRegistry(): RuntimeSchemas {
  return new Map([["mock", { transport: "local", configSchema: mockConfigSchema }]]);
}
