// The InferenceService's surface: what the HTTP gateway and the library API (createInferenceSystem)
// call. One request path for both: validate → start → iterate chunks (or await the aggregate).

import type { CompletionResult, ServiceRequest } from "../core/dialect.js";
import type { EmbeddingRequest, EmbeddingResult, TokenCount } from "../core/embedding.js";
import type { TokenChunk } from "../core/token-chunk.js";

export interface RequestHandle {
  readonly requestId: string;
  /**
   * The chunks as they commit (docs/architecture.md, request rules): empty chunks are held back until the first one
   * with content; the last carries `finishReason` and `usage`. Iteration throws an
   * InferenceError when the request fails. Breaking out of the loop cancels the request.
   */
  readonly chunks: AsyncIterable<TokenChunk>;
  /** The deployment serving the request, once routed. */
  servedBy(): string | undefined;
  /** The node whose engine runs the request, once routed (another node's when forwarded). */
  servedOn(): string | undefined;
  /** Cancels the request (client gone); the engine frees the slot. */
  cancel(): void;
}

export interface DeploymentStatus {
  readonly name: string;
  readonly state: "pending" | "serving" | "draining" | "removed" | "failed";
  readonly reason?: string;
  readonly replicas: number;
  readonly readyReplicas: number;
  /** This node's replicas of the serving generation, by index (a cluster's placement reports them). */
  readonly localReplicas?: ReadonlyArray<{
    readonly index: number;
    readonly ready: boolean;
    /** Waiting for its turn to replace an old replica in place (docs/cluster.md, "Placement"). */
    readonly waiting?: boolean;
  }>;
  readonly runtime: string;
  readonly model: string;
  /** GPUs each replica needs (0: none). */
  readonly gpus: number;
}

/**
 * A cluster node's view of its cluster, as /readyz and the admin API show it: read from the last
 * heartbeat round (no Redis call per probe). The entry builds it from src/cluster/'s membership.
 */
/** A local model replica the cluster's placement could not place, and why. */
export interface UnplacedReplica {
  readonly deployment: string;
  readonly index: number;
  readonly reason: string;
}

export interface ClusterStatus {
  readonly nodeId: string;
  /** The replicas the placement could not place (as the last heartbeat read the plan). */
  readonly unplaced?: readonly UnplacedReplica[];
  /** Whether the node reached Redis at its last heartbeat. */
  readonly store: "available" | "unavailable";
  readonly onStoreUnavailable: "open" | "closed";
  readonly nodes: ReadonlyArray<{
    readonly nodeId: string;
    readonly url: string;
    readonly version: string;
    readonly heartbeatAgeMs: number;
    readonly replicas: ReadonlyArray<{
      readonly deployment: string;
      readonly running: number;
      readonly waiting: number;
    }>;
    readonly inFlight: number;
  }>;
}

/**
 * Where a cluster's llama replicas are placed and how each is doing, as the admin API shows it
 * (docs/cluster.md, "Placement"): read from Redis on each admin call. The entry builds it from
 * src/cluster/'s placement store and lease.
 */
export interface ClusterPlacement {
  /** The plan's version; 0 before the first plan. */
  readonly version: number;
  /** The node holding the placement lease (the one that plans); undefined when none does. */
  readonly leaseHolder: string | undefined;
  /** Replica `index` of `deployment` runs on `nodeId`; sorted by deployment, then index. */
  readonly placements: ReadonlyArray<{
    readonly deployment: string;
    readonly index: number;
    readonly nodeId: string;
  }>;
  /** The replicas no live node can take, with the reason; sorted by deployment, then index. */
  readonly unplaced: readonly UnplacedReplica[];
  /** What each live node reports about the replicas it runs; sorted by deployment, index, node. */
  readonly reports: ReadonlyArray<{
    readonly deployment: string;
    readonly index: number;
    readonly nodeId: string;
    /** `waiting`: placed, waiting for its turn to replace an old replica in place. */
    readonly state: "starting" | "waiting" | "ready" | "failed";
    readonly reason?: string;
    /** ms since epoch, the reporting node's clock. */
    readonly reportedAt: number;
  }>;
}

export interface InferenceServicePort {
  /** Starts a request; failures before the first chunk surface from the first `next()`. */
  start(request: ServiceRequest, options?: { signal?: AbortSignal }): RequestHandle;
  /**
   * Runs a request to the end and returns the aggregate; rejects with InferenceError. `onCancel`
   * receives the request's cancel function (the gateway calls it when the client leaves; cheaper
   * than an AbortSignal per request).
   */
  complete(
    request: ServiceRequest,
    options?: { signal?: AbortSignal; onCancel?: (cancel: () => void) => void },
  ): Promise<CompletionResult>;
  /**
   * Embeds the request's inputs through the request path (routing, deadline, fallbacks, limits,
   * budget, cost, metrics: docs/api.md, "Embeddings"); rejects with InferenceError. `onCancel`
   * receives the request's cancel function, as for `complete`.
   */
  embed(
    request: EmbeddingRequest,
    options?: { signal?: AbortSignal; onCancel?: (cancel: () => void) => void },
  ): Promise<EmbeddingResult>;
  /**
   * The input tokens of `request` as its deployment counts them (a local model's tokenizer, the
   * provider's count endpoint, else the estimate, flagged `estimated`). Routed like a request, but
   * not admitted, budgeted or counted as one; rejects with InferenceError.
   */
  countTokens(request: ServiceRequest): Promise<TokenCount>;
  /** Every deployment with its state. */
  deployments(): Promise<readonly DeploymentStatus[]>;
  /** Prometheus text exposition. */
  metricsText(): Promise<string>;
}
