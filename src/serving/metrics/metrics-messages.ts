// What the MetricsActor is told. The RequestActor reports one `request-finished` per request;
// engines report through the EngineObserver adapter; the manager reports deployment states.

import type { ActorRef } from "../../actor/index.js";
import type { InferenceErrorKind } from "../../core/inference-error.js";

/**
 * The deployment label of requests that named no known deployment (404s): the client's `model`
 * never becomes a label value, so random names cannot grow the series without bound.
 */
export const unknownDeploymentLabel = "(unknown)";

export type RequestOutcome = "success" | "cancelled" | InferenceErrorKind;

export type MetricsMessage =
  | {
      readonly type: "request-finished";
      readonly deployment: string;
      readonly outcome: RequestOutcome;
      /** Seconds from arrival to the first committed chunk; absent when none was sent. */
      readonly timeToFirstTokenSeconds?: number;
      readonly e2eSeconds: number;
      /** Gaps between consecutive committed chunks, seconds. */
      readonly interTokenSeconds: readonly number[];
      readonly inputTokens: number;
      readonly outputTokens: number;
    }
  | { readonly type: "queue-time"; readonly deployment: string; readonly seconds: number }
  | {
      readonly type: "engine-load";
      readonly deployment: string;
      readonly replicaId: string;
      readonly running: number;
      readonly waiting: number;
    }
  | { readonly type: "replica-removed"; readonly deployment: string; readonly replicaId: string }
  | {
      readonly type: "deployment-state";
      readonly deployment: string;
      readonly state: "pending" | "serving" | "draining" | "removed" | "failed";
    }
  | { readonly type: "worker-rebuilt"; readonly deployment: string }
  | {
      readonly type: "upstream-attempt";
      readonly deployment: string;
      readonly status: string;
      readonly seconds: number;
    }
  | { readonly type: "retried"; readonly deployment: string }
  | {
      readonly type: "fallback";
      readonly from: string;
      readonly to: string;
      readonly reason: InferenceErrorKind;
    }
  /** A request's cost; `estimated` when the stream ended without reporting usage. */
  | { readonly type: "cost"; readonly deployment: string; readonly usd: number; readonly estimated: boolean }
  /** A remote request whose usage has no price (no [deployment.pricing], model not in the table). */
  | { readonly type: "cost-unknown"; readonly deployment: string }
  /** A remote deployment uses this circuit endpoint (so circuit states can be labelled by deployment). */
  | { readonly type: "endpoint-used"; readonly deployment: string; readonly endpoint: string }
  | {
      readonly type: "circuit-state";
      readonly endpoint: string;
      readonly state: "closed" | "open" | "half-open";
    }
  | { readonly type: "rate-limit-utilization"; readonly deployment: string; readonly utilization: number }
  | {
      readonly type: "remote-queue-depth";
      readonly deployment: string;
      readonly replicaId: string;
      readonly depth: number;
    }
  /** One llama.cpp decode step: how many sequences and tokens it evaluated together. */
  | {
      readonly type: "decode-step";
      readonly deployment: string;
      readonly sequences: number;
      readonly tokens: number;
    }
  /** In a cluster, the node's shared store became reachable or unreachable (and its state at start). */
  | { readonly type: "store-available"; readonly available: boolean }
  /** A cluster node's call to its shared store (Redis) took `seconds`; `op` like "spend.reserve_within". */
  | { readonly type: "store-latency"; readonly op: string; readonly seconds: number }
  | { readonly type: "scrape"; readonly replyTo: ActorRef<string> }
  /** The live numbers per deployment, for the admin API. */
  | { readonly type: "snapshot"; readonly replyTo: ActorRef<ReadonlyMap<string, DeploymentSnapshot>> };

export interface DeploymentSnapshot {
  readonly running: number;
  readonly waiting: number;
  readonly rateLimitUtilization: number | undefined;
  readonly circuits: ReadonlyArray<{
    readonly endpoint: string;
    readonly state: "closed" | "open" | "half-open";
  }>;
}
