import { describe, expect, it } from "vitest";
import type { ExecuteBatch, Message, SamplingParams } from "../../core/batch.js";
import type { EmbedBatch } from "../../core/embedding.js";
import { InferenceError } from "../../core/inference-error.js";
import { modelRunnerContract } from "../../core/model-runner.contract.js";
import type { TokenChunk } from "../../core/token-chunk.js";
import { flushMicrotasks, ManualClock } from "../../testkit/manual-clock.js";
import { type MockConfig, mockConfigSchema } from "./mock-config.js";
import {
  MockRunner,
  mockEmbedding,
  mockEmbeddingDimensions,
  mockMaxEmbeddingDimensions,
  mockRunnerFactory,
} from "./mock-runner.js";

function config(table: Record<string, unknown> = {}): MockConfig {
  return mockConfigSchema.parse(table);
}

modelRunnerContract("MockRunner", () => new MockRunner({ config: config(), clock: new ManualClock(0) }), {
  model: "mock",
});

let pacedClock = new ManualClock(0);
modelRunnerContract(
  "MockRunner paced on a manual clock",
  () => {
    pacedClock = new ManualClock(0);
    return new MockRunner({
      config: config({ tokens_per_second: 50, load_delay_ms: 250 }),
      clock: pacedClock,
    });
  },
  { model: "mock", advance: (ms) => pacedClock.advance(ms) },
);

function batch(
  prompt: string | readonly Message[],
  sampling: SamplingParams = {},
  signal: AbortSignal = new AbortController().signal,
): ExecuteBatch {
  const messages: readonly Message[] =
    typeof prompt === "string" ? [{ role: "user", content: prompt }] : prompt;
  return {
    requestId: "r1",
    model: "mock",
    messages,
    sampling,
    stream: true,
    priority: 0,
    estimatedTokens: 0,
    features: {},
    signal,
  };
}

async function collect(chunks: AsyncIterable<TokenChunk>): Promise<TokenChunk[]> {
  const collected: TokenChunk[] = [];
  for await (const chunk of chunks) collected.push(chunk);
  return collected;
}

function texts(chunks: readonly TokenChunk[]): string[] {
  return chunks.filter((chunk) => chunk.finishReason === undefined).map((chunk) => chunk.text);
}

/** Runs `work` to completion and returns the InferenceError it rejected with. */
async function failure(work: Promise<unknown>): Promise<InferenceError> {
  const error = await work.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(InferenceError);
  return error as InferenceError;
}

/** Starts consuming in the background; `chunks` fills as they arrive. */
function consume(iterable: AsyncIterable<TokenChunk>): { chunks: TokenChunk[]; done: Promise<void> } {
  const chunks: TokenChunk[] = [];
  const done = (async () => {
    for await (const chunk of iterable) chunks.push(chunk);
  })();
  return { chunks, done };
}

