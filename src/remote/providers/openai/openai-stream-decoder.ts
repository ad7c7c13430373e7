// OpenAI SSE chunks → TokenChunks (content, refusal, reasoning text and tool-call deltas). The finish reason arrives
// before the usage chunk, so it is held until the stream ends; usage is reported on the final chunk
// (cached and reasoning tokens kept).

import type { ReasoningBlock } from "../../../core/batch.js";
import { errors } from "../../../core/inference-error.js";
import type { FinishReason, TokenChunk, TokenUsage, ToolCallDelta } from "../../../core/token-chunk.js";
import type { StreamDecoder } from "../../provider.js";
import type { OpenAiChunk, OpenAiThinkingBlockDelta, OpenAiUsage } from "./openai-wire.js";

const finishReasons: ReadonlySet<string> = new Set(["stop", "length", "tool_calls", "content_filter"]);

function toUsage(usage: OpenAiUsage): TokenUsage {
  return {
    inputTokens: usage.prompt_tokens ?? 0,
    outputTokens: usage.completion_tokens ?? 0,
    ...(usage.prompt_tokens_details?.cached_tokens
      ? { cachedInputTokens: usage.prompt_tokens_details.cached_tokens }
      : {}),
    ...(usage.completion_tokens_details?.reasoning_tokens
      ? { reasoningTokens: usage.completion_tokens_details.reasoning_tokens }
      : {}),
  };
}

/** LiteLLM's `delta.thinking_blocks`, the complete ones (signed, or redacted with data); undefined when none. */
function reasoningBlocksOf(
  wire: readonly OpenAiThinkingBlockDelta[] | undefined,
): ReasoningBlock[] | undefined {
  if (wire === undefined || wire.length === 0) return undefined;
  const blocks: ReasoningBlock[] = [];
  for (const block of wire) {
    if (block.type === "thinking" && block.signature)
      blocks.push({ type: "thinking", thinking: block.thinking ?? "", signature: block.signature });
    else if (block.type === "redacted_thinking" && block.data)
      blocks.push({ type: "redacted_thinking", data: block.data });
  }
  return blocks.length > 0 ? blocks : undefined;
}

export class OpenAiStreamDecoder implements StreamDecoder {
  #finishReason: FinishReason | undefined;
  #usage: TokenUsage | undefined;
  #done = false;
  #outputTokens = 0;

  onData(data: string): TokenChunk[] {
    if (data === "[DONE]") {
      this.#done = true;
      return [];
    }
    let chunk: OpenAiChunk;
    try {
      chunk = JSON.parse(data) as OpenAiChunk;
    } catch {
      throw errors.serverError(`upstream sent a malformed stream event: ${data.slice(0, 80)}`, 502);
    }
    if (chunk.error) {
      throw errors.serverError(`upstream stream error: ${chunk.error.message ?? "unknown"}`, 502);
    }
    if (chunk.usage) this.#usage = toUsage(chunk.usage);
    const out: TokenChunk[] = [];
    for (const choice of chunk.choices ?? []) {
      if ((choice.index ?? 0) !== 0) continue;
      const text = choice.delta?.content ?? "";
      const refusal = choice.delta?.refusal ?? "";
      const reasoning = choice.delta?.reasoning_content ?? "";
      const toolCalls: ToolCallDelta[] | undefined = choice.delta?.tool_calls?.map((call) => ({
        index: call.index,
        ...(call.id !== undefined ? { id: call.id } : {}),
        ...(call.type !== undefined ? { type: call.type } : {}),
        ...(call.function !== undefined
          ? {
              function: {
                ...(call.function.name !== undefined ? { name: call.function.name } : {}),
                ...(call.function.arguments !== undefined ? { arguments: call.function.arguments } : {}),
              },
            }
          : {}),
        ...(call.extra_content?.google?.thought_signature
          ? { signature: call.extra_content.google.thought_signature }
          : {}),
      }));
      const hasToolCalls = toolCalls !== undefined && toolCalls.length > 0;
      const blocks = reasoningBlocksOf(choice.delta?.thinking_blocks);
      if (text.length > 0 || refusal.length > 0 || reasoning.length > 0 || hasToolCalls || blocks) {
        this.#outputTokens++;
        out.push(
          refusal.length === 0 && reasoning.length === 0 && !hasToolCalls && !blocks
            ? { text } // the common case: content only
            : {
                text,
                ...(refusal.length > 0 ? { refusal } : {}),
                ...(reasoning.length > 0 ? { reasoning } : {}),
                ...(blocks ? { reasoningBlocks: blocks } : {}),
                ...(hasToolCalls ? { toolCalls } : {}),
              },
        );
      }
      if (choice.finish_reason && finishReasons.has(choice.finish_reason)) {
        this.#finishReason = choice.finish_reason as FinishReason;
      }
    }
    return out;
  }

  finish(): TokenChunk {
    if (this.#finishReason === undefined) {
      throw errors.networkError(
        this.#done ? "upstream stream ended without a finish reason" : "upstream stream ended early",
      );
    }
    return {
      text: "",
      finishReason: this.#finishReason,
      // an upstream that never reported usage: count the chunks, flagged as an estimate
      usage: this.#usage ?? { inputTokens: 0, outputTokens: this.#outputTokens, estimated: true },
    };
  }
}
