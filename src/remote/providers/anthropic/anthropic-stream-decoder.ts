// Anthropic Messages SSE payloads → TokenChunks (docs/providers.md, `runtime = "anthropic"`): text
// deltas as content, tool_use blocks as tool-call deltas, thinking as reasoning text plus one signed
// block at its end, redacted thinking as a block, a forced json_response tool's input as content;
// the stop reason and usage (in OpenAI's convention) on the final chunk.

import { errors } from "../../../core/inference-error.js";
import type { FinishReason, TokenChunk, TokenUsage } from "../../../core/token-chunk.js";
import type { StreamDecoder } from "../../provider.js";
import type { AnthropicContentBlock, AnthropicStreamEvent, AnthropicUsage } from "./anthropic-wire.js";
import { mapAnthropicStreamError } from "./map-anthropic-error.js";

export interface AnthropicDecoderOptions {
  /** The forced tool whose input stands for the content (response_format on the tool path). */
  readonly jsonTool?: string;
  /** The clock's now(), for the waits an `error` event may carry. */
  readonly now?: () => number;
}

/** What a started content block becomes. */
type BlockState =
  | { readonly kind: "text" }
  /** `streamed`: whether any argument text came (a call with none gets `{}` at its stop, as OpenAI sends). */
  | { readonly kind: "tool"; readonly index: number; streamed: boolean }
  | { readonly kind: "json"; emitted: boolean }
  | { readonly kind: "thinking"; thinking: string; signature: string }
  /** citations-only, server tools, later block types, and text beside a forced json tool. */
  | { readonly kind: "ignored" };

const stopReasons: Readonly<Record<string, FinishReason>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

/** A count the API sent, or undefined for null / missing / not a number. */
function count(value: number | null | undefined): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

export class AnthropicStreamDecoder implements StreamDecoder {
  readonly #jsonTool: string | undefined;
  readonly #now: () => number;
  readonly #blocks = new Map<number, BlockState>();
  #toolCalls = 0;
  /** Whether the forced json tool's block has started (only the first one is the content). */
  #jsonStarted = false;
  #stopReason: string | undefined;
  #stopped = false;
  #sawUsage = false;
  #inputTokens = 0;
  #cacheReadTokens = 0;
  #cacheWriteTokens = 0;
  #outputTokens = 0;
  #thinkingTokens = 0;
  /** Chunks with something in them: the output estimate when the upstream sent no usage. */
  #chunks = 0;

  constructor(options: AnthropicDecoderOptions = {}) {
    this.#jsonTool = options.jsonTool;
    this.#now = options.now ?? Date.now;
  }

  onData(data: string): TokenChunk[] {
    let event: AnthropicStreamEvent;
    try {
      const parsed: unknown = JSON.parse(data);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("not an object");
      event = parsed as AnthropicStreamEvent;
    } catch {
      throw errors.serverError(`upstream sent a malformed stream event: ${data.slice(0, 80)}`, 502);
    }
    const out = this.#decode(event);
    this.#chunks += out.length;
    return out;
  }

  #decode(event: AnthropicStreamEvent): TokenChunk[] {
    switch (event.type) {
      case "message_start":
        if (event.message?.usage) this.#takeUsage(event.message.usage);
        return [];
      case "content_block_start":
        return this.#start(event.index, event.content_block);
      case "content_block_delta":
        return this.#delta(event);
      case "content_block_stop":
        return this.#stop(event.index);
      case "message_delta":
        if (typeof event.delta?.stop_reason === "string" && event.delta.stop_reason !== "")
          this.#stopReason = event.delta.stop_reason;
        if (event.usage) this.#takeUsage(event.usage);
        return [];
      case "message_stop":
        this.#stopped = true;
        return [];
      case "error":
        throw mapAnthropicStreamError(event.error, this.#now());
      default:
        return []; // ping, and events added later
    }
  }

