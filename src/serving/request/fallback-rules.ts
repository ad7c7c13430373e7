// What a request does when an attempt fails (docs/architecture.md, "Fallbacks, cost and budgets"),
// as pure decisions the RequestActor acts on: before commit, one re-route to another replica of
// the same deployment when the replica itself was lost, else the next of the original
// deployment's fallbacks that the failure allows (a context-length failure only to a larger
// context window), else the end. After commit, always the end. No clock, no actor.

import type { InferenceError, InferenceErrorKind } from "../../core/inference-error.js";
import { type DeploymentPolicy, fallsBackOn } from "./deployment-policy.js";

/** The failures that mean the replica is gone, not the deployment: worth one other replica. */
const reroutedKinds: ReadonlySet<InferenceErrorKind> = new Set(["unavailable", "network_error"]);

/** Where a request stands when an attempt fails. */
export interface FailureState {
  /** The client was already shown something: nothing may be retried any more. */
  readonly committed: boolean;
  /** The deployment the client asked for. */
  readonly requested: string;
  /** The failed attempt. */
  readonly attempt: {
    readonly deployment: string;
    /** Its policy, once routed. */
    readonly policy: DeploymentPolicy | undefined;
    /** It reached a replica (that may be lost). */
    readonly hadTarget: boolean;
    /** It was itself the re-route of a lost replica (only one re-route per attempt chain). */
    readonly isReroute: boolean;
  };
  /** The policy of the deployment the client asked for (its fallbacks; not transitive). */
  readonly origin: DeploymentPolicy | undefined;
  /** Every deployment tried so far, in order. */
  readonly tried: ReadonlySet<string>;
  /** The context window the next candidate must exceed (0: none required yet). */
  readonly requiredWindow: number;
}

export type FailureDecision =
  | { readonly type: "end" }
  /** Try another replica of the same deployment, without the lost one. */
  | { readonly type: "reroute" }
  /** Try `to`; its context window must exceed `requiredWindow` (0: any). */
  | { readonly type: "fall-back"; readonly to: string; readonly requiredWindow: number };

export function decideOnFailure(error: InferenceError, state: FailureState): FailureDecision {
  if (state.committed) return { type: "end" };
  const { attempt } = state;
  if (attempt.hadTarget && !attempt.isReroute && reroutedKinds.has(error.kind)) return { type: "reroute" };
  let requiredWindow = state.requiredWindow;
  if (error.kind === "context_length_exceeded") {
    // only a deployment with a larger context window can take this prompt
    const window = attempt.policy?.contextWindow ?? 0;
    if (requiredWindow === 0 && window === 0) return { type: "end" };
    requiredWindow = Math.max(requiredWindow, window);
  }
  const next = nextFallback(error, state);
  return next === undefined ? { type: "end" } : { type: "fall-back", to: next, requiredWindow };
}

/** The original deployment's next fallback this failure allows, each tried once (not transitive). */
function nextFallback(error: InferenceError, state: FailureState): string | undefined {
  const { origin, attempt } = state;
  if (!origin) return undefined;
  // a fallback candidate that is not there; a re-route of the requested deployment is no candidate
  const candidateGone =
    attempt.deployment !== state.requested && (error.kind === "not_found" || error.kind === "unavailable");
  const allowed =
    candidateGone ||
    fallsBackOn(origin, error.kind) ||
    (error.kind === "backpressure" && attempt.policy?.onCapacityExhausted === "fallback");
  if (!allowed) return undefined;
  return origin.fallbacks.find((name) => !state.tried.has(name));
}

/** May a candidate with `policy` take a request that needs a context window above `requiredWindow`? */
export function fitsRequiredWindow(policy: DeploymentPolicy | undefined, requiredWindow: number): boolean {
  return requiredWindow === 0 || (policy?.contextWindow ?? 0) > requiredWindow;
}
