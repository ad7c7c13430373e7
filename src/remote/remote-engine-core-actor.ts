// RemoteEngineCoreActor: one per remote replica. Same admission as a local engine (bounded
// priority queue, max_concurrent, on_capacity_exhausted) through EngineAdmission; admitted
// requests go to a pool of max_concurrent RemoteWorkerActors sharing one RemoteSessionActor.
// Request path: RequestActor → (add-request | embed) → here → RemoteWorkerActor → upstream.
// A token count skips admission, the limiter and the circuit: one unary call to the provider's
// count endpoint on the session's pool (remote-count-tokens.ts), or the estimate without one.

import { createHash } from "node:crypto";
import {
  type Actor,
  type ActorContext,
  type ActorRef,
  narrowRef,
  oneForOne,
  props,
  restart,
} from "../actor/index.js";
import type { DeploymentSpec } from "../core/deployment.js";
import { errors } from "../core/inference-error.js";
import type { CircuitRecord } from "../core/stores/index.js";
import { EngineAdmission, isAdmissionMessage } from "../protocol/engine-admission.js";
import type { EngineCommand, EngineDeps } from "../protocol/engine-messages.js";
import { CircuitBreakerActor, type CircuitMessage } from "./circuit-breaker-actor.js";
import type { ProviderAdapter } from "./provider.js";
import { RateLimiterActor, type RateLimiterMessage } from "./rate-limiter-actor.js";
import { countTokensUpstream } from "./remote-count-tokens.js";
import { RemoteSessionActor, type SessionMessage } from "./remote-session-actor.js";
import { RemoteWorkerActor, type RemoteWorkerMessage } from "./remote-worker-actor.js";

export type RemoteEngineMessage =
  | EngineCommand
  | { readonly type: "request-finished"; readonly requestId: string }
  | { readonly type: "queue-check" }
  | { readonly type: "request-cancelled"; readonly requestId: string };

export interface RemoteEngineOptions {
  readonly deployment: DeploymentSpec;
  readonly replicaId: string;
  readonly adapter: ProviderAdapter;
  readonly deps: EngineDeps;
}

/** (provider, key hash, model): replicas and deployments with the same key share one bucket. */
export function limiterKey(adapter: ProviderAdapter): string {
  const key = adapter.apiKey?.loaded ? adapter.apiKey.reveal() : "";
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 16);
  return `${adapter.provider}|${hash}|${adapter.upstreamModel}`;
}

export class RemoteEngineCoreActor implements Actor<RemoteEngineMessage> {
  readonly #context: ActorContext<RemoteEngineMessage>;
  readonly #options: RemoteEngineOptions;
  readonly #admission: EngineAdmission;
  readonly #idle: ActorRef<RemoteWorkerMessage>[] = [];
  readonly #busy = new Map<string, ActorRef<RemoteWorkerMessage>>();
  readonly #session: ActorRef<SessionMessage>;
  readonly #circuitBreaker: ActorRef<CircuitMessage>;

  constructor(context: ActorContext<RemoteEngineMessage>, options: RemoteEngineOptions) {
    this.#context = context;
    this.#options = options;
    const { deployment, adapter, deps } = options;
    const maxConcurrent = deployment.serving.maxConcurrent;
    const session = context.spawn(
      props<SessionMessage>(
        (child) =>
          new RemoteSessionActor(child, {
            origin: adapter.origin,
            apiKey: adapter.apiKey,
            connections: maxConcurrent,
            ...(deployment.egressGuard ? { egressGuard: deployment.egressGuard } : {}),
          }),
      ),
      "session",
    );
    const rateLimiter = deps.singleton<RateLimiterMessage>("rate-limiter", () =>
      props((child) => new RateLimiterActor(child, deps.stores.rateLimits)),
    );
    const circuitBreaker = deps.singleton<CircuitMessage>("circuit-breaker", () =>
      props(
        (child) =>
          new CircuitBreakerActor(child, deps.stores.circuits, {
            stateChanged: (endpoint, state) => deps.observer.circuitStateChanged(endpoint, state),
          }),
      ),
    );
    this.#session = session;
    this.#circuitBreaker = circuitBreaker;
    const key = limiterKey(adapter);
    const engine = context.self as ActorRef<{
      readonly type: "request-finished";
      readonly requestId: string;
    }>;
    for (let i = 0; i < maxConcurrent; i++) {
      this.#idle.push(
        context.spawn(
          props<RemoteWorkerMessage>(
            (child) =>
              new RemoteWorkerActor(child, {
                deployment,
                adapter,
                limiterKey: key,
                session,
                rateLimiter,
                circuitBreaker,
                engine,
                observer: deps.observer,
                random: deps.random,
              }),
            { supervision: oneForOne(() => restart({ maxRetries: 100, withinMs: 60_000 })) },
          ),
          `worker-${i}`,
        ),
      );
    }
    const self = context.self;
    this.#admission = new EngineAdmission({
      deployment: deployment.name,
      replicaId: options.replicaId,
      limits: deployment.serving,
      deps,
      host: {
        now: () => context.clock.now(),
        scheduleQueueCheck: (delayMs) => context.scheduleOnce(delayMs, { type: "queue-check" }),
        requestCancelled: (requestId) => self.tell({ type: "request-cancelled", requestId }),
        start: (work) => {
          const worker = this.#idle.pop();
          const requestId = work.request.batch.requestId;
          if (!worker) {
            work.request.output.fail(errors.internal("no idle remote worker"));
            self.tell({ type: "request-finished", requestId });
            return;
          }
          this.#busy.set(requestId, worker);
          worker.tell(
            work.type === "embed"
              ? { type: "embed", request: work.request }
              : { type: "run", request: work.request },
          );
        },
      },
    });
  }

  preStart(): void {
    const { deployment, replicaId, adapter, deps } = this.#options;
    deps.observer.endpointUsed(deployment.name, adapter.endpoint);
    // nothing to load: a remote replica serves at once
    deps.lifecycle.tell({
      type: "replica-ready",
      deployment: deployment.name,
      replicaId,
      ref: this.#context.self as ActorRef<EngineCommand>,
      maxConcurrent: deployment.serving.maxConcurrent,
    });
  }

  receive(message: RemoteEngineMessage): void {
    const admission = this.#admission;
    if (message.type === "request-finished") {
      const worker = this.#busy.get(message.requestId);
      if (worker) {
        this.#busy.delete(message.requestId);
        this.#idle.push(worker);
      }
    }
    if (isAdmissionMessage(message)) admission.handle(message, true);
    else if (message.type === "force-circuit") {
      this.#circuitBreaker.tell({
        type: "force",
        endpoint: this.#options.adapter.endpoint,
        state: message.state,
        ...(message.done ? { replyTo: narrowRef<CircuitRecord, unknown>(message.done) } : {}),
      });
    } else if (message.type === "rebuild-session") this.#session.tell({ type: "rotate" });
    else if (message.type === "count-tokens") {
      const { adapter } = this.#options;
      void countTokensUpstream({
        adapter,
        session: this.#session,
        clock: this.#context.clock,
        request: message.request,
      });
    }
    admission.dispatch(true);
    admission.afterMessage();
    const { deployment, replicaId, deps } = this.#options;
    deps.observer.remoteQueueDepth(deployment.name, replicaId, admission.waiting);
  }

  postStop(): void {
    this.#admission.failAll(errors.unavailable(`replica ${this.#options.replicaId} stopped`));
  }
}
