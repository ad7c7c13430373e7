// RequestActor: one per request. Asks the coordinator for a route, sends AddRequest to the chosen
// engine, runs the pump that moves chunks from the engine's channel to the client's channel, and
// owns the request's end: exactly one terminal outcome (completion, typed error or cancel),
// reported once to the MetricsActor. Request path: InferenceService → here → engine core.

import {
  type Actor,
  type ActorContext,
  type ActorRef,
  oneForOne,
  type Props,
  props,
  stop,
} from "../actor/index.js";
import type { ExecuteBatch } from "../core/batch.js";
import { estimateTokens } from "../core/batch.js";
import { Channel, ChannelClosedError } from "../core/channel.js";
import { errors, type InferenceError, toInferenceError } from "../core/inference-error.js";
import { commitsResponse, type TokenChunk, type TokenUsage } from "../core/token-chunk.js";
import type { CoordinatorMessage, RouteResult, RouteTarget } from "./dp-coordinator-actor.js";
import type { MetricsMessage, RequestOutcome } from "./metrics-messages.js";
import type { ServiceRequest } from "./service-types.js";

type RequestMessage =
  | { readonly type: "routed"; readonly result: RouteResult }
  | { readonly type: "route-failed"; readonly error: unknown }
  | { readonly type: "first-token-sent"; readonly at: number }
  | {
      readonly type: "pump-finished";
      readonly error?: unknown;
      readonly finished: boolean;
      readonly usage: TokenUsage | undefined;
      readonly interTokenMs: readonly number[];
    }
  | { readonly type: "client-cancelled" }
  | { readonly type: "deadline" }
  | { readonly type: "engine-terminated" };

export interface RequestActorOptions {
  readonly requestId: string;
  readonly request: ServiceRequest;
  /** The client's channel: committed chunks, then close, or fail(InferenceError). */
  readonly output: Channel<TokenChunk>;
  /** Aborted when the client goes away. */
  readonly clientSignal: AbortSignal;
  readonly coordinator: ActorRef<CoordinatorMessage>;
  readonly metrics: ActorRef<MetricsMessage>;
  readonly requestTimeoutMs: number;
  /** Called once the request is routed (for `x-rakka-deployment`). */
  readonly onRouted: (deployment: string) => void;
  /** Called once, when the request has ended. */
  readonly onFinished: () => void;
  readonly engineChannelCapacity?: number;
}

const ROUTE_TIMEOUT_MS = 5_000;

export class RequestActor implements Actor<RequestMessage> {
  readonly #context: ActorContext<RequestMessage>;
  readonly #options: RequestActorOptions;
  readonly #engineAbort = new AbortController();
  readonly #arrivedAt: number;
  #deployment: string;
  #target: RouteTarget | undefined;
  #firstTokenAt: number | undefined;
  #finished = false;
  readonly #onClientAbort = () => this.#context.self.tell({ type: "client-cancelled" });

  constructor(context: ActorContext<RequestMessage>, options: RequestActorOptions) {
    this.#context = context;
    this.#options = options;
    this.#arrivedAt = context.clock.now();
    this.#deployment = options.request.model;
  }

  preStart(): void {
    const { clientSignal, requestTimeoutMs, coordinator } = this.#options;
    if (clientSignal.aborted) {
      this.#finish({ outcome: "cancelled" });
      return;
    }
    clientSignal.addEventListener("abort", this.#onClientAbort, { once: true });
    this.#context.scheduleOnce(requestTimeoutMs, { type: "deadline" });
    const deployment = this.#deployment;
    this.#context.pipeToSelf(
      coordinator.ask<RouteResult>((replyTo) => ({ type: "route-to", deployment, replyTo }), {
        timeoutMs: ROUTE_TIMEOUT_MS,
      }),
      (result) =>
        result.ok ? { type: "routed", result: result.value } : { type: "route-failed", error: result.error },
    );
  }

