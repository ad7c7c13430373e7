// ContextActor: the lower tier of the two-tier worker. Owns one ModelRunner (model + context +
// sequences) and runs admitted requests on it concurrently, writing chunks straight into each
// request's output channel. On `context_poisoned` it fails, and its supervisor rebuilds it.

import type { Actor, ActorContext, ActorRef } from "../actor/index.js";
import { ChannelClosedError } from "../core/channel.js";
import { errors, InferenceError, toInferenceError } from "../core/inference-error.js";
import type { ModelRunner } from "../core/model-runner.js";
import type { EngineRequest } from "../protocol/engine-messages.js";

export type ContextMessage =
  | { readonly type: "execute"; readonly request: EngineRequest }
  /** Internal: a generation reported the context poisoned; failing here triggers the rebuild. */
  | { readonly type: "poisoned"; readonly error: InferenceError; readonly runner: ModelRunner };

/** What the context tells its WorkerActor. */
export type ContextEvent =
  | { readonly type: "context-ready" }
  | { readonly type: "context-lost"; readonly error: unknown }
  | { readonly type: "request-finished"; readonly requestId: string };

export interface ContextOptions {
  readonly createRunner: () => ModelRunner;
  readonly modelSource: string;
  readonly worker: ActorRef<ContextEvent>;
}

interface InFlight {
  readonly request: EngineRequest;
}

export class ContextActor implements Actor<ContextMessage> {
  readonly #context: ActorContext<ContextMessage>;
  readonly #options: ContextOptions;
  readonly #inFlight = new Map<string, InFlight>();
  #runner: ModelRunner | undefined;

  constructor(context: ActorContext<ContextMessage>, options: ContextOptions) {
    this.#context = context;
    this.#options = options;
  }

  async preStart(): Promise<void> {
    const runner = this.#options.createRunner();
    this.#runner = runner;
    await runner.loadWeights(this.#options.modelSource);
    this.#options.worker.tell({ type: "context-ready" });
  }

  receive(message: ContextMessage): void {
    switch (message.type) {
      case "execute":
        this.#execute(message.request);
        return;
      case "poisoned":
        // a second report from the same (already replaced) runner must not rebuild twice
        if (message.runner === this.#runner) throw message.error;
        return;
    }
  }

  /** Runs before the rebuild: the requests running now end with the typed error. */
  async preRestart(error: unknown): Promise<void> {
    this.#options.worker.tell({ type: "context-lost", error });
    await this.#abandon(error);
  }

  async postStop(): Promise<void> {
    await this.#abandon(errors.unavailable("the model context stopped"));
  }

  async #abandon(error: unknown): Promise<void> {
    // a typed error stays as it is (a stopped replica is `unavailable`); anything else poisoned the context
    const failure =
      error instanceof InferenceError
        ? error
        : errors.contextPoisoned(`the model context failed: ${toInferenceError(error).message}`, error);
    for (const { request } of this.#inFlight.values()) request.output.fail(failure);
    this.#inFlight.clear();
    const runner = this.#runner;
    this.#runner = undefined;
    if (runner) {
      await runner.rebuildSession(error).catch(() => {});
      await runner.dispose().catch(() => {});
    }
  }

  #execute(request: EngineRequest): void {
    const runner = this.#runner;
    const requestId = request.batch.requestId;
    if (runner === undefined) {
      request.output.fail(errors.unavailable("the model context is not loaded"));
      this.#options.worker.tell({ type: "request-finished", requestId });
      return;
    }
    // no AbortController of our own: a poisoned context fails the request's output, and the
    // generation stops at its next write (or when the RequestActor aborts the batch's signal)
    const inFlight = this.#inFlight;
    inFlight.set(requestId, { request });
    const output = request.output;
    const self = this.#context.self;
    const worker = this.#options.worker;
    void (async () => {
      try {
        for await (const chunk of runner.execute(request.batch)) {
          if (!output.offer(chunk)) await output.push(chunk);
        }
        output.close();
      } catch (error) {
        if (!(error instanceof ChannelClosedError)) {
          const failure = toInferenceError(error);
          output.fail(failure);
          if (failure.kind === "context_poisoned" && inFlight.get(requestId)?.request === request) {
            self.tell({ type: "poisoned", error: failure, runner });
          }
        }
      } finally {
        if (inFlight.get(requestId)?.request === request) inFlight.delete(requestId);
        worker.tell({ type: "request-finished", requestId });
      }
    })();
  }
}
