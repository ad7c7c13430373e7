// EngineCoreActor: one per local replica. Admits requests (bounded priority queue, at most
// max_concurrent running, on_capacity_exhausted) through EngineAdmission, hands admitted ones to
// its WorkerActor, and reports load to the coordinator and lifecycle to the deployment manager.
// Request path: RequestActor → (add-request | embed) → here → WorkerActor → ContextActor → runner.
// A token count (count-tokens) skips admission: it goes straight to the context, which answers it.

import type { Actor, ActorContext, ActorRef } from "../actor/index.js";
import { errors } from "../core/inference-error.js";
import type { ModelRunner } from "../core/model-runner.js";
import { EngineAdmission, isAdmissionMessage } from "../protocol/engine-admission.js";
import type { EngineCommand, EngineDeps } from "../protocol/engine-messages.js";
import type { SchedulerLimits } from "../protocol/scheduler.js";
import { type WorkerEvent, type WorkerMessage, workerProps } from "./worker-actor.js";

export type EngineMessage =
  | EngineCommand
  | WorkerEvent
  | { readonly type: "queue-check" }
  | { readonly type: "request-cancelled"; readonly requestId: string };

export interface LocalEngineOptions {
  readonly deployment: string;
  readonly replicaId: string;
  readonly modelSource: string;
  readonly limits: SchedulerLimits;
  readonly createRunner: () => ModelRunner;
  readonly deps: EngineDeps;
}

export class EngineCoreActor implements Actor<EngineMessage> {
  readonly #context: ActorContext<EngineMessage>;
  readonly #options: LocalEngineOptions;
  readonly #worker: ActorRef<WorkerMessage>;
  readonly #admission: EngineAdmission;
  /** False while the model loads or the context is rebuilt: requests wait in the queue. */
  #canRun = false;
  #announced = false;

  constructor(context: ActorContext<EngineMessage>, options: LocalEngineOptions) {
    this.#context = context;
    this.#options = options;
    this.#worker = context.spawn(
      workerProps({
        createRunner: options.createRunner,
        modelSource: options.modelSource,
        engine: context.self as ActorRef<WorkerEvent>,
        onRebuild: () => options.deps.observer.workerRebuilt(options.deployment),
      }),
      "worker",
    );
    const self = context.self;
    this.#admission = new EngineAdmission({
      deployment: options.deployment,
      replicaId: options.replicaId,
      limits: options.limits,
      deps: options.deps,
      host: {
        now: () => context.clock.now(),
        scheduleQueueCheck: (delayMs) => context.scheduleOnce(delayMs, { type: "queue-check" }),
        requestCancelled: (requestId) => self.tell({ type: "request-cancelled", requestId }),
        start: (work) =>
          this.#worker.tell(
            work.type === "embed"
              ? { type: "embed", request: work.request }
              : { type: "execute", request: work.request },
          ),
      },
    });
  }

  receive(message: EngineMessage): void {
    const admission = this.#admission;
    if (isAdmissionMessage(message)) admission.handle(message, this.#canRun);
    else {
      switch (message.type) {
        case "context-ready":
          this.#canRun = true;
          if (!this.#announced) {
            this.#announced = true;
            this.#options.deps.lifecycle.tell({
              type: "replica-ready",
              deployment: this.#options.deployment,
              replicaId: this.#options.replicaId,
              ref: this.#context.self as ActorRef<EngineCommand>,
              maxConcurrent: this.#options.limits.maxConcurrent,
            });
          }
          break;
        case "context-lost":
          this.#canRun = false;
          break;
        case "replica-failed": {
          this.#canRun = false;
          const { deployment, replicaId } = this.#options;
          admission.failAll(
            errors.unavailable(`deployment ${deployment} replica failed: ${message.reason}`, "failed"),
          );
          this.#options.deps.lifecycle.tell({
            type: "replica-failed",
            deployment,
            replicaId,
            reason: message.reason,
          });
          break;
        }
        case "count-tokens":
          this.#worker.tell(message);
          break;
        case "force-circuit":
        case "rebuild-session":
          // remote-only commands; the manager refuses them for local deployments
          break;
      }
    }
    admission.dispatch(this.#canRun);
    admission.afterMessage();
  }

  postStop(): void {
    this.#admission.failAll(errors.unavailable(`replica ${this.#options.replicaId} stopped`));
  }
}
