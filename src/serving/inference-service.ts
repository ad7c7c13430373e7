// InferenceService: the one request path. The HTTP gateway and the library API both call it;
// it spawns one RequestActor per request and hands back the client's chunk channel.

import type { ActorRef, ActorSystem } from "../actor/index.js";
import { Channel } from "../core/channel.js";
import { errors, InferenceError } from "../core/inference-error.js";
import { type TokenChunk, Tokens } from "../core/token-chunk.js";
import type { BudgetMessage } from "./budget-actor.js";
import type { ManagerMessage } from "./deployment-manager-actor.js";
import type { CoordinatorMessage } from "./dp-coordinator-actor.js";
import type { MetricsMessage } from "./metrics-messages.js";
import { clientCancelled, requestActorProps } from "./request-actor.js";
import type {
  CompletionResult,
  DeploymentStatus,
  InferenceServicePort,
  RequestHandle,
  ServiceRequest,
} from "./service-types.js";

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

export class InferenceService implements InferenceServicePort {
  readonly #options: InferenceServiceOptions;
  readonly #inFlight = new Set<() => void>();
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

  start(request: ServiceRequest, options: { signal?: AbortSignal } = {}): RequestHandle {
    const requestId = `${this.#options.idPrefix ?? "r"}-${(this.#counter++).toString(36)}-${Math.floor(
      Math.random() * 0xffffffff,
    ).toString(36)}`;
    const output = new Channel<TokenChunk>(CLIENT_CHANNEL_CAPACITY);
    if (!this.#accepting) {
      output.fail(errors.unavailable("the server is shutting down"));
      return { requestId, chunks: output, servedBy: () => undefined, cancel: () => {} };
    }
    let servedBy: string | undefined;
    let actor: ActorRef<typeof clientCancelled> | undefined;
    // a cancel is one message to the request's actor (no AbortController per request here)
    const cancelRequest = () => actor?.tell(clientCancelled);
    const done = () => {
      this.#inFlight.delete(cancelRequest);
      if (this.#inFlight.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    };
    this.#inFlight.add(cancelRequest);
    const { system, coordinator, metrics, budget, requestTimeoutMs } = this.#options;
    try {
      actor = system.spawn(
        requestActorProps({
          requestId,
          request,
          output,
          ...(options.signal ? { clientSignal: options.signal } : {}),
          coordinator,
          metrics,
          budget,
          requestTimeoutMs,
          onRouted: (deployment) => {
            servedBy = deployment;
          },
          onFinished: done,
        }),
        `request-${requestId}`,
      ) as ActorRef<typeof clientCancelled>;
    } catch (error) {
      done();
      output.fail(errors.unavailable(`cannot start the request: ${(error as Error).message}`));
    }
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
    return { requestId, chunks, servedBy: () => servedBy, cancel: cancelRequest };
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
      text: tokens.text,
      toolCalls: tokens.toolCalls.filter((call) => call !== undefined),
      finishReason: tokens.finishReason,
      usage: tokens.usage ?? { inputTokens: 0, outputTokens: 0, estimated: true },
      ...(tokens.refusal !== undefined ? { refusal: tokens.refusal } : {}),
    };
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

  /** Resolves when no request is in flight, or after `timeoutMs` (then cancels the rest). */
  async drain(timeoutMs: number): Promise<{ cancelled: number }> {
    if (this.#inFlight.size === 0) return { cancelled: 0 };
    if (timeoutMs <= 0) return this.#cancelAll();
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    let timedOut = false;
    let cancelTimer = () => {};
    const timeout = new Promise<void>((resolve) => {
      cancelTimer = this.#options.system.clock.setTimer(timeoutMs, () => {
        timedOut = true;
        resolve();
      });
    });
    await Promise.race([idle, timeout]);
    cancelTimer();
    return timedOut ? this.#cancelAll() : { cancelled: 0 };
  }

  #cancelAll(): { cancelled: number } {
    const remaining = [...this.#inFlight];
    for (const cancel of remaining) cancel();
    return { cancelled: remaining.length };
  }
}
