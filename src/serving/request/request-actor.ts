// RequestActor: one per request. Asks the coordinator for a route, reserves the budget, sends
// AddRequest to the chosen engine with an AttemptSink that forwards chunks straight to
// the client's channel, and owns the request's end: exactly one terminal outcome (completion,
// typed error or cancel), reported once to the MetricsActor. A failure before commit goes to the
// deployment's fallbacks in order, under the one request deadline.
// Request path: InferenceService → here → engine core.
// Two kinds of request run here: a chat generation (chunks stream into the client's channel) and
// an embedding request (`kind: "embed"`: one answer, no commit point, no output tokens; the
// budget estimate is its input tokens × the input price). Routing, limits, fallbacks, budget,
// cost and metrics are the same for both.

import {
  type Actor,
  type ActorContext,
  type ActorRef,
  callbackRef,
  oneForOne,
  type Props,
  props,
  stop,
} from "../../actor/index.js";
import type { ExecuteBatch } from "../../core/batch.js";
import { estimateTokens, messageText } from "../../core/batch.js";
import { type Channel, ChannelClosedError } from "../../core/channel.js";
import { costUsd, estimateCostUsd } from "../../core/cost.js";
import type { ServiceRequest } from "../../core/dialect.js";
import {
  type EmbedBatch,
  type EmbeddingRequest,
  type Embeddings,
  estimateEmbeddingTokens,
} from "../../core/embedding.js";
import { errors, type InferenceError, toInferenceError } from "../../core/inference-error.js";
import type { TokenChunk } from "../../core/token-chunk.js";
import type { EngineCommand, ResultSink } from "../../protocol/engine-messages.js";
import {
  type MetricsMessage,
  type RequestOutcome,
  unknownDeploymentLabel,
} from "../metrics/metrics-messages.js";
import { AttemptSink } from "./attempt-sink.js";
import type { BudgetDecision, BudgetMessage } from "./budget-actor.js";
import type { DeploymentPolicy } from "./deployment-policy.js";
import type { CoordinatorMessage, RouteReply, RouteResult, RouteTarget } from "./dp-coordinator-actor.js";
import { EmbedAttemptSink } from "./embed-attempt-sink.js";
import { decideOnFailure, fitsRequiredWindow } from "./fallback-rules.js";
import { localRefusal } from "./local-capabilities.js";

interface AttemptEnded {
  readonly type: "attempt-ended";
  readonly attempt: number;
  readonly error?: unknown;
}

/** Tell this to a request's actor when its client went away. */
export const clientCancelled = { type: "client-cancelled" } as const;

/**
 * Tell this to a request's actor when the server shuts down and the request did not finish within
 * the drain timeout: it ends with `unavailable` (an SSE error event after commit, else 503).
 */
export interface ServerShutdown {
  readonly type: "shutdown";
  readonly drainTimeoutMs: number;
}

/** What the InferenceService tells a request's actor. */
export type RequestControl = typeof clientCancelled | ServerShutdown;

type RequestMessage =
  /** The coordinator's answer to `route-to`, told straight to this actor. */
  | RouteReply
  | {
      readonly type: "budget-checked";
      readonly attempt: number;
      readonly decision: BudgetDecision;
      readonly target: RouteTarget;
    }
  | { readonly type: "first-token-sent"; readonly at: number }
  | AttemptEnded
  | { readonly type: "client-cancelled" }
  | ServerShutdown
  | { readonly type: "deadline" }
  | { readonly type: "engine-terminated"; readonly attempt: number };

/** A chat generation: chunks stream into the client's channel. */
export interface ChatWork {
  readonly kind?: "chat";
  readonly request: ServiceRequest;
  /** The client's channel: committed chunks, then close, or fail(InferenceError). */
  readonly output: Channel<TokenChunk>;
}

/** An embedding request: one answer (`resolve`), or `fail(InferenceError)`, or `close` (cancelled). */
export interface EmbedWork {
  readonly kind: "embed";
  readonly request: EmbeddingRequest;
  readonly output: ResultSink<Embeddings>;
}

export type RequestActorOptions = RequestActorCommon & (ChatWork | EmbedWork);

