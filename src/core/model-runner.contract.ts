// The behaviour every ModelRunner must have, as one vitest suite each runtime runs (mock today,
// llama next). Call it with a factory returning a fresh runner per test and the model source
// passed to `loadWeights`. Runners on a manual clock pass `advance`, which the suite calls while
// it waits, so paced runners and load delays make progress without real time passing. Runners
// that implement `embed` or `countTokens` also run those tests.

import { afterEach, describe, expect, it } from "vitest";
import { type ExecuteBatch, estimateTokens, type Message, type SamplingParams } from "./batch.js";
import { type EmbedBatch, type EmbeddingInput, estimateEmbeddingTokens } from "./embedding.js";
import { InferenceError } from "./inference-error.js";
import type { ModelRunner } from "./model-runner.js";
import { commitsResponse, type TokenChunk } from "./token-chunk.js";

export interface ModelRunnerContractOptions {
  /** Passed to `loadWeights` and set as `batch.model`. */
  readonly model: string;
  /** Moves the runner's clock forward (manual clocks); omitted for runners on real time. */
  readonly advance?: (ms: number) => Promise<void>;
}

const advanceStepMs = 10;
const maxAdvanceSteps = 100_000;

export function modelRunnerContract(
  name: string,
  create: () => Promise<ModelRunner> | ModelRunner,
  options: ModelRunnerContractOptions,
): void {
  const { model, advance } = options;
  const runners: ModelRunner[] = [];
  let requestCounter = 0;

  /** Awaits `work`, advancing the manual clock (when given) until it settles. */
  async function settle<T>(work: Promise<T>): Promise<T> {
    if (!advance) return work;
    let done = false;
    const tracked = work.finally(() => {
      done = true;
    });
    tracked.catch(() => {});
    for (let step = 0; step < maxAdvanceSteps && !done; step++) await advance(advanceStepMs);
    return tracked;
  }

  async function loaded(): Promise<ModelRunner> {
    const runner = await create();
    runners.push(runner);
    await settle(runner.loadWeights(model));
    return runner;
  }

  function batch(
    messages: readonly Message[],
    sampling: SamplingParams,
    signal: AbortSignal = new AbortController().signal,
  ): ExecuteBatch {
    requestCounter++;
    return {
      requestId: `contract-${requestCounter}`,
      model,
      messages,
      sampling,
      stream: true,
      priority: 0,
      estimatedTokens: estimateTokens(messages, sampling.maxTokens),
      features: {},
      signal,
    };
  }

  function embedBatch(input: EmbeddingInput, signal: AbortSignal = new AbortController().signal): EmbedBatch {
    requestCounter++;
    return {
      requestId: `contract-${requestCounter}`,
      model,
      input,
      priority: 0,
      estimatedTokens: estimateEmbeddingTokens(input),
      signal,
    };
  }

  async function collect(chunks: AsyncIterable<TokenChunk>): Promise<TokenChunk[]> {
    const collected: TokenChunk[] = [];
    for await (const chunk of chunks) collected.push(chunk);
    return collected;
  }

  const hello: readonly Message[] = [{ role: "user", content: "hello world" }];

  describe(`${name} (ModelRunner contract)`, () => {
    afterEach(async () => {
      for (const runner of runners.splice(0)) await runner.dispose();
    });

    it("streams content, then exactly one final chunk carrying finishReason and usage", async () => {
      const runner = await loaded();
      const chunks = await settle(collect(runner.execute(batch(hello, { maxTokens: 4 }))));
      expect(chunks.some(commitsResponse)).toBe(true);
      const finals = chunks.filter((chunk) => chunk.finishReason !== undefined);
      expect(finals).toHaveLength(1);
      const final = chunks.at(-1);
      expect(final?.finishReason).toBeDefined();
      expect(final?.usage).toBeDefined();
      expect(chunks.filter((chunk) => chunk.usage !== undefined)).toHaveLength(1);
      const usage = final?.usage;
      expect(usage?.inputTokens).toBeGreaterThan(0);
      expect(usage?.outputTokens).toBeGreaterThanOrEqual(1);
      expect(usage?.outputTokens).toBeLessThanOrEqual(4);
    });

    it("never generates more than maxTokens, and reports length exactly when it ran out", async () => {
      const runner = await loaded();
      for (const maxTokens of [1, 3]) {
        const chunks = await settle(collect(runner.execute(batch(hello, { maxTokens }))));
        const final = chunks.at(-1);
        const outputTokens = final?.usage?.outputTokens ?? Number.NaN;
        expect(outputTokens).toBeLessThanOrEqual(maxTokens);
        if (final?.finishReason === "length") expect(outputTokens).toBe(maxTokens);
      }
    });

    it("ends without throwing and yields no content when aborted before it starts", async () => {
      const runner = await loaded();
      const controller = new AbortController();
      controller.abort();
      const chunks = await settle(collect(runner.execute(batch(hello, { maxTokens: 4 }, controller.signal))));
      expect(chunks.filter(commitsResponse)).toEqual([]);
    });

    it("ends without throwing and without a finish when aborted mid-stream", async () => {
      const runner = await loaded();
      const controller = new AbortController();
      const iterator = runner
        .execute(batch(hello, { maxTokens: 64 }, controller.signal))
        [Symbol.asyncIterator]();
      const first = await settle(iterator.next());
      expect(first.done).toBe(false);
      controller.abort();
      const rest: TokenChunk[] = [];
      for (;;) {
        const next = await settle(iterator.next());
        if (next.done) break;
        rest.push(next.value);
        expect(rest.length).toBeLessThanOrEqual(1); // at most a chunk already in flight
      }
      expect(rest.filter((chunk) => chunk.finishReason === "length")).toEqual([]);
    });

    it("completes two concurrent executes on one runner", async () => {
      const runner = await loaded();
      const [a, b] = await settle(
        Promise.all([
          collect(runner.execute(batch(hello, { maxTokens: 4 }))),
          collect(runner.execute(batch([{ role: "user", content: "good morning" }], { maxTokens: 4 }))),
        ]),
      );
      for (const chunks of [a, b]) {
        expect(chunks.some(commitsResponse)).toBe(true);
        expect(chunks.at(-1)?.finishReason).toBeDefined();
        expect(chunks.at(-1)?.usage?.outputTokens).toBeGreaterThanOrEqual(1);
      }
    });

    it("serves again after rebuildSession and a fresh loadWeights", async () => {
      const runner = await loaded();
      await settle(runner.rebuildSession(new Error("contract: simulated poison")));
      await settle(runner.loadWeights(model));
      const chunks = await settle(collect(runner.execute(batch(hello, { maxTokens: 2 }))));
      expect(chunks.at(-1)?.finishReason).toBeDefined();
    });

    it("estimates a finite, non-negative cost", async () => {
      const runner = await loaded();
      const cost = runner.estimateCostUsd(batch(hello, { maxTokens: 4 }));
      expect(Number.isFinite(cost)).toBe(true);
      expect(cost).toBeGreaterThanOrEqual(0);
    });

    it("embeds each input in order, one finite vector per input of one length, the same text alike", async () => {
      const runner = await loaded();
      if (!runner.embed) return expect(runner.embed).toBeUndefined();
      const result = await settle(runner.embed(embedBatch(["hello world", "good morning", "hello world"])));
      expect(result.vectors).toHaveLength(3);
      const [a, b, c] = result.vectors;
      expect(a?.length).toBeGreaterThan(0);
      for (const vector of result.vectors) {
        expect(vector.length).toBe(a?.length);
        expect(vector.every(Number.isFinite)).toBe(true);
      }
      expect(Array.from(c ?? [])).toEqual(Array.from(a ?? []));
      expect(Array.from(b ?? [])).not.toEqual(Array.from(a ?? []));
      expect(result.usage.inputTokens).toBeGreaterThan(0);
    });

    it("rejects an embedding aborted before it starts, with no vectors", async () => {
      const runner = await loaded();
      if (!runner.embed) return expect(runner.embed).toBeUndefined();
      const controller = new AbortController();
      controller.abort();
      await expect(settle(runner.embed(embedBatch(["hello"], controller.signal)))).rejects.toThrow();
    });

    it("refuses dimensions it cannot honour with a bad_request naming dimensions", async () => {
      const runner = await loaded();
      if (!runner.embed) return expect(runner.embed).toBeUndefined();
      const refused = await settle(runner.embed({ ...embedBatch(["hello"]), dimensions: 100_000 })).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(InferenceError);
      expect((refused as InferenceError).details).toEqual({ kind: "bad_request", field: "dimensions" });
    });

    it("counts the input tokens of messages as execute reports them", async () => {
      const runner = await loaded();
      if (!runner.countTokens) return expect(runner.countTokens).toBeUndefined();
      const count = await settle(runner.countTokens(hello));
      const chunks = await settle(collect(runner.execute(batch(hello, { maxTokens: 1 }))));
      expect(count.inputTokens).toBe(chunks.at(-1)?.usage?.inputTokens);
      expect(count.estimated).toBe(false);
    });
  });
}
