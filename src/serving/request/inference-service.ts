// InferenceService: the one request path. The HTTP gateway and the library API both call it;
// it spawns one RequestActor per request and hands back the client's chunk channel (an embedding
// request: its one answer). A token count takes a thinner path (docs/api.md, "Embeddings",
// "Counting tokens"): the coordinator routes it like a request, and the chosen engine answers it at
// once, outside admission, budgets, fallbacks and request metrics, under the request deadline.

import { type ActorRef, type ActorSystem, systemClock } from "../../actor/index.js";
import { type ExecuteBatch, estimateTokens } from "../../core/batch.js";
import { Channel } from "../../core/channel.js";
import type { CompletionResult, ServiceRequest } from "../../core/dialect.js";
import type { EmbeddingRequest, EmbeddingResult, Embeddings, TokenCount } from "../../core/embedding.js";
import { errors, InferenceError, toInferenceError } from "../../core/inference-error.js";
import { settledWithin } from "../../core/runner-clock.js";
import { type TokenChunk, Tokens } from "../../core/token-chunk.js";
import type { ResultSink } from "../../protocol/engine-messages.js";
import type { ManagerMessage } from "../control/deployment-manager-actor.js";
import type { MetricsMessage } from "../metrics/metrics-messages.js";
import type { DeploymentStatus, InferenceServicePort, RequestHandle } from "../service-types.js";
import type { BudgetMessage } from "./budget-actor.js";
import type { CoordinatorMessage, RouteReply } from "./dp-coordinator-actor.js";
import {
  type ChatWork,
  clientCancelled,
  type EmbedWork,
  type RequestControl,
  requestActorProps,
} from "./request-actor.js";

export interface InferenceServiceOptions {
  readonly system: ActorSystem;
  readonly coordinator: ActorRef<CoordinatorMessage>;
  readonly manager: ActorRef<ManagerMessage>;
  readonly metrics: ActorRef<MetricsMessage>;
  readonly budget: ActorRef<BudgetMessage>;
  readonly requestTimeoutMs: number;
  /** Prefix of request ids (e.g. the node id), so ids are unique across a cluster. */
  readonly idPrefix?: string;
}

const ASK_TIMEOUT_MS = 10_000;
const CLIENT_CHANNEL_CAPACITY = 64;
/**
 * After the drain deadline ends the remaining requests, how long (real time) to wait for their
 * actors to write the error out: a bound, normally a few microtasks.
 */
const SHUTDOWN_GRACE_MS = 1000;

/** A request in flight, as the way to end it at shutdown. */
type InFlight = (drainTimeoutMs: number) => void;

export class InferenceService implements InferenceServicePort {
  readonly #options: InferenceServiceOptions;
  readonly #inFlight = new Set<InFlight>();
  readonly #idleWaiters: Array<() => void> = [];
  #counter = 0;
  #accepting = true;

  constructor(options: InferenceServiceOptions) {
    this.#options = options;
  }