interface RequestActorCommon {
  readonly requestId: string;
  /** Aborted when the client goes away (library callers); the service also tells `clientCancelled`. */
  readonly clientSignal?: AbortSignal;
  readonly coordinator: ActorRef<CoordinatorMessage>;
  readonly metrics: ActorRef<MetricsMessage>;
  readonly budget: ActorRef<BudgetMessage>;
  readonly requestTimeoutMs: number;
  /**
   * Called when a deployment is chosen (again on a fallback), for `x-rakka-deployment`, with the
   * node whose engine runs it, for `x-rakka-node`.
   */
  readonly onRouted: (deployment: string, nodeId: string) => void;
  /** Called once, when the request has ended. */
  readonly onFinished: () => void;
}

/** One try at one deployment. */
interface Attempt {
  readonly number: number;
  readonly deployment: string;
  policy: DeploymentPolicy | undefined;
  reservationId: string | undefined;
  abort: AbortController;
  /** Where the engine writes this attempt's chunks, or its embeddings (set at dispatch). */
  sink: AttemptSink | EmbedAttemptSink | undefined;
  /** The target it was dispatched to. */
  target: RouteTarget | undefined;
  /** Targets this attempt must not be routed to (the ones that failed it before). */
  readonly exclude: readonly string[];
  /** Set on a re-route: the error of the target it replaces (what the request ends with if none is left). */
  readonly rerouteOf: InferenceError | undefined;
  /** Its cost was recorded (and its reservation settled): once per attempt. */
  charged: boolean;
}

/**
 * Failures that mean the target itself is gone (its node died, its replica stopped): before
 * commit the request is routed once more, to another replica of the same deployment.
 */
export class RequestActor implements Actor<RequestMessage> {
  readonly #context: ActorContext<RequestMessage>;
  readonly #options: RequestActorOptions;
  readonly #arrivedAt: number;
  readonly #promptTokens: number;
  /** The original deployment's policy: its fallbacks and fallback_on (not transitive). */
  #origin: DeploymentPolicy | undefined;
  readonly #tried = new Set<string>();
  #attempt: Attempt;
  #firstTokenAt: number | undefined;
  #finished = false;
  readonly #onClientAbort = () => this.#context.self.tell({ type: "client-cancelled" });

  constructor(context: ActorContext<RequestMessage>, options: RequestActorOptions) {
    this.#context = context;
    this.#options = options;
    this.#arrivedAt = context.clock.now();
    this.#promptTokens =
      options.kind === "embed"
        ? estimateEmbeddingTokens(options.request.input)
        : Math.ceil(
            options.request.messages.reduce((sum, message) => sum + messageText(message).length, 0) / 4,
          );
    this.#attempt = this.#newAttempt(0, options.request.model);
  }

  preStart(): void {
    const { clientSignal, requestTimeoutMs } = this.#options;
    if (clientSignal?.aborted) {
      this.#finish({ outcome: "cancelled" });
      return;
    }
    clientSignal?.addEventListener("abort", this.#onClientAbort, { once: true });
    this.#context.scheduleOnce(requestTimeoutMs, { type: "deadline" });
    this.#route();
  }

  receive(message: RequestMessage): void {
    if (this.#finished) return;
    switch (message.type) {
      case "routed":
      case "no-route":
        if (message.attempt === this.#attempt.number) this.#routed(message);
        return;
      case "budget-checked":
        if (message.attempt !== this.#attempt.number) return;
        if (message.decision.type === "exceeded") this.#failed(message.decision.error);
        else {
          this.#attempt.reservationId = message.decision.reservationId;
          this.#dispatch(message.target);
        }
        return;
      case "first-token-sent":
        this.#firstTokenAt = message.at;
        return;
      case "attempt-ended":
        if (message.attempt === this.#attempt.number) this.#attemptEnded(message);
        return;
      case "client-cancelled":
        this.#finish({ outcome: "cancelled" });
        return;
      case "shutdown":
        this.#finish({
          outcome: "error",
          error: errors.unavailable(
            `the server is shutting down; the request did not finish within drain_timeout_ms (${message.drainTimeoutMs} ms)`,
          ),
        });
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
        if (message.attempt === this.#attempt.number) {
          const error = errors.unavailable(`the replica serving ${this.#attempt.deployment} stopped`);
          this.#charge(this.#attempt, error);
          this.#failed(error);
        }
        return;
    }
  }

  postStop(): void {
    this.#options.clientSignal?.removeEventListener("abort", this.#onClientAbort);
    if (!this.#finished) this.#finish({ outcome: "error", error: errors.internal("request actor stopped") });
  }

  // ---- routing and fallbacks ------------------------------------------------------------------

  #newAttempt(
    number: number,
    deployment: string,
    exclude: readonly string[] = [],
    rerouteOf?: InferenceError,
  ): Attempt {
    this.#tried.add(deployment);
    return {
      number,
      deployment,
      policy: undefined,
      reservationId: undefined,
      abort: new AbortController(),
      sink: undefined,
      charged: false,
      target: undefined,
      exclude,
      rerouteOf,
    };
  }

  #route(): void {
    const { number, deployment, exclude } = this.#attempt;
    // the coordinator answers this actor directly (no ask: no reply ref, promise or timer per
    // request); the request deadline covers a coordinator that never answers
    this.#options.coordinator.tell({
      type: "route-to",
      deployment,
      attempt: number,
      ...(exclude.length > 0 ? { exclude } : {}),
      replyTo: this.#context.self as ActorRef<RouteReply>,
    });
  }

