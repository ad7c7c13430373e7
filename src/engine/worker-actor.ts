// WorkerActor: the stable upper tier of the two-tier worker. Never restarted itself; it owns the
// ContextActor child, rebuilds it on `context_poisoned` (at most 3 times within 60 s), and
// reports readiness, rebuilds and permanent failure to its EngineCoreActor.

import { describe } from "../actor/errors.js";
import {
  type Actor,
  type ActorContext,
  type ActorRef,
  oneForOne,
  props,
  restart,
  resume,
  type Signal,
  stop,
} from "../actor/index.js";
import { InferenceError } from "../core/inference-error.js";
import type { ModelRunner } from "../core/model-runner.js";
import type { CountTokensRequest, EmbedRequest, EngineRequest } from "../protocol/engine-messages.js";
import { ContextActor, type ContextEvent, type ContextMessage } from "./context-actor.js";

export type WorkerMessage =
  | ContextEvent
  | { readonly type: "execute"; readonly request: EngineRequest }
  | { readonly type: "embed"; readonly request: EmbedRequest }
  | { readonly type: "count-tokens"; readonly request: CountTokensRequest };

/** What the worker tells its engine core. */
export type WorkerEvent = ContextEvent | { readonly type: "replica-failed"; readonly reason: string };

export interface WorkerOptions {
  readonly createRunner: () => ModelRunner;
  readonly modelSource: string;
  readonly engine: ActorRef<WorkerEvent>;
  readonly onRebuild: () => void;
  /** Rebuilds allowed within `rebuildWindowMs` before the replica fails (default 3 in 60 s). */
  readonly maxRebuilds?: number;
  readonly rebuildWindowMs?: number;
}

/** Only a poisoned context is rebuilt; any other failure (e.g. the model cannot load) is final. */
export function contextDecider(maxRebuilds: number, windowMs: number) {
  return (error: unknown) =>
    error instanceof InferenceError && error.kind === "context_poisoned"
      ? restart({ maxRetries: maxRebuilds, withinMs: windowMs })
      : stop();
}

export class WorkerActor implements Actor<WorkerMessage> {
  readonly #options: WorkerOptions;
  readonly #contextRef: ActorRef<ContextMessage>;

  constructor(context: ActorContext<WorkerMessage>, options: WorkerOptions) {
    this.#options = options;
    const worker = context.self as ActorRef<ContextEvent>;
    this.#contextRef = context.spawn(
      props<ContextMessage>(
        (child) =>
          new ContextActor(child, {
            createRunner: options.createRunner,
            modelSource: options.modelSource,
            worker,
          }),
        {
          supervision: oneForOne(contextDecider(options.maxRebuilds ?? 3, options.rebuildWindowMs ?? 60_000)),
        },
      ),
      "context",
    );
  }

  receive(message: WorkerMessage): void {
    switch (message.type) {
      case "execute":
      case "embed":
      case "count-tokens":
        this.#contextRef.tell(message);
        return;
      case "context-lost":
        this.#options.onRebuild();
        this.#options.engine.tell(message);
        return;
      case "context-ready":
      case "request-finished":
        this.#options.engine.tell(message);
        return;
    }
  }

  onSignal(signal: Signal): void {
    if (signal.type === "child-failed") {
      this.#options.engine.tell({ type: "replica-failed", reason: describe(signal.error) });
    }
  }
}

export function workerProps(options: WorkerOptions) {
  // the stable tier: a failure of its own never restarts it
  return props<WorkerMessage>((context) => new WorkerActor(context, options), {
    supervision: oneForOne(() => resume()),
  });
}