  /** message_start's usage, or message_delta's cumulative one (its input fields only when present). */
  #takeUsage(usage: AnthropicUsage): void {
    this.#sawUsage = true;
    const input = count(usage.input_tokens);
    const cacheRead = count(usage.cache_read_input_tokens);
    const cacheWrite = count(usage.cache_creation_input_tokens);
    const output = count(usage.output_tokens);
    const thinking = count(usage.output_tokens_details?.thinking_tokens);
    if (input !== undefined) this.#inputTokens = input;
    if (cacheRead !== undefined) this.#cacheReadTokens = cacheRead;
    if (cacheWrite !== undefined) this.#cacheWriteTokens = cacheWrite;
    // message_start's output count is provisional; message_delta's is the running total
    if (output !== undefined) this.#outputTokens = output;
    if (thinking !== undefined) this.#thinkingTokens = thinking;
  }

  #start(index: number, block: AnthropicContentBlock | undefined): TokenChunk[] {
    switch (block?.type) {
      case "text":
        if (this.#jsonTool !== undefined) {
          // the forced tool is the content; text beside it would break the JSON
          this.#blocks.set(index, { kind: "ignored" });
          return [];
        }
        this.#blocks.set(index, { kind: "text" });
        return typeof block.text === "string" && block.text !== "" ? [{ text: block.text }] : [];
      case "tool_use": {
        if (this.#jsonTool !== undefined && block.name === this.#jsonTool) {
          // the first call is the content; a second (parallel) one would make it two JSON values
          this.#blocks.set(index, this.#jsonStarted ? { kind: "ignored" } : { kind: "json", emitted: false });
          this.#jsonStarted = true;
          return [];
        }
        const toolIndex = this.#toolCalls++;
        this.#blocks.set(index, { kind: "tool", index: toolIndex, streamed: false });
        return [
          {
            text: "",
            toolCalls: [
              {
                index: toolIndex,
                id: block.id,
                type: "function",
                function: { name: block.name, arguments: "" },
              },
            ],
          },
        ];
      }
      case "thinking": {
        const thinking = typeof block.thinking === "string" ? block.thinking : "";
        const signature = typeof block.signature === "string" ? block.signature : "";
        this.#blocks.set(index, { kind: "thinking", thinking, signature });
        return thinking !== "" ? [{ text: "", reasoning: thinking }] : [];
      }
      case "redacted_thinking":
        this.#blocks.set(index, { kind: "ignored" });
        return [{ text: "", reasoningBlocks: [{ type: "redacted_thinking", data: block.data }] }];
      default:
        this.#blocks.set(index, { kind: "ignored" });
        return [];
    }
  }

  #delta(event: Extract<AnthropicStreamEvent, { type: "content_block_delta" }>): TokenChunk[] {
    const block = this.#blocks.get(event.index);
    const delta = event.delta;
    if (block === undefined || delta === undefined) return [];
    switch (delta.type) {
      case "text_delta":
        return block.kind === "text" && typeof delta.text === "string" && delta.text !== ""
          ? [{ text: delta.text }]
          : [];
      case "input_json_delta":
        if (typeof delta.partial_json !== "string" || delta.partial_json === "") return [];
        if (block.kind === "json") {
          block.emitted = true;
          return [{ text: delta.partial_json }];
        }
        if (block.kind !== "tool") return [];
        block.streamed = true;
        return [
          { text: "", toolCalls: [{ index: block.index, function: { arguments: delta.partial_json } }] },
        ];
      case "thinking_delta":
        if (block.kind !== "thinking" || typeof delta.thinking !== "string" || delta.thinking === "")
          return [];
        block.thinking += delta.thinking;
        return [{ text: "", reasoning: delta.thinking }];
      case "signature_delta":
        if (block.kind === "thinking" && typeof delta.signature === "string")
          block.signature = delta.signature;
        return [];
      default:
        return []; // citations_delta, and deltas added later
    }
  }

  #stop(index: number): TokenChunk[] {
    const block = this.#blocks.get(index);
    this.#blocks.delete(index);
    if (block?.kind === "thinking") {
      // a block that never got its signature cannot be replayed (Anthropic refuses it): its text
      // already streamed as reasoning, so nothing more is sent
      if (block.signature === "") return [];
      return [
        {
          text: "",
          reasoningBlocks: [{ type: "thinking", thinking: block.thinking, signature: block.signature }],
        },
      ];
    }
    // a forced tool called with no input streamed: its input is the empty object
    if (block?.kind === "json" && !block.emitted) return [{ text: "{}" }];
    // a call without arguments (Anthropic streams none, or only ""): `{}`, which clients JSON.parse
    if (block?.kind === "tool" && !block.streamed)
      return [{ text: "", toolCalls: [{ index: block.index, function: { arguments: "{}" } }] }];
    return [];
  }

  finish(): TokenChunk {
    if (this.#stopReason === undefined) {
      throw errors.networkError(
        this.#stopped ? "upstream stream ended without a stop reason" : "upstream stream ended early",
      );
    }
    // own keys only: a stop reason such as "constructor" is not Object.prototype's
    const mapped = Object.hasOwn(stopReasons, this.#stopReason) ? stopReasons[this.#stopReason] : undefined;
    let finishReason: FinishReason = mapped ?? "stop";
    // the forced json tool stands for the content: its call is the answer, not a tool call
    if (finishReason === "tool_calls" && this.#jsonTool !== undefined && this.#toolCalls === 0)
      finishReason = "stop";
    return { text: "", finishReason, usage: this.#usage() };
  }

  /** OpenAI's convention: input counts cache reads and writes, each also reported apart. */
  #usage(): TokenUsage {
    if (!this.#sawUsage) return { inputTokens: 0, outputTokens: this.#chunks, estimated: true };
    return {
      inputTokens: this.#inputTokens + this.#cacheReadTokens + this.#cacheWriteTokens,
      outputTokens: this.#outputTokens,
      ...(this.#cacheReadTokens > 0 ? { cachedInputTokens: this.#cacheReadTokens } : {}),
      ...(this.#cacheWriteTokens > 0 ? { cacheWriteInputTokens: this.#cacheWriteTokens } : {}),
      ...(this.#thinkingTokens > 0 ? { reasoningTokens: this.#thinkingTokens } : {}),
    };
  }
}