  /** Requests started and not yet ended. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  #newRequestId(): string {
    return `${this.#options.idPrefix ?? "r"}-${(this.#counter++).toString(36)}-${Math.floor(
      Math.random() * 0xffffffff,
    ).toString(36)}`;
  }

  /**
   * Spawns the RequestActor of `work`, tracked in flight until it finishes. Returns how to cancel
   * it; when it cannot be spawned, `work.output` fails and nothing is tracked.
   */
  #spawn(
    requestId: string,
    work: ChatWork | EmbedWork,
    signal: AbortSignal | undefined,
    onRouted: (deployment: string, nodeId: string) => void,
  ): () => void {
    let actor: ActorRef<RequestControl> | undefined;
    // a cancel is one message to the request's actor (no AbortController per request here)
    const cancelRequest = () => actor?.tell(clientCancelled);
    const entry: InFlight = (drainTimeoutMs) => actor?.tell({ type: "shutdown", drainTimeoutMs });
    const done = () => {
      this.#inFlight.delete(entry);
      if (this.#inFlight.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    };
    this.#inFlight.add(entry);
    const { system, coordinator, metrics, budget, requestTimeoutMs } = this.#options;
    try {
      actor = system.spawn(
        requestActorProps({
          ...work,
          requestId,
          ...(signal ? { clientSignal: signal } : {}),
          coordinator,
          metrics,
          budget,
          requestTimeoutMs,
          onRouted,
          onFinished: done,
        }),
        `request-${requestId}`,
      ) as ActorRef<RequestControl>;
    } catch (error) {
      done();
      work.output.fail(errors.unavailable(`cannot start the request: ${(error as Error).message}`));
    }
    return cancelRequest;
  }

  start(request: ServiceRequest, options: { signal?: AbortSignal } = {}): RequestHandle {
    const requestId = this.#newRequestId();
    const output = new Channel<TokenChunk>(CLIENT_CHANNEL_CAPACITY);
    if (!this.#accepting) {
      output.fail(errors.unavailable("the server is shutting down"));
      return {
        requestId,
        chunks: output,
        servedBy: () => undefined,
        servedOn: () => undefined,
        cancel: () => {},
      };
    }
    let servedBy: string | undefined;
    let servedOn: string | undefined;
    const cancelRequest = this.#spawn(
      requestId,
      { request, output },
      options.signal,
      (deployment, nodeId) => {
        servedBy = deployment;
        servedOn = nodeId;
      },
    );
    const chunks: AsyncIterable<TokenChunk> = {
      [Symbol.asyncIterator]: () => ({
        next: () => output.next(),
        return: () => {
          // leaving the loop early is a cancel
          cancelRequest();
          output.cancel();
          return Promise.resolve({ value: undefined, done: true });
        },
      }),
    };
    return {
      requestId,
      chunks,
      servedBy: () => servedBy,
      servedOn: () => servedOn,
      cancel: cancelRequest,
    };
  }

  async complete(
    request: ServiceRequest,
    options: { signal?: AbortSignal; onCancel?: (cancel: () => void) => void } = {},
  ): Promise<CompletionResult> {
    const handle = this.start(
      { ...request, stream: false },
      options.signal ? { signal: options.signal } : {},
    );
    options.onCancel?.(handle.cancel);
    const tokens = new Tokens();
    for await (const chunk of handle.chunks) tokens.append(chunk);
    if (tokens.finishReason === undefined) {
      // the iteration ended without a final chunk: the request was cancelled
      throw new InferenceError({ kind: "internal" }, "request cancelled before it finished");
    }
    return {
      requestId: handle.requestId,
      deployment: handle.servedBy() ?? request.model,
      ...(handle.servedOn() !== undefined ? { node: handle.servedOn() as string } : {}),
      text: tokens.text,
      toolCalls: tokens.toolCalls.filter((call) => call !== undefined),
      finishReason: tokens.finishReason,
      usage: tokens.usage ?? { inputTokens: 0, outputTokens: 0, estimated: true },
      ...(tokens.refusal !== undefined ? { refusal: tokens.refusal } : {}),
      ...(tokens.reasoning !== undefined ? { reasoning: tokens.reasoning } : {}),
      ...(tokens.reasoningBlocks.length > 0 ? { reasoningBlocks: tokens.reasoningBlocks } : {}),
    };
  }

  embed(
    request: EmbeddingRequest,
    options: { signal?: AbortSignal; onCancel?: (cancel: () => void) => void } = {},
  ): Promise<EmbeddingResult> {
    const requestId = this.#newRequestId();
    if (!this.#accepting) return Promise.reject(errors.unavailable("the server is shutting down"));
    return new Promise<EmbeddingResult>((resolve, reject) => {
      let servedBy: string | undefined;
      let servedOn: string | undefined;
      const output: ResultSink<Embeddings> = {
        resolve: (embeddings) =>
          resolve({
            requestId,
            deployment: servedBy ?? request.model,
            ...(servedOn !== undefined ? { node: servedOn } : {}),
            ...embeddings,
          }),
        fail: (error) => reject(toInferenceError(error)),
        close: () => reject(new InferenceError({ kind: "internal" }, "request cancelled before it finished")),
      };
      const cancel = this.#spawn(
        requestId,
        { kind: "embed", request, output },
        options.signal,
        (deployment, nodeId) => {
          servedBy = deployment;
          servedOn = nodeId;
        },
      );
      options.onCancel?.(cancel);
    });
  }

  async countTokens(request: ServiceRequest): Promise<TokenCount> {
    if (!this.#accepting) throw errors.unavailable("the server is shutting down");
    const { coordinator, system, requestTimeoutMs } = this.#options;
    const route = await coordinator.ask<RouteReply>(
      (replyTo) => ({ type: "route-to", deployment: request.model, uncounted: true, replyTo }),
      { timeoutMs: ASK_TIMEOUT_MS },
    );
    if (route.type === "no-route") throw route.error;
    const abort = new AbortController();
    const clock = system.clock;
    const batch: ExecuteBatch = {
      requestId: this.#newRequestId(),
      model: request.model,
      messages: request.messages,
      sampling: request.sampling,
      stream: false,
      priority: request.priority,
      estimatedTokens: estimateTokens(request.messages, request.sampling.maxTokens),
      features: request.features,
      deadline: clock.now() + requestTimeoutMs,
      signal: abort.signal,
    };
    return new Promise<TokenCount>((resolve, reject) => {
      let settled = false;
      const settle = (end: () => void) => {
        if (settled) return;
        settled = true;
        cancelTimer();
        this.#inFlight.delete(entry);
        if (this.#inFlight.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
        end();
      };
      const stop = (error: InferenceError) =>
        settle(() => {
          abort.abort(error);
          reject(error);
        });
      const entry: InFlight = () => stop(errors.unavailable("the server is shutting down"));
      this.#inFlight.add(entry);
      const cancelTimer = clock.setTimer(requestTimeoutMs, () =>
        stop(errors.timeout(`token count exceeded the ${requestTimeoutMs} ms deadline`, "request")),
      );
      const output: ResultSink<TokenCount> = {
        resolve: (count) => settle(() => resolve(count)),
        fail: (error) => settle(() => reject(toInferenceError(error))),
        close: () => stop(errors.internal("the token count was cancelled before it finished")),
      };
      const sent = route.target.ref.offer({ type: "count-tokens", request: { batch, output } });
      if (!sent.ok) output.fail(errors.unavailable(`the replica serving ${request.model} is gone`));
    });
  }

  deployments(): Promise<readonly DeploymentStatus[]> {
    return this.#options.manager.ask<readonly DeploymentStatus[]>((replyTo) => ({ type: "list", replyTo }), {
      timeoutMs: ASK_TIMEOUT_MS,
    });
  }

  metricsText(): Promise<string> {
    return this.#options.metrics.ask<string>((replyTo) => ({ type: "scrape", replyTo }), {
      timeoutMs: ASK_TIMEOUT_MS,
    });
  }

  /** Refuses new requests from now on (they get 503 `unavailable`). */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /**
   * Resolves when no request is in flight, or after `timeoutMs` (on the injected clock): then the
   * rest end with `unavailable` (the server is shutting down), and it resolves once they have
   * ended (bounded by a short real-time grace). `ended`: how many the deadline ended.
   */
  async drain(timeoutMs: number): Promise<{ ended: number }> {
    if (this.#inFlight.size === 0) return { ended: 0 };
    if (timeoutMs > 0 && (await settledWithin(this.#options.system.clock, timeoutMs, this.#whenIdle()))) {
      return { ended: 0 };
    }
    const remaining = [...this.#inFlight];
    for (const shutdown of remaining) shutdown(timeoutMs);
    // each actor fails its client's channel before it reports the end: wait for that (real time, a
    // bound only: normally a few microtasks), so the errors are written before anything stops
    await settledWithin(systemClock, SHUTDOWN_GRACE_MS, this.#whenIdle());
    return { ended: remaining.length };
  }

  #whenIdle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }
}
