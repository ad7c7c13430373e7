// What a RequestActor needs to know about a deployment beyond its route: fallbacks and when to
// use them, its context window, its capacity policy, its budget and its prices. The manager
// derives it from the spec (and the runtime's price table) and the coordinator hands it out.

import type {
  BudgetConfig,
  DeploymentSpec,
  OnCapacityExhausted,
  PricingConfig,
} from "../../core/deployment.js";
import type { InferenceErrorKind } from "../../core/inference-error.js";
import type { RuntimeRegistry } from "../../protocol/runtime-registry.js";

/** docs/architecture.md, request rules: the failures that send a request to the next fallback by default. */
export const defaultFallbackOn: readonly InferenceErrorKind[] = [
  "rate_limited",
  "circuit_open",
  "backpressure",
  "server_error",
  "timeout",
  "network_error",
];

/** Never a reason to fall back, whatever `fallback_on` says: another deployment would refuse it too. */
const neverFallBackOn: ReadonlySet<InferenceErrorKind> = new Set(["content_filtered", "bad_request"]);

export interface DeploymentPolicy {
  readonly transport: "local" | "remote";
  readonly fallbacks: readonly string[];
  readonly fallbackOn: readonly InferenceErrorKind[];
  readonly contextWindow: number | undefined;
  readonly onCapacityExhausted: OnCapacityExhausted;
  readonly budget: BudgetConfig | undefined;
  /** Prices (the deployment's own, else the runtime's table); undefined = free (local models). */
  readonly pricing: PricingConfig | undefined;
}

export function policyOf(spec: DeploymentSpec, registry: RuntimeRegistry): DeploymentPolicy {
  const entry = registry.get(spec.runtime);
  return {
    transport: entry?.transport ?? "local",
    fallbacks: spec.fallbacks,
    fallbackOn: spec.fallbackOn ?? defaultFallbackOn,
    contextWindow: spec.contextWindow,
    onCapacityExhausted: spec.serving.onCapacityExhausted,
    budget: spec.budget,
    pricing: spec.pricing ?? entry?.pricing?.(spec),
  };
}

/** May a failure of a deployment with `policy` (before commit) go to its fallbacks? */
export function fallsBackOn(policy: DeploymentPolicy, kind: InferenceErrorKind): boolean {
  if (neverFallBackOn.has(kind)) return false;
  if (kind === "context_length_exceeded") return true; // only to a larger context window (checked per candidate)
  if (kind === "backpressure" && policy.onCapacityExhausted === "fallback") return true;
  return policy.fallbackOn.includes(kind);
}
