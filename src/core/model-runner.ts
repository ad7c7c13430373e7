// The contract every local runtime implements (llama, mock). The engine's ContextActor owns one
// runner and calls `execute` once per admitted request; chunks flow straight to the response.
// Runners that embed or count tokens also implement `embed` and `countTokens`.

import type { ExecuteBatch, Message } from "./batch.js";
import type { EmbedBatch, Embeddings, TokenCount } from "./embedding.js";
import type { RuntimeKind, TransportKind } from "./runtime-kind.js";
import type { TokenChunk } from "./token-chunk.js";

export interface RateLimits {
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
}

export interface ModelRunner {
  readonly runtimeKind: RuntimeKind;
  readonly transportKind: TransportKind;
  /** Provider limits, when the runtime has any. */
  readonly rateLimits?: RateLimits;
  /**
   * Called by the ContextActor before the first request (and after a rebuild). Rejects with an
   * InferenceError when the model cannot be loaded (the replica then fails with that reason).
   */
  loadWeights(source: string): Promise<void>;
  /**
   * Called by the ContextActor once per admitted request. Yields deltas; the final chunk carries
   * `finishReason` and `usage`. Failures are thrown as InferenceError, never yielded; an abort of
   * `batch.signal` ends the iteration promptly and frees the slot.
   */
  execute(batch: ExecuteBatch): AsyncIterable<TokenChunk>;
  /**
   * Called by the ContextActor once per admitted embedding request: one vector per input, in input
   * order, with the input tokens. Failures are thrown as InferenceError (a field the model cannot
   * honour is a `bad_request` naming it); an abort of `batch.signal` rejects promptly. Absent: the
   * runtime cannot embed (the engine answers 400 naming the deployment).
   */
  embed?(batch: EmbedBatch): Promise<Embeddings>;
  /**
   * The input tokens `messages` make for this model, as `execute` would count them. Absent: the
   * engine answers the estimate of src/core/batch.ts, flagged `estimated`.
   */
  countTokens?(messages: readonly Message[]): Promise<TokenCount>;
  /**
   * Called by the ContextActor after `context_poisoned`: drops the poisoned state so the next
   * `loadWeights` starts clean. Must not throw.
   */
  rebuildSession(cause: unknown): Promise<void>;
  /** Cost of a request in USD (0 for local runtimes). */
  estimateCostUsd(batch: ExecuteBatch): number;
  /** Frees everything (model, context); called when the replica stops. */
  dispose(): Promise<void>;
}
