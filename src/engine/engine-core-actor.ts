// EngineCoreActor: one per local replica. Admits requests (bounded priority queue, at most
// max_concurrent running, on_capacity_exhausted), hands admitted ones to its WorkerActor, and
// reports load to the coordinator and lifecycle to the deployment manager.
// Request path: RequestActor → (add-request) → here → WorkerActor → ContextActor → runner.

import type { Actor, ActorContext, ActorRef, Cancellable } from "../actor/index.js";
import { errors } from "../core/inference-error.js";
import type { ModelRunner } from "../core/model-runner.js";
import type { EngineCommand, EngineDeps, EngineDrained, EngineRequest } from "../protocol/engine-messages.js";
import {
  admit,
  enqueue,
  removeWaiting,
  type SchedulerLimits,
  takeExpired,
  takeRunnable,
  type WaitingEntry,
} from "./scheduler.js";
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

interface Queued {
  readonly request: EngineRequest;
  readonly arrivedAt: number;
  readonly detach: () => void;
}

export class EngineCoreActor implements Actor<EngineMessage> {
  readonly #context: ActorContext<EngineMessage>;
  readonly #options: LocalEngineOptions;
  readonly #worker: ActorRef<WorkerMessage>;
  readonly #waiting: WaitingEntry<Queued>[] = [];
  readonly #running = new Set<string>();
  readonly #drainWaiters: ActorRef<EngineDrained>[] = [];
  #seq = 0;
  #canRun = false;
  #announced = false;
  #failedReason: string | undefined;
  #queueTimer: { at: number; timer: Cancellable } | undefined;

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
  }

  receive(message: EngineMessage): void {
    switch (message.type) {
      case "add-request":
        this.#add(message.request);
        break;
      case "request-finished":
        this.#running.delete(message.requestId);
        break;
      case "request-cancelled": {
        const entry = removeWaiting(this.#waiting, message.requestId);
        entry?.item.request.output.close();
        break;
      }
      case "queue-check":
        this.#queueTimer = undefined;
        this.#expire();
        break;
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
      case "replica-failed":
        this.#fail(message.reason);
        break;
      case "drain":
        this.#drainWaiters.push(message.replyTo);
        break;
    }
    this.#dispatch();
    this.#reportLoad();
    this.#checkDrained();
  }

  postStop(): void {
    for (const entry of this.#waiting.splice(0)) {
      entry.item.detach();
      entry.item.request.output.fail(errors.unavailable(`replica ${this.#options.replicaId} stopped`));
    }
  }

  #add(request: EngineRequest): void {
    const batch = request.batch;
    if (this.#failedReason !== undefined) {
      request.output.fail(
        errors.unavailable(`deployment ${this.#options.deployment} replica failed: ${this.#failedReason}`),
      );
      return;
    }
    if (batch.signal.aborted) {
      request.output.close();
      return;
    }
    const now = this.#context.clock.now();
    const decision = admit(
      this.#options.limits,
      { running: this.#running.size, waiting: this.#waiting.length, canRun: this.#canRun },
      now,
    );
    switch (decision.type) {
      case "run":
        this.#start(request, now);
        return;
      case "refuse":
        request.output.fail(
          errors.backpressure(
            decision.reason === "queue-full"
              ? `deployment ${this.#options.deployment} is at capacity: the queue is full`
              : `deployment ${this.#options.deployment} is at capacity (${this.#options.limits.maxConcurrent} running)`,
            1000,
          ),
        );
        return;
      case "enqueue": {
        const self = this.#context.self;
        const requestId = batch.requestId;
        const onAbort = () => self.tell({ type: "request-cancelled", requestId });
        batch.signal.addEventListener("abort", onAbort, { once: true });
        enqueue(this.#waiting, {
          id: requestId,
          priority: batch.priority,
          seq: this.#seq++,
          deadline: decision.deadline,
          item: { request, arrivedAt: now, detach: () => batch.signal.removeEventListener("abort", onAbort) },
        });
        this.#armQueueTimer();
      }
    }
  }

  #start(request: EngineRequest, arrivedAt: number): void {
    const now = this.#context.clock.now();
    this.#options.deps.observer.queueTime(this.#options.deployment, (now - arrivedAt) / 1000);
    this.#running.add(request.batch.requestId);
    this.#worker.tell({ type: "execute", request });
  }

  #dispatch(): void {
    const runnable = takeRunnable(this.#options.limits, this.#waiting, {
      running: this.#running.size,
      canRun: this.#canRun,
    });
    for (const entry of runnable) {
      entry.item.detach();
      if (entry.item.request.batch.signal.aborted) {
        entry.item.request.output.close();
        continue;
      }
      this.#start(entry.item.request, entry.item.arrivedAt);
    }
  }

  #expire(): void {
    const expired = takeExpired(this.#waiting, this.#context.clock.now());
    for (const entry of expired) {
      entry.item.detach();
      entry.item.request.output.fail(
        errors.backpressure(
          `deployment ${this.#options.deployment} is at capacity: waited ${this.#options.limits.queueTimeoutMs} ms in the queue`,
          1000,
        ),
      );
    }
    this.#armQueueTimer();
  }

  /** One timer, for the earliest queue deadline. */
  #armQueueTimer(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of this.#waiting) earliest = Math.min(earliest, entry.deadline);
    if (this.#queueTimer && this.#queueTimer.at === earliest) return;
    this.#queueTimer?.timer.cancel();
    this.#queueTimer = undefined;
    if (earliest === Number.POSITIVE_INFINITY) return;
    const delay = Math.max(0, earliest - this.#context.clock.now());
    this.#queueTimer = { at: earliest, timer: this.#context.scheduleOnce(delay, { type: "queue-check" }) };
  }

  #fail(reason: string): void {
    this.#failedReason = reason;
    this.#canRun = false;
    for (const entry of this.#waiting.splice(0)) {
      entry.item.detach();
      entry.item.request.output.fail(
        errors.unavailable(`deployment ${this.#options.deployment} replica failed: ${reason}`, "failed"),
      );
    }
    this.#options.deps.lifecycle.tell({
      type: "replica-failed",
      deployment: this.#options.deployment,
      replicaId: this.#options.replicaId,
      reason,
    });
  }

  #lastReport = { running: -1, waiting: -1 };

  #reportLoad(): void {
    const running = this.#running.size;
    const waiting = this.#waiting.length;
    if (running === this.#lastReport.running && waiting === this.#lastReport.waiting) return;
    this.#lastReport = { running, waiting };
    const { deployment, replicaId, deps } = this.#options;
    deps.coordinator.tell({ type: "load-reported", deployment, targetId: replicaId, running, waiting });
    deps.observer.runningChanged(deployment, replicaId, running, waiting);
  }

  #checkDrained(): void {
    if (this.#drainWaiters.length === 0) return;
    if (this.#running.size > 0 || this.#waiting.length > 0) return;
    for (const replyTo of this.#drainWaiters.splice(0)) {
      replyTo.tell({ type: "engine-drained", replicaId: this.#options.replicaId });
    }
  }
}
