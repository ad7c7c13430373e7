// The admission half of an engine core, shared by the local EngineCoreActor and the
// RemoteEngineCoreActor: the bounded priority queue, the running set, queue timeouts,
// cancellation of queued requests, load reports and drain. The host actor owns the messages and
// the work itself; this class holds the state and applies the pure scheduler steps. Generations
// and embedding requests share the queue and the max_concurrent slots.

import type { ActorRef, Cancellable } from "../actor/index.js";
import { errors, type InferenceError } from "../core/inference-error.js";
import type { EngineCommand, EngineDeps, EngineDrained } from "./engine-messages.js";
import {
  admit,
  enqueue,
  removeWaiting,
  type SchedulerLimits,
  takeExpired,
  takeRunnable,
  type WaitingEntry,
} from "./scheduler.js";

/** The work admission queues and runs: a generation or an embedding request. */
export type AdmittedWork = Extract<EngineCommand, { type: "add-request" | "embed" }>;

/** The messages every engine core handles the same way (its own internal ones included). */
export type AdmissionMessage =
  | Extract<EngineCommand, { type: "add-request" | "embed" | "drain" | "set-concurrency" }>
  | { readonly type: "request-finished"; readonly requestId: string }
  | { readonly type: "request-cancelled"; readonly requestId: string }
  | { readonly type: "queue-check" };

const admissionTypes: ReadonlySet<string> = new Set([
  "add-request",
  "embed",
  "drain",
  "set-concurrency",
  "request-finished",
  "request-cancelled",
  "queue-check",
]);

/** Whether `message` is one EngineAdmission.handle takes. */
export function isAdmissionMessage(message: { readonly type: string }): message is AdmissionMessage {
  return admissionTypes.has(message.type);
}

export interface AdmissionHost {
  now(): number;
  /** Arms a timer after which the host calls `queueCheck()` (from its own mailbox). */
  scheduleQueueCheck(delayMs: number): Cancellable;
  /** A queued request's client left; the host calls `cancelled(requestId)` from its mailbox. */
  requestCancelled(requestId: string): void;
  /** The request is admitted: start the work. */
  start(work: AdmittedWork): void;
}

interface Queued {
  readonly work: AdmittedWork;
  readonly arrivedAt: number;
  readonly detach: () => void;
}

export class EngineAdmission {
  readonly #deployment: string;
  readonly #replicaId: string;
  readonly #configured: SchedulerLimits;
  #limits: SchedulerLimits;
  readonly #deps: EngineDeps;
  readonly #host: AdmissionHost;
  readonly #waiting: WaitingEntry<Queued>[] = [];
  readonly #running = new Set<string>();
  readonly #drainWaiters: ActorRef<EngineDrained>[] = [];
  #seq = 0;
  #queueTimer: { at: number; timer: Cancellable } | undefined;
  #lastReport = { running: -1, waiting: -1 };
  #failure: InferenceError | undefined;

  constructor(options: {
    deployment: string;
    replicaId: string;
    limits: SchedulerLimits;
    deps: EngineDeps;
    host: AdmissionHost;
  }) {
    this.#deployment = options.deployment;
    this.#replicaId = options.replicaId;
    this.#configured = options.limits;
    this.#limits = options.limits;
    this.#deps = options.deps;
    this.#host = options.host;
  }

