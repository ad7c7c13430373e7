// LlamaRunner: a GGUF model in-process through node-llama-cpp. One model and one context with
// `maxSequences` sequences per replica; each request generates on its own sequence and llama.cpp
// evaluates the sequences together, so requests join and leave the batch at token boundaries.
// Embeddings run on a second, embedding context of the same model, created on the first embedding
// request and kept for the replica's life. node-llama-cpp is imported on the first loadWeights.

import { randomInt } from "node:crypto";
import type {
  BatchItem,
  ChatHistoryItem,
  ChatWrapper,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaModel,
  PrioritizedBatchItem,
  Token,
} from "node-llama-cpp";
import type { ExecuteBatch, Message } from "../../core/batch.js";
import { messageText } from "../../core/batch.js";
import type { EmbedBatch, Embeddings, TokenCount } from "../../core/embedding.js";
import { errors, InferenceError } from "../../core/inference-error.js";
import type { ModelRunner } from "../../core/model-runner.js";
import { StopMatcher } from "../../core/stop-matcher.js";
import type { FinishReason, TokenChunk } from "../../core/token-chunk.js";
import { type GgufInfo, inspectGguf } from "./gguf-reader.js";
import { IncrementalDetokenizer } from "./incremental-detokenizer.js";
import type { LlamaConfig } from "./llama-config.js";

type NodeLlamaCpp = typeof import("node-llama-cpp");

export interface LlamaRunnerOptions {
  readonly config: LlamaConfig;
  /** Sequences in the context: the replica's max_concurrent. */
  readonly maxSequences: number;
  /** The deployment's `gpus`: with runtime_config.gpu left out, more than 0 means `auto`. */
  readonly gpus?: number;
  /** Called once per llama.cpp decode step with the sequences and tokens it evaluated. */
  readonly onDecodeStep?: (sequences: number, tokens: number) => void;
}

interface Loaded {
  readonly model: LlamaModel;
  readonly context: LlamaContext;
  readonly chatWrapper: ChatWrapper;
  readonly free: LlamaContextSequence[];
  /** What the model file declares (its embedding length and vocabulary size among it). */
  readonly info: GgufInfo;
  /** The embedding context, once the first embedding request asked for it. */
  embedding?: Promise<LlamaEmbeddingContext>;
}

let library: Promise<NodeLlamaCpp> | undefined;
const llamas = new Map<string, Promise<Llama>>();

/** One Llama (native binding) per process and setting; getLlama forks a binary check once. */
export function sharedLlama(gpu: "auto" | false, threads: number): Promise<Llama> {
  const key = `${gpu}:${threads}`;
  let llama = llamas.get(key);
  if (!llama) {
    library ??= import("node-llama-cpp");
    llama = library.then((lib) =>
      lib.getLlama({ gpu, build: "never", maxThreads: threads, logLevel: lib.LlamaLogLevel.error }),
    );
    llama.catch(() => llamas.delete(key));
    llamas.set(key, llama);
  }
  return llama;
}

/**
 * Splits each decode step's token budget over the waiting sequences, most parallel first (like
 * node-llama-cpp's "maximumParallelism"), and reports the step.
 */
export function countingPrioritization(onStep: (sequences: number, tokens: number) => void) {
  return ({ items, size }: { items: readonly BatchItem[]; size: number }): PrioritizedBatchItem[] => {
    const ordered = [...items].sort((a, b) => b.evaluationPriority - a.evaluationPriority);
    const chosen: PrioritizedBatchItem[] = [];
    let left = size;
    let remaining = ordered.length;
    for (const item of ordered) {
      if (left <= 0) break;
      const share = Math.max(1, Math.floor(left / remaining));
      remaining--;
      const take = Math.min(item.tokens.length, share, left);
      chosen.push({ item, processAmount: take });
      left -= take;
    }
    for (const entry of chosen) {
      if (left <= 0) break;
      const extra = Math.min(entry.item.tokens.length - entry.processAmount, left);
      entry.processAmount += extra;
      left -= extra;
    }
    onStep(chosen.length, size - left);
    return chosen;
  };
}

