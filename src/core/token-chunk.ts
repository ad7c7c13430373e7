// What flows back from a runner: TokenChunks (deltas), the final usage, and the Tokens aggregate
// that unary responses and metrics are built from.

import type { ReasoningBlock, ToolCall } from "./batch.js";

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export interface TokenUsage {
  /** Prompt tokens, cached ones included (OpenAI convention). */
  readonly inputTokens: number;
  /** Generated tokens, reasoning ones included. */
  readonly outputTokens: number;
  readonly reasoningTokens?: number;
  /** Prompt tokens read from the provider's prompt cache (counted in inputTokens). */
  readonly cachedInputTokens?: number;
  /** Prompt tokens written to the provider's prompt cache (counted in inputTokens; Anthropic prices them apart). */
  readonly cacheWriteInputTokens?: number;
  /** True when the numbers are an estimate (an upstream that never reported usage). */
  readonly estimated?: boolean;
}

export interface ToolCallDelta {
  readonly index: number;
  readonly id?: string;
  readonly type?: "function";
  readonly function?: { readonly name?: string; readonly arguments?: string };
  /** The call's reasoning signature (Gemini's `thoughtSignature`), on the delta that opens the call. */
  readonly signature?: string;
}

export interface TokenChunk {
  readonly text: string;
  readonly toolCalls?: readonly ToolCallDelta[];
  /**
   * A piece of the model's refusal (OpenAI's `delta.refusal`): shown to the client instead of
   * content. Only remote OpenAI-family upstreams send it; absent when empty.
   */
  readonly refusal?: string;
  /**
   * A piece of the model's reasoning text, streamed apart from the content (never inside it):
   * `delta.reasoning_content` on the OpenAI wire, as vLLM, DeepSeek and LiteLLM send it. Absent
   * when empty.
   */
  readonly reasoning?: string;
  /**
   * Signed reasoning blocks completed by this chunk (Anthropic's thinking blocks, sent whole once
   * their signature arrived; their text streamed before as `reasoning`). Absent when none.
   */
  readonly reasoningBlocks?: readonly ReasoningBlock[];
  /** Set on the final chunk only. */
  readonly finishReason?: FinishReason;
  /** Set on the final chunk only. */
  readonly usage?: TokenUsage;
}

/**
 * Does this chunk commit the request (docs/architecture.md, request rules: content, a refusal,
 * reasoning text or a tool-call delta, i.e. something the client is shown)?
 */
export function commitsResponse(chunk: TokenChunk): boolean {
  return (
    chunk.text.length > 0 ||
    (chunk.refusal !== undefined && chunk.refusal.length > 0) ||
    (chunk.reasoning !== undefined && chunk.reasoning.length > 0) ||
    (chunk.reasoningBlocks !== undefined && chunk.reasoningBlocks.length > 0) ||
    (chunk.toolCalls !== undefined && chunk.toolCalls.length > 0)
  );
}

/** The aggregate of a whole generation. */
export class Tokens {
  text = "";
  /** The refusal pieces joined; undefined when the model did not refuse. */
  refusal: string | undefined;
  /** The reasoning pieces joined; undefined when the model sent none. */
  reasoning: string | undefined;
  /** The signed reasoning blocks, in order. */
  readonly reasoningBlocks: ReasoningBlock[] = [];
  chunks = 0;
  finishReason: FinishReason | undefined;
  usage: TokenUsage | undefined;
  readonly toolCalls: Array<
    { -readonly [K in keyof ToolCall]: ToolCall[K] } & { function: { name: string; arguments: string } }
  > = [];

  append(chunk: TokenChunk): void {
    this.chunks++;
    this.text += chunk.text;
    if (chunk.refusal) this.refusal = (this.refusal ?? "") + chunk.refusal;
    if (chunk.reasoning) this.reasoning = (this.reasoning ?? "") + chunk.reasoning;
    if (chunk.reasoningBlocks) this.reasoningBlocks.push(...chunk.reasoningBlocks);
    if (chunk.toolCalls) {
      for (const delta of chunk.toolCalls) {
        let call = this.toolCalls[delta.index];
        if (!call) {
          call = { id: delta.id ?? "", type: "function", function: { name: "", arguments: "" } };
          this.toolCalls[delta.index] = call;
        }
        if (delta.id) call.id = delta.id;
        if (delta.signature) call.signature = delta.signature;
        if (delta.function?.name) call.function.name += delta.function.name;
        if (delta.function?.arguments) call.function.arguments += delta.function.arguments;
      }
    }
    if (chunk.finishReason) this.finishReason = chunk.finishReason;
    if (chunk.usage) this.usage = chunk.usage;
  }
}
