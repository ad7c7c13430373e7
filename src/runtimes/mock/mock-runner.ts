// The mock runtime's ModelRunner (docs/architecture.md): echoes the words of the last user message as
// tokens, paced on the injected clock, with injectable failures. The engine's ContextActor drives
// it exactly like the llama runner, so tests and benchmarks exercise the real request path.

import { type ExecuteBatch, type Message, messageText } from "../../core/batch.js";
import type { EmbedBatch, Embeddings, TokenCount } from "../../core/embedding.js";
import { errors } from "../../core/inference-error.js";
import type { ModelRunner } from "../../core/model-runner.js";
import { type RunnerClock, sleepOn } from "../../core/runner-clock.js";
import type { RuntimeKind, TransportKind } from "../../core/runtime-kind.js";
import { StopMatcher } from "../../core/stop-matcher.js";
import type { FinishReason, TokenChunk } from "../../core/token-chunk.js";
import type { MockConfig } from "./mock-config.js";

/** `sampling.maxTokens` when the request sets none. */
export const mockDefaultMaxTokens = 16;

/** The length of the mock's vectors when the request sets no `dimensions`. */
export const mockEmbeddingDimensions = 8;

/** The most `dimensions` the mock honours; more is refused with 400 naming `dimensions`. */
export const mockMaxEmbeddingDimensions = 4096;

/** Unpaced generation yields to the event loop this often, so huge `max_tokens` cannot starve it. */
const tokensPerYield = 64;

export interface MockRunnerOptions {
  readonly config: MockConfig;
  readonly clock: RunnerClock;
}

function words(text: string): string[] {
  return text.split(/\s+/).filter((word) => word.length > 0);
}

function lastUserMessage(messages: readonly Message[]): Message | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role === "user") return message;
  }
  return undefined;
}

/** FNV-1a (32 bits) of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The mock's vector for one input: `dimensions` values from mulberry32 seeded with the FNV-1a hash
 * of the input (a text as is, a token array as "tokens:" and its ids joined by commas), each in
 * [-1, 1), then scaled to unit length. The same input always gives the same vector.
 */
export function mockEmbedding(input: string | readonly number[], dimensions: number): Float32Array {
  let state = fnv1a(typeof input === "string" ? input : `tokens:${input.join(",")}`);
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const value = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
    vector[i] = value;
    norm += value * value;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < dimensions; i++) vector[i] = (vector[i] as number) * scale;
  return vector;
}

/** Resolves when `signal` is aborted (at once when it already is). */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/**
 * Deterministic runner. Token i is word[i mod n] of the last user message, with a leading space
 * when i > 0. Content chunks carry text only; a final chunk `{ text: "", finishReason, usage }`
 * ends every generation that is neither aborted nor failed.
 *
 * Choices the docs leave open:
 * - Usage: `inputTokens` counts the words of all messages (all roles); `outputTokens` counts the
 *   generated tokens whose text was emitted at least in part, so a token that lies wholly inside
 *   a matched stop string is not counted (as if the model had stopped before it).
 * - With stop strings a token's text may be held back and released with a later token, so
 *   content chunks and tokens are not always one to one; empty deltas are never yielded.
 * - Failure injections count generated tokens and fire as soon as that many are out, before the
 *   next token or the final chunk (so `fail_after_tokens = 0` fails even an empty prompt); a
 *   generation that ends (length or stop) with fewer tokens never reaches them. `fail` is checked
 *   before `stall`.
 * - `poison_after_requests` counts `execute()` calls (at call time) on this instance; the call
 *   that exceeds the count throws `context_poisoned` on first iteration, before any token.
 *   An abort that precedes the first iteration wins over the poison (nothing is thrown).
 * - Embeddings: one `mockEmbedding` per input, `dimensions` long (default
 *   `mockEmbeddingDimensions`, at most `mockMaxEmbeddingDimensions`); usage counts the words of
 *   each text and the ids of each token array. `fail_after_tokens = 0` fails an embedding with
 *   `server_error` and `stall_after_tokens = 0` holds it until aborted; larger values never reach it.
 * - `countTokens` counts the words of all messages, as `execute` reports `inputTokens`.
 */
export class MockRunner implements ModelRunner {
  readonly runtimeKind: RuntimeKind = "mock";
  readonly transportKind: TransportKind = { type: "local" };
  readonly #config: MockConfig;
  readonly #clock: RunnerClock;
  #requests = 0;

  constructor(options: MockRunnerOptions) {
    this.#config = options.config;
    this.#clock = options.clock;
  }