  #routed(result: RouteResult): void {
    const attempt = this.#attempt;
    attempt.policy = result.policy;
    if (attempt.number === 0) this.#origin = result.policy;
    if (result.type === "no-route") {
      // a re-route that found no other replica ends as the replaced target's failure did
      this.#failed(attempt.rerouteOf ?? result.error);
      return;
    }
    const policy = result.policy;
    const options = this.#options;
    const refusal =
      options.kind !== "embed" && policy.transport === "local"
        ? localRefusal(attempt.deployment, options.request)
        : undefined;
    if (refusal) {
      this.#failed(refusal);
      return;
    }
    if (policy.budget && policy.pricing) {
      // an embedding has no output: its estimate is its input tokens at the input price
      const maxOutputTokens = options.kind === "embed" ? 0 : (options.request.sampling.maxTokens ?? 1024);
      const estimateUsd = estimateCostUsd(this.#promptTokens, maxOutputTokens, policy.pricing);
      const { number, deployment } = attempt;
      const target = result.target;
      const budget = policy.budget;
      // No ask (its timeout could drop a late grant): the budget actor always answers, and a grant
      // for a request that has ended or moved on is released at once, so nothing leaks.
      const budgetRef = this.#options.budget;
      const self = this.#context.self;
      const replyTo = callbackRef<BudgetDecision>(`${self.path}/$budget`, (decision) => {
        if (this.#finished || this.#attempt.number !== number) {
          if (decision.type === "granted")
            budgetRef.tell({ type: "release", reservationId: decision.reservationId });
          return;
        }
        self.tell({ type: "budget-checked", attempt: number, target, decision });
      });
      budgetRef.tell({ type: "reserve", deployment, budget, estimateUsd, replyTo });
      return;
    }
    this.#dispatch(result.target);
  }

