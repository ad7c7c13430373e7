// The boundary between serving and engines (local and remote): what a RequestActor hands an
// engine core, what engines report to the DpCoordinatorActor and the DeploymentManagerActor,
// and what an engine needs to be built. Both sides implement these; neither imports the other.

import type { ActorRef, Clock, Logger, Props } from "../actor/index.js";
import type { ExecuteBatch } from "../core/batch.js";
import type { ChunkSink } from "../core/channel.js";
import type { EmbedBatch, Embeddings, TokenCount } from "../core/embedding.js";
import type { CircuitStateStore, RateLimitStore } from "../core/stores/index.js";
import type { TokenChunk } from "../core/token-chunk.js";

/** One request handed to an engine core. */
export interface EngineRequest {
  readonly batch: ExecuteBatch;
  /**
   * Where the engine writes the request's chunks (the last one carries `finishReason` and
   * `usage`) and then closes; a failure is `output.fail(InferenceError)`. Exactly one of the two.
   * The RequestActor's attempt sink forwards it to the client.
   */
  readonly output: ChunkSink<TokenChunk>;
}

/**
 * Where an engine writes a unary answer (an embedding, a token count): exactly one of `resolve`,
 * `fail(InferenceError)` or `close` (the request was cancelled before it ran: no answer).
 */
export interface ResultSink<T> {
  resolve(result: T): void;
  fail(error: unknown): void;
  close(): void;
}

/** One embedding request handed to an engine core: admitted like a generation, answered once. */
export interface EmbedRequest {
  readonly batch: EmbedBatch;
  readonly output: ResultSink<Embeddings>;
}

/**
 * A token count for `batch.messages` (its sampling and features as a generation would send them).
 * Not admitted: answered at once by the runner's tokenizer or the provider's count endpoint.
 */
export interface CountTokensRequest {
  readonly batch: ExecuteBatch;
  readonly output: ResultSink<TokenCount>;
}

export type EngineCommand =
  /** RequestActor → engine core, after the coordinator routed the request here. */
  | { readonly type: "add-request"; readonly request: EngineRequest }
  /** RequestActor → engine core: an embedding request (queued and admitted like add-request). */
  | { readonly type: "embed"; readonly request: EmbedRequest }
  /** InferenceService → engine core: count tokens now, outside the admission queue. */
  | { readonly type: "count-tokens"; readonly request: CountTokensRequest }
  /**
   * DeploymentManagerActor → engine core: finish what is running and queued (new requests that
   * still arrive are served too), then reply. The manager stops the engine afterwards.
   */
  | { readonly type: "drain"; readonly replyTo: ActorRef<EngineDrained> }
  /** Budget throttle: admit at most max_concurrent × factor (at least 1) at once. */
  | { readonly type: "set-concurrency"; readonly factor: number }
  /**
   * Admin: force the replica's upstream circuit open or closed (held until `auto`). Remote engines
   * only. `done` is told once the circuit's state is stored (shared by every node in a cluster).
   */
  | {
      readonly type: "force-circuit";
      readonly state: "open" | "closed" | "auto";
      readonly done?: ActorRef<unknown>;
    }
  /** Admin: re-read the credentials and rebuild the HTTP client. Remote engines only. */
  | { readonly type: "rebuild-session" };

/** The commands that carry a request: what a peer node forwards to this node's engines. */
export type EngineWork = Extract<EngineCommand, { type: "add-request" | "embed" | "count-tokens" }>;

export interface EngineDrained {
  readonly type: "engine-drained";
  readonly replicaId: string;
}

/** Engine core → DpCoordinatorActor, whenever its running or waiting count changes. */
export interface LoadReported {
  readonly type: "load-reported";
  readonly deployment: string;
  readonly targetId: string;
  readonly running: number;
  readonly waiting: number;
}

/** Engine core → DeploymentManagerActor: the replica's lifecycle. */
export type ReplicaEvent =
  | {
      readonly type: "replica-ready";
      readonly deployment: string;
      readonly replicaId: string;
      readonly ref: ActorRef<EngineCommand>;
      readonly maxConcurrent: number;
    }
  | {
      readonly type: "replica-failed";
      readonly deployment: string;
      readonly replicaId: string;
      readonly reason: string;
    };

/** Engine-side observations for metrics (called outside any mailbox; must be cheap). */
export interface EngineObserver {
  queueTime(deployment: string, seconds: number): void;
  workerRebuilt(deployment: string): void;
  runningChanged(deployment: string, replicaId: string, running: number, waiting: number): void;
  /** One upstream attempt of a remote engine ended: HTTP status (or "none"/"cancelled") and latency. */
  upstreamAttempt(deployment: string, status: string, seconds: number): void;
  /** A remote engine retried a request. */
  retried(deployment: string): void;
  /** A remote engine's queue depth changed (requests waiting for a worker). */
  remoteQueueDepth(deployment: string, replicaId: string, depth: number): void;
  /** A remote deployment uses this circuit endpoint. */
  endpointUsed(deployment: string, endpoint: string): void;
  /** A circuit endpoint changed state. */
  circuitStateChanged(endpoint: string, state: "closed" | "open" | "half-open"): void;
  /** Share of a deployment's requests-per-minute bucket in use, at its last permit. */
  rateLimitUtilization(deployment: string, utilization: number): void;
  /** A local runtime evaluated `sequences` sequences (`tokens` tokens) in one decode step. */
  decodeStep(deployment: string, sequences: number, tokens: number): void;
}

/** What the deployment manager passes to a registry entry to build one engine replica. */
export interface EngineDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly coordinator: ActorRef<LoadReported>;
  readonly lifecycle: ActorRef<ReplicaEvent>;
  readonly observer: EngineObserver;
  /** Random numbers in [0, 1) (jitter); injected for tests. */
  readonly random: () => number;
  /** Stores shared across replicas (and, in a cluster, across nodes). */
  readonly stores: { readonly rateLimits: RateLimitStore; readonly circuits: CircuitStateStore };
  /**
   * A system-wide actor shared by every engine that names it (the rate limiter, the circuit
   * breaker): spawned at `/user/<name>` on first use, the same ref afterwards.
   */
  singleton<M>(name: string, props: () => Props<M>): ActorRef<M>;
}