function toHistory(messages: readonly Message[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  for (const message of messages) {
    const text = messageText(message);
    if (message.role === "system" || message.role === "developer") history.push({ type: "system", text });
    else if (message.role === "assistant") history.push({ type: "model", response: [text] });
    else history.push({ type: "user", text });
  }
  history.push({ type: "model", response: [] });
  return history;
}

/** The prompt tokens of `messages` through the model's chat template, as `execute` evaluates them. */
function promptTokens(loaded: Loaded, messages: readonly Message[]): Token[] {
  const state = loaded.chatWrapper.generateContextState({ chatHistory: toHistory(messages) });
  return state.contextText.tokenize(loaded.model.tokenizer);
}

/** `values` scaled to unit length (L2), as llama.cpp's server answers embeddings; zeros stay zeros. */
function normalized(values: readonly number[]): Float32Array {
  let norm = 0;
  for (const value of values) norm += value * value;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  const vector = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) vector[i] = (values[i] as number) * scale;
  return vector;
}

/** Anything the native side throws during generation means the context can no longer be trusted. */
function poisoned(error: unknown): InferenceError {
  if (error instanceof InferenceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return errors.contextPoisoned(`llama.cpp generation failed: ${message}`, error);
}

export class LlamaRunner implements ModelRunner {
  readonly runtimeKind = "llama" as const;
  readonly transportKind = { type: "local" } as const;
  readonly #options: LlamaRunnerOptions;
  #loaded: Loaded | undefined;

  constructor(options: LlamaRunnerOptions) {
    this.#options = options;
  }

  async loadWeights(source: string): Promise<void> {
    const inspected = await inspectGguf(source);
    if (!inspected.ok) throw errors.unavailable(inspected.reason);
    const { config, maxSequences, onDecodeStep } = this.#options;
    const gpu = config.gpu ?? ((this.#options.gpus ?? 0) > 0 ? "auto" : false);
    const llama = await sharedLlama(gpu, config.threads);
    const lib = await (library as Promise<NodeLlamaCpp>);
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: source, ...(gpu === false ? { gpuLayers: 0 } : {}) });
    } catch (error) {
      throw errors.unavailable(`cannot load model ${source}: ${(error as Error).message}`);
    }
    try {
      const context = await model.createContext({
        contextSize: config.contextSize,
        sequences: maxSequences,
        threads: config.threads,
        ...(config.batchSize !== undefined ? { batchSize: config.batchSize } : {}),
        ...(onDecodeStep
          ? { batching: { itemPrioritizationStrategy: countingPrioritization(onDecodeStep) } }
          : {}),
      });
      const free: LlamaContextSequence[] = [];
      for (let i = 0; i < maxSequences; i++) free.push(context.getSequence());
      const chatWrapper = lib.resolveChatWrapper(model, { fallbackToOtherWrappersOnJinjaError: true });
      this.#loaded = { model, context, chatWrapper, free, info: inspected.info };
    } catch (error) {
      await model.dispose().catch(() => {});
      throw errors.unavailable(
        `cannot create a context of ${config.contextSize} tokens × ${maxSequences} sequences for ${source}: ${(error as Error).message}`,
      );
    }
  }

  /** The loaded context, for tests that inject a native failure into a live runner. */
  get context(): LlamaContext | undefined {
    return this.#loaded?.context;
  }

  async *execute(batch: ExecuteBatch): AsyncIterable<TokenChunk> {
    const loaded = this.#loaded;
    if (!loaded) throw errors.contextPoisoned("the llama context is not loaded");
    if (batch.signal.aborted) return;
    const sequence = loaded.free.pop();
    if (!sequence) throw errors.internal("no free llama sequence (more requests than max_concurrent)");
    const { model, chatWrapper } = loaded;
    let clean = true;
    try {
      const state = chatWrapper.generateContextState({ chatHistory: toHistory(batch.messages) });
      const prompt = state.contextText.tokenize(model.tokenizer);
      const contextSize = this.#options.config.contextSize;
      if (prompt.length >= contextSize) {
        throw errors.contextLengthExceeded(
          `the prompt is ${prompt.length} tokens; this deployment's context holds ${contextSize} per sequence`,
          contextSize,
          prompt.length,
        );
      }
      const room = contextSize - prompt.length;
      const maxTokens = Math.min(batch.sampling.maxTokens ?? room, room);
      const triggers = state.stopGenerationTriggers
        .map((trigger) => trigger.toString())
        .filter((text) => text.length > 0);
      const matcher = new StopMatcher([...(batch.sampling.stop ?? []), ...triggers]);
      const generated: Token[] = [];
      const decoder = new IncrementalDetokenizer((tokens, last) =>
        model.detokenize(tokens as Token[], false, last as Token[]),
      );
      let finishReason: FinishReason = "stop";
      const sampling = batch.sampling;
      const penalties = sampling.presencePenalty !== undefined || sampling.frequencyPenalty !== undefined;
      const evaluation = sequence.evaluate(prompt, {
        // OpenAI's default temperature is 1 (node-llama-cpp's would be greedy)
        temperature: sampling.temperature ?? 1,
        ...(sampling.topK !== undefined ? { topK: sampling.topK } : {}),
        ...(sampling.topP !== undefined ? { topP: sampling.topP } : {}),
        // node-llama-cpp would seed from the time: identical requests in one second would repeat
        seed: sampling.seed ?? randomInt(2 ** 32),
        ...(penalties
          ? {
              repeatPenalty: {
                punishTokens: () => generated,
                penalty: 1,
                presencePenalty: sampling.presencePenalty ?? 0,
                frequencyPenalty: sampling.frequencyPenalty ?? 0,
              },
            }
          : {}),
      });
      try {
        if (maxTokens <= 0) finishReason = "length";
        else {
          for await (const token of evaluation) {
            if (batch.signal.aborted) break;
            generated.push(token);
            const step = matcher.push(decoder.push(token));
            if (step.emit.length > 0) yield { text: step.emit };
            const stopped = step.stopped;
            if (stopped) {
              finishReason = "stop";
              break;
            }
            if (generated.length >= maxTokens) {
              finishReason = "length";
              break;
            }
          }
        }
      } finally {
        await evaluation.return();
      }
      if (batch.signal.aborted) return;
      if (!matcher.stopped) {
        const step = matcher.push(decoder.flush());
        if (step.emit.length > 0) yield { text: step.emit };
        if (step.stopped) finishReason = "stop";
      }
      const rest = matcher.flush();
      if (rest.length > 0) yield { text: rest };
      yield {
        text: "",
        finishReason,
        usage: { inputTokens: prompt.length, outputTokens: generated.length },
      };
    } catch (error) {
      if (error instanceof InferenceError && error.kind === "context_length_exceeded") throw error;
      clean = false;
      throw poisoned(error);
    } finally {
      if (clean) {
        try {
          await sequence.clearHistory();
          loaded.free.push(sequence);
        } catch {
          // a sequence that cannot be cleared stays out of the pool; the context is rebuilt on poison
        }
      }
    }
  }

  /**
   * Embeds each input in order on the embedding context (pooled as the model file declares, the
   * vectors scaled to unit length). Texts are tokenized by the model; token arrays are evaluated
   * as they are (ids checked against the vocabulary). The embedding context evaluates one input at
   * a time, so a generation on the replica waits behind at most one embedding call.
   */
  async embed(batch: EmbedBatch): Promise<Embeddings> {
    const loaded = this.#loaded;
    if (!loaded) throw errors.unavailable("the llama model is not loaded");
    const cancelled = () => errors.unavailable(`embedding request ${batch.requestId} was cancelled`);
    if (batch.signal.aborted) throw cancelled();
    const { info } = loaded;
    if (batch.dimensions !== undefined && batch.dimensions !== info.embeddingLength) {
      throw errors.badRequest(
        `dimensions: this model embeds in ${info.embeddingLength} dimensions and cannot shorten its vectors`,
        "dimensions",
      );
    }
    for (const [i, item] of batch.input.entries()) {
      if (typeof item === "string") continue;
      const bad = item.find((id) => !Number.isInteger(id) || id < 0 || id >= info.vocabSize);
      if (bad !== undefined) {
        throw errors.badRequest(
          `input[${i}]: token ${bad} is not in the model's vocabulary of ${info.vocabSize} tokens`,
          `input[${i}]`,
        );
      }
    }
    const context = await this.#embeddingContext(loaded);
    const contextSize = this.#options.config.contextSize;
    const vectors: Float32Array[] = [];
    let inputTokens = 0;
    for (const [i, item] of batch.input.entries()) {
      if (batch.signal.aborted) throw cancelled();
      // node-llama-cpp adds BOS/EOS to the array it is given: hand it a copy
      const input = typeof item === "string" ? item : (item.slice() as Token[]);
      const length = context.calculateInputLength(input);
      if (length >= contextSize) {
        throw errors.contextLengthExceeded(
          `input[${i}] is ${length} tokens; this deployment's context holds ${contextSize}`,
          contextSize,
          length,
        );
      }
      let values: readonly number[];
      try {
        values = (await context.getEmbeddingFor(input)).vector;
      } catch (error) {
        // the embedding context is dropped (made again on the next request); generation is untouched
        if (loaded.embedding !== undefined) {
          const failed = loaded.embedding;
          loaded.embedding = undefined;
          void failed.then((stale) => stale.dispose()).catch(() => {});
        }
        throw errors.internal(`llama.cpp embedding failed: ${(error as Error).message}`, error);
      }
      vectors.push(normalized(values));
      inputTokens += length;
    }
    return { vectors, usage: { inputTokens } };
  }

  /** The prompt tokens through the chat template, exactly as `execute` counts `inputTokens`. */
  async countTokens(messages: readonly Message[]): Promise<TokenCount> {
    const loaded = this.#loaded;
    if (!loaded) throw errors.unavailable("the llama model is not loaded");
    return { inputTokens: promptTokens(loaded, messages).length, estimated: false };
  }

  #embeddingContext(loaded: Loaded): Promise<LlamaEmbeddingContext> {
    if (loaded.embedding) return loaded.embedding;
    const { model } = loaded;
    const { contextSize, threads } = this.#options.config;
    const source = model.filename ?? "the model";
    const creating = (async () => {
      if (model.fileInsights.hasEncoder && model.fileInsights.hasDecoder) {
        throw errors.badRequest(`model: ${source} is an encoder-decoder model, which cannot embed`, "model");
      }
      try {
        // an input is evaluated in one batch (pooling needs all of it at once)
        return await model.createEmbeddingContext({ contextSize, threads, batchSize: contextSize });
      } catch (error) {
        throw errors.unavailable(
          `cannot create an embedding context of ${contextSize} tokens for ${source}: ${(error as Error).message}`,
        );
      }
    })();
    loaded.embedding = creating;
    creating.catch(() => {
      if (loaded.embedding === creating) loaded.embedding = undefined;
    });
    return creating;
  }

  async rebuildSession(): Promise<void> {
    await this.dispose();
  }

  estimateCostUsd(): number {
    return 0;
  }

  async dispose(): Promise<void> {
    const loaded = this.#loaded;
    this.#loaded = undefined;
    if (!loaded) return;
    const embedding = loaded.embedding;
    loaded.embedding = undefined;
    if (embedding) await embedding.then((context) => context.dispose()).catch(() => {});
    await loaded.context.dispose().catch(() => {});
    await loaded.model.dispose().catch(() => {});
  }
}
