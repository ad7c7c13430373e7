// The behaviour every ModelRunner must have, as one vitest suite each runtime runs (mock today,
// llama next). Call it with a factory returning a fresh runner per test and the model source
// passed to `loadWeights`. Runners on a manual clock pass `advance`, which the suite calls while
// it waits, so paced runners and load delays make progress without real time passing.

import { afterEach, describe, expect, it } from "vitest";
import { type ExecuteBatch, estimateTokens, type Message, type SamplingParams } from "./batch.js";
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
  });
}