  receive(message: RequestMessage): void {
    if (this.#finished) return;
    switch (message.type) {
      case "routed":
        this.#dispatch(message.result);
        return;
      case "route-failed":
        this.#finish({
          outcome: "error",
          error: errors.internal("the coordinator did not answer", message.error),
        });
        return;
      case "first-token-sent":
        this.#firstTokenAt = message.at;
        return;
      case "pump-finished":
        this.#pumpFinished(message);
        return;
      case "client-cancelled":
        this.#finish({ outcome: "cancelled" });
        return;
      case "deadline":
        this.#finish({
          outcome: "error",
          error: errors.timeout(
            `request exceeded the ${this.#options.requestTimeoutMs} ms deadline`,
            "request",
          ),
        });
        return;
      case "engine-terminated":
        this.#finish({
          outcome: "error",
          error: errors.unavailable(`the replica serving ${this.#deployment} stopped`),
        });
        return;
    }
  }

  postStop(): void {
    this.#options.clientSignal.removeEventListener("abort", this.#onClientAbort);
    if (!this.#finished) this.#finish({ outcome: "error", error: errors.internal("request actor stopped") });
  }

  #dispatch(result: RouteResult): void {
    if (result.type === "no-route") {
      this.#finish({ outcome: "error", error: result.error });
      return;
    }
    const { request, requestId } = this.#options;
    if (
      result.transport === "local" &&
      request.passThrough.tools !== undefined &&
      request.passThrough.tools.length > 0
    ) {
      this.#finish({
        outcome: "error",
        error: errors.badRequest(
          `tools: deployment ${this.#deployment} runs a local model, which cannot call tools`,
          "tools",
        ),
      });
      return;
    }
    this.#target = result.target;
    this.#options.onRouted(this.#deployment);
    const engineOutput = new Channel<TokenChunk>(this.#options.engineChannelCapacity ?? 32);
    const batch: ExecuteBatch = {
      requestId,
      model: request.model,
      messages: request.messages,
      sampling: request.sampling,
      stream: request.stream,
      priority: request.priority,
      estimatedTokens: estimateTokens(request.messages, request.sampling.maxTokens),
      passThrough: request.passThrough,
      deadline: this.#arrivedAt + this.#options.requestTimeoutMs,
      signal: this.#engineAbort.signal,
    };
    const sent = result.target.ref.offer({ type: "add-request", request: { batch, output: engineOutput } });
    if (!sent.ok) {
      this.#finish({
        outcome: "error",
        error: errors.unavailable(`the replica serving ${this.#deployment} is gone`),
      });
      return;
    }
    this.#context.watchWith(result.target.ref as ActorRef<never>, { type: "engine-terminated" });
    void this.#pump(engineOutput);
  }

  /** Moves chunks engine → client; tells the actor only the commit and the end. */
  async #pump(engineOutput: Channel<TokenChunk>): Promise<void> {
    const self = this.#context.self;
    const clock = this.#context.clock;
    const output = this.#options.output;
    const interTokenMs: number[] = [];
    let committed = false;
    let lastAt = 0;
    let usage: TokenUsage | undefined;
    let finished = false;
    try {
      for await (const chunk of engineOutput) {
        if (chunk.usage) usage = chunk.usage;
        if (chunk.finishReason) finished = true;
        if (!committed) {
          if (!commitsResponse(chunk) && !chunk.finishReason) continue; // empty chunks wait for content
          committed = true;
          lastAt = clock.now();
          self.tell({ type: "first-token-sent", at: lastAt });
        } else {
          const now = clock.now();
          if (commitsResponse(chunk)) {
            interTokenMs.push(now - lastAt);
            lastAt = now;
          }
        }
        if (!output.offer(chunk)) await output.push(chunk);
      }
      self.tell({ type: "pump-finished", finished, usage, interTokenMs });
    } catch (error) {
      self.tell({ type: "pump-finished", error, finished, usage, interTokenMs });
    } finally {
      engineOutput.cancel();
    }
  }

  #pumpFinished(message: Extract<RequestMessage, { type: "pump-finished" }>): void {
    if (message.error instanceof ChannelClosedError) {
      this.#finish({ outcome: "cancelled", usage: message.usage, interTokenMs: message.interTokenMs });
      return;
    }
    if (message.error !== undefined) {
      this.#finish({
        outcome: "error",
        error: toInferenceError(message.error),
        usage: message.usage,
        interTokenMs: message.interTokenMs,
      });
      return;
    }
    if (!message.finished) {
      this.#finish({
        outcome: "error",
        error: errors.internal("the engine ended the stream without finishing it"),
        interTokenMs: message.interTokenMs,
      });
      return;
    }
    this.#finish({ outcome: "success", usage: message.usage, interTokenMs: message.interTokenMs });
  }

  #finish(end: {
    outcome: "success" | "cancelled" | "error";
    error?: InferenceError;
    usage?: TokenUsage;
    interTokenMs?: readonly number[];
  }): void {
    if (this.#finished) return;
    this.#finished = true;
    const output = this.#options.output;
    let outcome: RequestOutcome;
    if (end.outcome === "success") {
      outcome = "success";
      output.close();
    } else if (end.outcome === "cancelled") {
      outcome = "cancelled";
      this.#engineAbort.abort();
      output.cancel();
    } else {
      const error = end.error ?? errors.internal("request failed");
      outcome = error.kind;
      this.#engineAbort.abort(error);
      output.fail(error);
    }
    const now = this.#context.clock.now();
    const usage = end.usage;
    this.#options.metrics.tell({
      type: "request-finished",
      deployment: this.#deployment,
      outcome,
      ...(this.#firstTokenAt !== undefined
        ? { timeToFirstTokenSeconds: (this.#firstTokenAt - this.#arrivedAt) / 1000 }
        : {}),
      e2eSeconds: (now - this.#arrivedAt) / 1000,
      interTokenSeconds: (end.interTokenMs ?? []).map((ms) => ms / 1000),
      inputTokens: usage?.inputTokens ?? 0,
      outputTokens: usage?.outputTokens ?? 0,
    });
    this.#options.clientSignal.removeEventListener("abort", this.#onClientAbort);
    this.#options.onFinished();
    void this.#context.stop();
  }
}

/** A request actor never restarts: a failure of its own ends the request (postStop reports it). */
export function requestActorProps(options: RequestActorOptions): Props<RequestMessage> {
  return props<RequestMessage>((context) => new RequestActor(context, options), {
    supervision: oneForOne(() => stop()),
  });
}