  /** Waits `load_delay_ms` on the injected clock; the mock has no weights. */
  async loadWeights(_source: string): Promise<void> {
    if (this.#config.loadDelayMs > 0) await sleepOn(this.#clock, this.#config.loadDelayMs);
  }

  execute(batch: ExecuteBatch): AsyncIterable<TokenChunk> {
    this.#requests++;
    return this.#generate(batch, this.#requests);
  }

  async embed(batch: EmbedBatch): Promise<Embeddings> {
    const { signal, input } = batch;
    const cancelled = () => errors.unavailable(`embedding request ${batch.requestId} was cancelled`);
    if (signal.aborted) throw cancelled();
    const dimensions = batch.dimensions ?? mockEmbeddingDimensions;
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > mockMaxEmbeddingDimensions) {
      throw errors.badRequest(
        `dimensions: the mock runtime embeds in 1 to ${mockMaxEmbeddingDimensions} dimensions, not ${dimensions}`,
        "dimensions",
      );
    }
    if (this.#config.failAfterTokens === 0) throw errors.serverError("mock embedding failure", 500);
    if (this.#config.stallAfterTokens === 0) {
      await aborted(signal);
      throw cancelled();
    }
    let inputTokens = 0;
    const vectors: Float32Array[] = [];
    for (const item of input) {
      inputTokens += typeof item === "string" ? words(item).length : item.length;
      vectors.push(mockEmbedding(item, dimensions));
    }
    return { vectors, usage: { inputTokens } };
  }

  async countTokens(messages: readonly Message[]): Promise<TokenCount> {
    let inputTokens = 0;
    for (const message of messages) inputTokens += words(messageText(message)).length;
    return { inputTokens, estimated: false };
  }

  /** Nothing to drop: after `context_poisoned` the engine builds a fresh runner from the factory. */
  async rebuildSession(_cause: unknown): Promise<void> {}

  estimateCostUsd(_batch: ExecuteBatch): number {
    return 0;
  }

  async dispose(): Promise<void> {}

  async *#generate(batch: ExecuteBatch, requestNumber: number): AsyncGenerator<TokenChunk, void, undefined> {
    const { signal, sampling, messages } = batch;
    if (signal.aborted) return;
    const { poisonAfterRequests, failAfterTokens, stallAfterTokens, tokensPerSecond } = this.#config;
    if (poisonAfterRequests !== undefined && requestNumber > poisonAfterRequests) {
      throw errors.contextPoisoned(
        `mock context poisoned: request ${requestNumber} exceeds poison_after_requests ${poisonAfterRequests}`,
      );
    }

    let inputTokens = 0;
    for (const message of messages) inputTokens += words(messageText(message)).length;
    const last = lastUserMessage(messages);
    const vocabulary = last === undefined ? [] : words(messageText(last));
    const maxTokens = sampling.maxTokens ?? mockDefaultMaxTokens;
    const intervalMs = tokensPerSecond > 0 ? 1000 / tokensPerSecond : 0;
    const stops = new StopMatcher(sampling.stop ?? []);

    let generated = 0;
    let generatedLength = 0;
    let emittedLength = 0;
    let finishReason: FinishReason = "stop";
    const tokenText = (index: number): string =>
      (index > 0 ? " " : "") + (vocabulary[index % vocabulary.length] ?? "");

    for (;;) {
      if (failAfterTokens !== undefined && generated === failAfterTokens) {
        throw errors.serverError(`mock failure after ${failAfterTokens} tokens`, 500);
      }
      if (stallAfterTokens !== undefined && generated === stallAfterTokens) {
        await aborted(signal);
        return;
      }
      if (vocabulary.length === 0 || stops.stopped) break;
      if (generated >= maxTokens) {
        finishReason = "length";
        break;
      }

      if (intervalMs > 0) {
        if (!(await sleepOn(this.#clock, intervalMs, signal))) return;
      } else if (generated > 0 && generated % tokensPerYield === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (signal.aborted) return;
      }

      const text = tokenText(generated);
      generated++;
      generatedLength += text.length;
      const { emit } = stops.push(text);
      if (emit.length > 0) {
        emittedLength += emit.length;
        yield { text: emit };
        if (signal.aborted) return;
      }
    }

    if (!stops.stopped) {
      const rest = stops.flush();
      if (rest.length > 0) {
        emittedLength += rest.length;
        yield { text: rest };
        if (signal.aborted) return;
      }
    }

    // Tokens whose text was wholly swallowed by a stop match are not counted (see class doc).
    let outputTokens = generated;
    let unemitted = generatedLength - emittedLength;
    while (outputTokens > 0 && tokenText(outputTokens - 1).length <= unemitted) {
      unemitted -= tokenText(outputTokens - 1).length;
      outputTokens--;
    }
    yield { text: "", finishReason, usage: { inputTokens, outputTokens } };
  }
}

/** The runner factory the engine rebuilds from: each call is a fresh runner (fresh counters). */
export function mockRunnerFactory(config: MockConfig, clock: RunnerClock): () => MockRunner {
  return () => new MockRunner({ config, clock });
}
