// ContextActor: the lower tier of the two-tier worker. Owns one ModelRunner (model + context +
// sequences) and runs admitted requests on it concurrently, writing chunks straight into each
// request's output channel. On `context_poisoned` it fails, and its supervisor rebuilds it.
// Embedding requests run one at a time, on the runner's own embedding context (one cancelled while
// it waits is answered and frees its slot at once); token counts are answered as they come, by the
// runner's tokenizer or the estimate.

import type { Actor, ActorContext, ActorRef } from "../actor/index.js";
import { estimateTokens } from "../core/batch.js";
import { ChannelClosedError } from "../core/channel.js";
import type { TokenCount } from "../core/embedding.js";
import { errors, InferenceError, toInferenceError } from "../core/inference-error.js";
import type { ModelRunner } from "../core/model-runner.js";
import type { CountTokensRequest, EmbedRequest, EngineRequest } from "../protocol/engine-messages.js";

export type ContextMessage =
  | { readonly type: "execute"; readonly request: EngineRequest }
  | { readonly type: "embed"; readonly request: EmbedRequest }
  | { readonly type: "count-tokens"; readonly request: CountTokensRequest }
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
  /** Embedding requests admitted and not yet answered (the running one first). */
  readonly #embeds = new Set<EmbedRequest>();
  /** The embedding calls, chained: each starts when the one before it settled. */
  #embedChain: Promise<void> = Promise.resolve();
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
      case "embed":
        this.#embed(message.request);
        return;
      case "count-tokens":
        this.#countTokens(message.request);
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
    for (const request of this.#embeds) request.output.fail(failure);
    this.#embeds.clear();
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

  #embed(request: EmbedRequest): void {
    const runner = this.#runner;
    const { batch, output } = request;
    const worker = this.#options.worker;
    const finished = () => worker.tell({ type: "request-finished", requestId: batch.requestId });
    if (runner === undefined) {
      output.fail(errors.unavailable("the model context is not loaded"));
      finished();
      return;
    }
    const embed = runner.embed?.bind(runner);
    if (!embed) {
      output.fail(
        errors.badRequest(`deployment ${batch.model} (runtime ${runner.runtimeKind}) cannot embed`, "model"),
      );
      finished();
      return;
    }
    const embeds = this.#embeds;
    const self = this.#context.self;
    embeds.add(request);
    // cancelled while it waits behind another embedding: answered and its slot freed at once
    let released = false;
    const onAbort = () => {
      if (!embeds.delete(request)) return;
      released = true;
      output.close();
      finished();
    };
    batch.signal.addEventListener("abort", onAbort, { once: true });
    this.#embedChain = this.#embedChain.then(async () => {
      batch.signal.removeEventListener("abort", onAbort);
      if (released) return;
      // failed meanwhile (the context was lost): already answered
      if (!embeds.has(request)) return finished();
      if (batch.signal.aborted) {
        embeds.delete(request);
        output.close();
        return finished();
      }
      try {
        const result = await embed(batch);
        if (embeds.delete(request)) {
          if (batch.signal.aborted) output.close();
          else output.resolve(result);
        }
      } catch (error) {
        const failure = toInferenceError(error);
        if (embeds.delete(request)) {
          if (batch.signal.aborted) output.close();
          else output.fail(failure);
        }
        if (failure.kind === "context_poisoned" && runner === this.#runner) {
          self.tell({ type: "poisoned", error: failure, runner });
        }
      }
      finished();
    });
  }

  #countTokens(request: CountTokensRequest): void {
    const runner = this.#runner;
    const { batch, output } = request;
    if (runner === undefined) {
      output.fail(errors.unavailable("the model context is not loaded"));
      return;
    }
    const estimate: TokenCount = { inputTokens: estimateTokens(batch.messages, 0), estimated: true };
    if (!runner.countTokens) {
      output.resolve(estimate);
      return;
    }
    runner.countTokens(batch.messages).then(
      (count) => output.resolve(count),
      (error: unknown) => output.fail(toInferenceError(error)),
    );
  }
}