  /**
   * A failure of the current attempt: what to do is decided by the fallback rules
   * (fallback-rules.ts); here it is carried out.
   */
  #failed(error: InferenceError): void {
    const previous = this.#attempt;
    const decision = decideOnFailure(error, {
      committed: this.#firstTokenAt !== undefined,
      requested: this.#options.request.model,
      attempt: {
        deployment: previous.deployment,
        policy: previous.policy,
        hadTarget: previous.target !== undefined,
        isReroute: previous.rerouteOf !== undefined,
      },
      origin: this.#origin,
      tried: this.#tried,
      requiredWindow: this.#requiredWindow,
    });
    if (decision.type === "end") {
      this.#finish({ outcome: "error", error });
      return;
    }
    previous.sink?.abandon();
    previous.abort.abort(error);
    if (decision.type === "reroute") {
      const lost = previous.target;
      this.#context.log.info(
        {
          requestId: this.#options.requestId,
          deployment: previous.deployment,
          target: lost?.targetId,
          node: lost?.nodeId,
          reason: error.kind,
        },
        "re-routing to another replica",
      );
      this.#attempt = this.#newAttempt(
        previous.number + 1,
        previous.deployment,
        lost === undefined ? previous.exclude : [...previous.exclude, lost.targetId],
        error,
      );
      this.#route();
      return;
    }
    this.#requiredWindow = decision.requiredWindow;
    const next = decision.to;
    this.#options.metrics.tell({ type: "fallback", from: previous.deployment, to: next, reason: error.kind });
    this.#context.log.info(
      { requestId: this.#options.requestId, from: previous.deployment, to: next, reason: error.kind },
      "falling back",
    );
    this.#attempt = this.#newAttempt(previous.number + 1, next);
    this.#route();
  }

  /** For a context_length_exceeded fallback: candidates must have a larger window than this. */
  #requiredWindow = 0;

  // ---- dispatch and the attempt's end ---------------------------------------------------------

  #dispatch(target: RouteTarget): void {
    const attempt = this.#attempt;
    const policy = attempt.policy;
    if (!fitsRequiredWindow(policy, this.#requiredWindow)) {
      // a context-length fallback only goes to a larger window: skip this candidate
      this.#release(attempt);
      this.#failed(
        errors.contextLengthExceeded(
          `deployment ${attempt.deployment} has no larger context window than ${this.#requiredWindow}`,
        ),
      );
      return;
    }
    this.#options.onRouted(attempt.deployment, target.nodeId);
    attempt.target = target;
    const sent = target.ref.offer(this.#command(attempt));
    if (!sent.ok) {
      this.#release(attempt);
      this.#failed(errors.unavailable(`the replica serving ${attempt.deployment} is gone`));
      return;
    }
    this.#context.watchWith(target.ref as ActorRef<never>, {
      type: "engine-terminated",
      attempt: attempt.number,
    });
  }

  /** The engine command of `attempt` (a generation or an embedding), its sink set on the attempt. */
  #command(attempt: Attempt): EngineCommand {
    const options = this.#options;
    const self = this.#context.self;
    const number = attempt.number;
    const ended = (end: { readonly error?: unknown }) =>
      self.tell({ type: "attempt-ended", attempt: number, ...end });
    const requestId = number === 0 ? options.requestId : `${options.requestId}.${number}`;
    const deadline = this.#arrivedAt + options.requestTimeoutMs;
    if (options.kind === "embed") {
      const sink = new EmbedAttemptSink({ ended });
      attempt.sink = sink;
      const { input, dimensions, user, priority } = options.request;
      const batch: EmbedBatch = {
        requestId,
        model: attempt.deployment,
        input,
        ...(dimensions !== undefined ? { dimensions } : {}),
        ...(user !== undefined ? { user } : {}),
        priority,
        estimatedTokens: this.#promptTokens,
        deadline,
        signal: attempt.abort.signal,
      };
      return { type: "embed", request: { batch, output: sink } };
    }
    const request = options.request;
    const sink = new AttemptSink(
      options.output,
      () => this.#context.clock.now(),
      this.#firstTokenAt !== undefined,
      {
        committed: (at) => self.tell({ type: "first-token-sent", at }),
        ended,
      },
    );
    attempt.sink = sink;
    const batch: ExecuteBatch = {
      requestId,
      model: attempt.deployment,
      messages: request.messages,
      sampling: request.sampling,
      stream: request.stream,
      priority: request.priority,
      estimatedTokens: estimateTokens(request.messages, request.sampling.maxTokens),
      features: request.features,
      deadline,
      signal: attempt.abort.signal,
    };
    return { type: "add-request", request: { batch, output: sink } };
  }

  #attemptEnded(end: AttemptEnded): void {
    if (end.error instanceof ChannelClosedError) {
      this.#finish({ outcome: "cancelled" });
      return;
    }
    if (end.error !== undefined) {
      const error = toInferenceError(end.error);
      this.#charge(this.#attempt, error);
      this.#failed(error);
      return;
    }
    if (!this.#attempt.sink?.finished) {
      const error = errors.internal("the engine ended the stream without finishing it");
      this.#charge(this.#attempt, error);
      this.#finish({ outcome: "error", error });
      return;
    }
    this.#finish({ outcome: "success" });
  }

  #tokens = { input: 0, output: 0 };

  // ---- cost and budget ------------------------------------------------------------------------

  /**
   * Records what an attempt cost: the usage it reported or, for a stream that ended without usage
   * but sent content, an estimate flagged as such. Settles or releases the budget reservation.
   */
  #charge(attempt: Attempt, failure: InferenceError | "cancelled" | undefined): void {
    if (attempt.charged) return;
    attempt.charged = true;
    const seen = attempt.sink ?? { usage: undefined, contentChunks: 0 };
    let usage = seen.usage;
    let estimated = usage?.estimated === true;
    if (!usage && seen.contentChunks > 0) {
      usage = { inputTokens: this.#promptTokens, outputTokens: seen.contentChunks, estimated: true };
      estimated = true;
    }
    if (usage) {
      this.#tokens.input += usage.inputTokens;
      this.#tokens.output += usage.outputTokens;
    }
    const pricing = attempt.policy?.pricing;
    const usd = usage && pricing ? costUsd(usage, pricing) : 0;
    if (usage && !pricing && attempt.policy?.transport === "remote") {
      // no price for this model: its cost is unknown, which is not a cost of zero
      this.#options.metrics.tell({ type: "cost-unknown", deployment: attempt.deployment });
    }
    if (usage && pricing) {
      this.#options.metrics.tell({ type: "cost", deployment: attempt.deployment, usd, estimated });
      if (estimated && failure !== undefined) {
        this.#context.log.info(
          { requestId: this.#options.requestId, deployment: attempt.deployment, usd },
          "recorded an estimated cost for a stream that ended without usage",
        );
      }
    }
    if (attempt.reservationId !== undefined) {
      this.#options.budget.tell({ type: "settle", reservationId: attempt.reservationId, actualUsd: usd });
      attempt.reservationId = undefined;
    } else if (usd > 0) {
      this.#options.budget.tell({ type: "record", deployment: attempt.deployment, usd });
    }
  }

  #release(attempt: Attempt): void {
    if (attempt.reservationId === undefined) return;
    this.#options.budget.tell({ type: "release", reservationId: attempt.reservationId });
    attempt.reservationId = undefined;
  }

  // ---- the end --------------------------------------------------------------------------------

  #finish(end: { outcome: "success" | "cancelled" | "error"; error?: InferenceError }): void {
    if (this.#finished) return;
    this.#finished = true;
    const options = this.#options;
    const attempt = this.#attempt;
    attempt.sink?.abandon();
    let outcome: RequestOutcome;
    if (end.outcome === "success") {
      outcome = "success";
      this.#charge(attempt, undefined);
      if (options.kind !== "embed") options.output.close();
      else {
        const answered = attempt.sink instanceof EmbedAttemptSink ? attempt.sink.result : undefined;
        if (answered) options.output.resolve(answered);
        else options.output.fail(errors.internal("the engine ended the request without an answer"));
      }
    } else if (end.outcome === "cancelled") {
      outcome = "cancelled";
      attempt.abort.abort();
      this.#charge(attempt, "cancelled");
      if (options.kind === "embed") options.output.close();
      else options.output.cancel();
    } else {
      const error = end.error ?? errors.internal("request failed");
      outcome = error.kind;
      attempt.abort.abort(error);
      this.#charge(attempt, error);
      options.output.fail(error);
    }
    const now = this.#context.clock.now();
    this.#options.metrics.tell({
      type: "request-finished",
      deployment:
        this.#origin === undefined && outcome === "not_found" ? unknownDeploymentLabel : attempt.deployment,
      outcome,
      ...(this.#firstTokenAt !== undefined
        ? { timeToFirstTokenSeconds: (this.#firstTokenAt - this.#arrivedAt) / 1000 }
        : {}),
      e2eSeconds: (now - this.#arrivedAt) / 1000,
      interTokenSeconds: (attempt.sink?.interTokenMs ?? []).map((ms) => ms / 1000),
      inputTokens: this.#tokens.input,
      outputTokens: this.#tokens.output,
    });
    this.#options.clientSignal?.removeEventListener("abort", this.#onClientAbort);
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