describe("MockRunner", () => {
  const unpaced = () => new MockRunner({ config: config(), clock: new ManualClock(0) });

  it("is a local mock runtime that costs nothing", () => {
    const runner = unpaced();
    expect(runner.runtimeKind).toBe("mock");
    expect(runner.transportKind).toEqual({ type: "local" });
    expect(runner.estimateCostUsd(batch("a b"))).toBe(0);
  });

  it("cycles the words of the prompt, one chunk per token, until max tokens, then finishes with length", async () => {
    const chunks = await collect(unpaced().execute(batch("a b c", { maxTokens: 5 })));
    expect(texts(chunks)).toEqual(["a", " b", " c", " a", " b"]);
    expect(chunks.at(-1)).toEqual({
      text: "",
      finishReason: "length",
      usage: { inputTokens: 3, outputTokens: 5 },
    });
  });

  it("generates 16 tokens when the request sets no max tokens", async () => {
    const chunks = await collect(unpaced().execute(batch("x")));
    expect(texts(chunks)).toHaveLength(16);
    expect(chunks.at(-1)?.finishReason).toBe("length");
  });

  it("takes the words of the last user message, splitting on any whitespace, and counts input words of all messages", async () => {
    const messages: Message[] = [
      { role: "system", content: "be brief" },
      { role: "user", content: "first question" },
      { role: "assistant", content: "an answer here" },
      {
        role: "user",
        content: [
          { type: "text", text: "  red\tgreen" },
          { type: "image", source: { kind: "base64", mediaType: "image/png", data: "AAAA" } },
          { type: "text", text: "blue\n" },
        ],
      },
      { role: "tool", content: "tool output", toolCallId: "t1" },
    ];
    const chunks = await collect(unpaced().execute(batch(messages, { maxTokens: 4 })));
    expect(texts(chunks)).toEqual(["red", " green", " blue", " red"]);
    expect(chunks.at(-1)?.usage).toEqual({ inputTokens: 2 + 2 + 3 + 3 + 2, outputTokens: 4 });
  });

  it("yields no tokens and finishes with stop when the last user message has no words", async () => {
    for (const prompt of ["", "   \n\t", [{ role: "system", content: "no user turn" }] as const]) {
      const chunks = await collect(unpaced().execute(batch(prompt)));
      expect(chunks).toHaveLength(1);
      expect(chunks[0]?.text).toBe("");
      expect(chunks[0]?.finishReason).toBe("stop");
      expect(chunks[0]?.usage?.outputTokens).toBe(0);
    }
  });

  it("ends at a stop string matched across tokens, without emitting it, and finishes with stop", async () => {
    const chunks = await collect(unpaced().execute(batch("alpha beta gamma", { stop: ["a be"] })));
    // "alpha" is held back on its trailing "a", then " beta" completes "a be".
    expect(texts(chunks)).toEqual(["alph"]);
    expect(chunks.at(-1)).toEqual({
      text: "",
      finishReason: "stop",
      usage: { inputTokens: 3, outputTokens: 1 },
    });
  });

  it("does not count a token that lies wholly inside the stop string", async () => {
    const chunks = await collect(unpaced().execute(batch("one two three", { stop: [" two"] })));
    expect(texts(chunks)).toEqual(["one"]);
    expect(chunks.at(-1)?.usage?.outputTokens).toBe(1);
  });

  it("releases held-back text when the stop string never completes", async () => {
    const chunks = await collect(unpaced().execute(batch("a b", { maxTokens: 3, stop: ["a c"] })));
    expect(texts(chunks).join("")).toBe("a b a");
    expect(chunks.at(-1)?.finishReason).toBe("length");
    expect(chunks.at(-1)?.usage?.outputTokens).toBe(3);
  });

  it("yields to the event loop while generating many unpaced tokens", async () => {
    let immediates = 0;
    let ticking = true;
    const tick = () => {
      immediates++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const chunks = await collect(unpaced().execute(batch("w", { maxTokens: 64 * 10 })));
    ticking = false;
    expect(texts(chunks)).toHaveLength(640);
    expect(immediates).toBeGreaterThanOrEqual(9);
  });

  describe("pacing on the injected clock", () => {
    it("emits one token per 1000 / tokens_per_second ms", async () => {
      const clock = new ManualClock(0);
      const runner = new MockRunner({ config: config({ tokens_per_second: 10 }), clock });
      const run = consume(runner.execute(batch("a b c", { maxTokens: 3 })));
      await clock.advance(0);
      expect(run.chunks).toHaveLength(0);
      await clock.advance(99);
      expect(run.chunks).toHaveLength(0);
      await clock.advance(1);
      expect(texts(run.chunks)).toEqual(["a"]);
      await clock.advance(100);
      expect(texts(run.chunks)).toEqual(["a", " b"]);
      await clock.advance(100);
      await run.done;
      expect(texts(run.chunks)).toEqual(["a", " b", " c"]);
      expect(run.chunks.at(-1)?.finishReason).toBe("length");
      expect(clock.pendingTimers).toBe(0);
    });

    it("an abort during a paced wait ends the iteration at once and cancels the timer", async () => {
      const clock = new ManualClock(0);
      const runner = new MockRunner({ config: config({ tokens_per_second: 10 }), clock });
      const controller = new AbortController();
      const run = consume(runner.execute(batch("a b c", {}, controller.signal)));
      await clock.advance(100);
      expect(texts(run.chunks)).toEqual(["a"]);
      expect(clock.pendingTimers).toBe(1);
      controller.abort();
      await run.done;
      expect(run.chunks).toHaveLength(1);
      expect(clock.pendingTimers).toBe(0);
    });

    it("loadWeights waits load_delay_ms on the clock", async () => {
      const clock = new ManualClock(0);
      const runner = new MockRunner({ config: config({ load_delay_ms: 500 }), clock });
      let loaded = false;
      void runner.loadWeights("mock").then(() => {
        loaded = true;
      });
      await clock.advance(499);
      expect(loaded).toBe(false);
      await clock.advance(1);
      expect(loaded).toBe(true);
    });

    it("loadWeights resolves without a timer when there is no delay", async () => {
      const clock = new ManualClock(0);
      await new MockRunner({ config: config(), clock }).loadWeights("mock");
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe("abort", () => {
    it("yields nothing after the signal is aborted between tokens", async () => {
      const controller = new AbortController();
      const seen: TokenChunk[] = [];
      for await (const chunk of unpaced().execute(batch("a b c", {}, controller.signal))) {
        seen.push(chunk);
        controller.abort();
      }
      expect(seen).toEqual([{ text: "a" }]);
    });

    it("yields nothing when aborted before the first iteration, even for a poisoned runner", async () => {
      const runner = new MockRunner({
        config: config({ poison_after_requests: 0 }),
        clock: new ManualClock(0),
      });
      const controller = new AbortController();
      controller.abort();
      expect(await collect(runner.execute(batch("a b", {}, controller.signal)))).toEqual([]);
    });
  });

  describe("failure injection", () => {
    it("fail_after_tokens throws server_error 500 after that many tokens", async () => {
      const runner = new MockRunner({ config: config({ fail_after_tokens: 2 }), clock: new ManualClock(0) });
      const seen: TokenChunk[] = [];
      const error = await failure(
        (async () => {
          for await (const chunk of runner.execute(batch("a b c"))) seen.push(chunk);
        })(),
      );
      expect(texts(seen)).toEqual(["a", " b"]);
      expect(error.details).toEqual({ kind: "server_error", status: 500 });
      expect(error.message).toBe("mock failure after 2 tokens");
    });

    it("fail_after_tokens 0 fails before any token, even for a prompt without words", async () => {
      const runner = new MockRunner({ config: config({ fail_after_tokens: 0 }), clock: new ManualClock(0) });
      for (const prompt of ["a b", ""]) {
        const error = await failure(collect(runner.execute(batch(prompt))));
        expect(error.kind).toBe("server_error");
      }
    });

    it("fail_after_tokens beyond the generation's length never fires", async () => {
      const runner = new MockRunner({ config: config({ fail_after_tokens: 5 }), clock: new ManualClock(0) });
      const chunks = await collect(runner.execute(batch("a b", { maxTokens: 4 })));
      expect(chunks.at(-1)?.finishReason).toBe("length");
    });

    it("stall_after_tokens stops emitting until aborted, then ends without throwing", async () => {
      const clock = new ManualClock(0);
      const runner = new MockRunner({ config: config({ stall_after_tokens: 1 }), clock });
      const controller = new AbortController();
      const run = consume(runner.execute(batch("a b c", {}, controller.signal)));
      let finished = false;
      void run.done.then(() => {
        finished = true;
      });
      await clock.advance(60_000);
      expect(texts(run.chunks)).toEqual(["a"]);
      expect(finished).toBe(false);
      controller.abort();
      await run.done;
      expect(run.chunks).toEqual([{ text: "a" }]);
    });

    it("poison_after_requests throws context_poisoned for every request beyond the count", async () => {
      const runner = new MockRunner({
        config: config({ poison_after_requests: 2 }),
        clock: new ManualClock(0),
      });
      for (let i = 0; i < 2; i++) {
        expect((await collect(runner.execute(batch("a")))).at(-1)?.finishReason).toBe("length");
      }
      for (let i = 0; i < 2; i++) {
        const seen: TokenChunk[] = [];
        const error = await failure(
          (async () => {
            for await (const chunk of runner.execute(batch("a"))) seen.push(chunk);
          })(),
        );
        expect(error.kind).toBe("context_poisoned");
        expect(seen).toEqual([]);
      }
    });

    it("a fresh runner from the factory starts its request count again", async () => {
      const factory = mockRunnerFactory(config({ poison_after_requests: 1 }), new ManualClock(0));
      const first = factory();
      await collect(first.execute(batch("a")));
      expect((await failure(collect(first.execute(batch("a"))))).kind).toBe("context_poisoned");
      const rebuilt = factory();
      expect((await collect(rebuilt.execute(batch("a")))).at(-1)?.finishReason).toBe("length");
    });
  });
});

function embedBatch(
  input: EmbedBatch["input"],
  extra: Partial<EmbedBatch> = {},
  signal: AbortSignal = new AbortController().signal,
): EmbedBatch {
  return { requestId: "e1", model: "mock", input, priority: 0, estimatedTokens: 0, signal, ...extra };
}

describe("MockRunner embeddings and token counts", () => {
  const runner = () => new MockRunner({ config: config(), clock: new ManualClock(0) });

  it("embeds each input as its documented vector: unit length, 8 dimensions by default", async () => {
    const result = await runner().embed(embedBatch(["hello world", "good morning"]));
    expect(result.vectors).toEqual([mockEmbedding("hello world", 8), mockEmbedding("good morning", 8)]);
    for (const vector of result.vectors) {
      expect(vector).toHaveLength(mockEmbeddingDimensions);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
    expect(result.usage).toEqual({ inputTokens: 4 });
  });

  it("honours dimensions, and tells token arrays from the same text", async () => {
    const result = await runner().embed(embedBatch([[1, 2, 3]], { dimensions: 3 }));
    expect(result.vectors).toEqual([mockEmbedding([1, 2, 3], 3)]);
    expect(result.usage.inputTokens).toBe(3);
    expect(Array.from(mockEmbedding([1, 2, 3], 3))).not.toEqual(Array.from(mockEmbedding("1,2,3", 3)));
    expect(Array.from(mockEmbedding("same", 4))).toEqual(Array.from(mockEmbedding("same", 4)));
  });

  it("refuses dimensions beyond its maximum with 400 naming dimensions", async () => {
    const error = await failure(
      runner().embed(embedBatch(["a"], { dimensions: mockMaxEmbeddingDimensions + 1 })),
    );
    expect(error.details).toEqual({ kind: "bad_request", field: "dimensions" });
  });

  it("fail_after_tokens = 0 fails an embedding; stall_after_tokens = 0 holds it until aborted", async () => {
    const failing = new MockRunner({ config: config({ fail_after_tokens: 0 }), clock: new ManualClock(0) });
    expect((await failure(failing.embed(embedBatch(["a"])))).kind).toBe("server_error");
    const stalling = new MockRunner({ config: config({ stall_after_tokens: 0 }), clock: new ManualClock(0) });
    const controller = new AbortController();
    let settled = false;
    const held = stalling.embed(embedBatch(["a"], {}, controller.signal)).finally(() => {
      settled = true;
    });
    held.catch(() => {});
    await flushMicrotasks(10);
    expect(settled).toBe(false);
    controller.abort();
    expect((await failure(held)).kind).toBe("unavailable");
  });

  it("counts the words of every message, as execute reports inputTokens", async () => {
    const messages: Message[] = [
      { role: "system", content: "be brief" },
      { role: "user", content: "hello there world" },
    ];
    const count = await runner().countTokens(messages);
    const chunks = await collect(runner().execute(batch(messages, { maxTokens: 1 })));
    expect(count).toEqual({ inputTokens: 5, estimated: false });
    expect(chunks.at(-1)?.usage?.inputTokens).toBe(5);
  });
});