  get running(): number {
    return this.#running.size;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Applies one of the shared admission messages. */
  handle(message: AdmissionMessage, canRun: boolean): void {
    switch (message.type) {
      case "add-request":
      case "embed":
        this.add(message, canRun);
        return;
      case "request-finished":
        this.finished(message.requestId);
        return;
      case "request-cancelled":
        this.cancelled(message.requestId);
        return;
      case "queue-check":
        this.queueCheck();
        return;
      case "drain":
        this.drain(message.replyTo);
        return;
      case "set-concurrency":
        this.setConcurrencyFactor(message.factor);
        return;
    }
  }

  /** A new request: run it now, queue it, or refuse it (429 backpressure). */
  add(work: AdmittedWork, canRun: boolean): void {
    const request = work.request;
    const batch = request.batch;
    if (this.#failure) {
      request.output.fail(this.#failure);
      return;
    }
    if (batch.signal.aborted) {
      request.output.close();
      return;
    }
    const now = this.#host.now();
    const decision = admit(
      this.#limits,
      { running: this.#running.size, waiting: this.#waiting.length, canRun },
      now,
    );
    switch (decision.type) {
      case "run":
        this.#start(work, now);
        return;
      case "refuse":
        request.output.fail(
          errors.backpressure(
            decision.reason === "queue-full"
              ? `deployment ${this.#deployment} is at capacity: the queue is full`
              : `deployment ${this.#deployment} is at capacity (${this.#limits.maxConcurrent} running)`,
            1000,
          ),
        );
        return;
      case "enqueue": {
        const requestId = batch.requestId;
        const onAbort = () => this.#host.requestCancelled(requestId);
        batch.signal.addEventListener("abort", onAbort, { once: true });
        enqueue(this.#waiting, {
          id: requestId,
          priority: batch.priority,
          seq: this.#seq++,
          deadline: decision.deadline,
          item: { work, arrivedAt: now, detach: () => batch.signal.removeEventListener("abort", onAbort) },
        });
        this.#armQueueTimer();
      }
    }
  }

  /** Budget throttle: admit at most max_concurrent × factor at once (at least 1). */
  setConcurrencyFactor(factor: number): void {
    const maxConcurrent = Math.max(1, Math.floor(this.#configured.maxConcurrent * factor));
    this.#limits = { ...this.#configured, maxConcurrent };
  }

  /** The work of a running request ended (whatever the outcome). */
  finished(requestId: string): void {
    this.#running.delete(requestId);
  }

  /** A queued request's client left: it leaves the queue at once. */
  cancelled(requestId: string): void {
    const entry = removeWaiting(this.#waiting, requestId);
    if (entry) {
      entry.item.detach();
      entry.item.work.request.output.close();
      this.#armQueueTimer();
    }
  }

  /** The queue timer fired: requests past queue_timeout_ms get 429 backpressure. */
  queueCheck(): void {
    this.#queueTimer = undefined;
    for (const entry of takeExpired(this.#waiting, this.#host.now())) {
      entry.item.detach();
      entry.item.work.request.output.fail(
        errors.backpressure(
          `deployment ${this.#deployment} is at capacity: waited ${this.#limits.queueTimeoutMs} ms in the queue`,
          1000,
        ),
      );
    }
    this.#armQueueTimer();
  }

  /** Starts queued requests while slots are free and the engine can run. */
  dispatch(canRun: boolean): void {
    for (const entry of takeRunnable(this.#limits, this.#waiting, { running: this.#running.size, canRun })) {
      entry.item.detach();
      const request = entry.item.work.request;
      if (request.batch.signal.aborted) {
        request.output.close();
        continue;
      }
      this.#start(entry.item.work, entry.item.arrivedAt);
    }
    this.#armQueueTimer();
  }

  /** From now on every queued and new request fails with `error` (the replica failed or stopped). */
  failAll(error: InferenceError): void {
    this.#failure = error;
    for (const entry of this.#waiting.splice(0)) {
      entry.item.detach();
      entry.item.work.request.output.fail(error);
    }
    this.#armQueueTimer();
  }

  drain(replyTo: ActorRef<EngineDrained>): void {
    this.#drainWaiters.push(replyTo);
  }

  /** Call after every message: reports load when it changed and answers drains when idle. */
  afterMessage(): void {
    const running = this.#running.size;
    const waiting = this.#waiting.length;
    if (running !== this.#lastReport.running || waiting !== this.#lastReport.waiting) {
      this.#lastReport = { running, waiting };
      const deployment = this.#deployment;
      const replicaId = this.#replicaId;
      this.#deps.coordinator.tell({
        type: "load-reported",
        deployment,
        targetId: replicaId,
        running,
        waiting,
      });
      this.#deps.observer.runningChanged(deployment, replicaId, running, waiting);
    }
    if (this.#drainWaiters.length > 0 && running === 0 && waiting === 0) {
      for (const replyTo of this.#drainWaiters.splice(0)) {
        replyTo.tell({ type: "engine-drained", replicaId: this.#replicaId });
      }
    }
  }

  #start(work: AdmittedWork, arrivedAt: number): void {
    this.#deps.observer.queueTime(this.#deployment, (this.#host.now() - arrivedAt) / 1000);
    this.#running.add(work.request.batch.requestId);
    this.#host.start(work);
  }

  /** One timer, for the earliest queue deadline. */
  #armQueueTimer(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of this.#waiting) earliest = Math.min(earliest, entry.deadline);
    if (this.#queueTimer && this.#queueTimer.at === earliest) return;
    this.#queueTimer?.timer.cancel();
    this.#queueTimer = undefined;
    if (earliest === Number.POSITIVE_INFINITY) return;
    const delay = Math.max(0, earliest - this.#host.now());
    this.#queueTimer = { at: earliest, timer: this.#host.scheduleQueueCheck(delay) };
  }
}
