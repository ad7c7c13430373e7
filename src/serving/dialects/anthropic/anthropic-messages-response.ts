// Builds what POST /v1/messages answers (docs/api.md, "Anthropic Messages API"): the unary Message
// (thinking blocks, text, tool_use blocks; stop_reason; usage with input excluding cache reads and
// writes) and the stream's exact event sequence — message_start, ping, content blocks opened,
// delta'd and stopped with increasing indexes, message_delta with the stop reason and the real
// usage, message_stop; `event: error` when a stream fails after commit.

import type { ReasoningBlock, ToolCall } from "../../../core/batch.js";
import type { AnswerContext, CompletionResult, StreamEncoder } from "../../../core/dialect.js";
import type { InferenceError } from "../../../core/inference-error.js";
import type { FinishReason, TokenChunk, TokenUsage, ToolCallDelta } from "../../../core/token-chunk.js";
import { anthropicErrorBody } from "./anthropic-error-body.js";

export type AnthropicStopReason = "end_turn" | "max_tokens" | "tool_use" | "refusal";

export interface AnthropicUsageJson {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cache_creation_input_tokens: number;
  readonly cache_read_input_tokens: number;
  readonly output_tokens_details?: { readonly thinking_tokens: number };
}

export type AnthropicContentBlockJson =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "thinking"; readonly thinking: string; readonly signature: string }
  | { readonly type: "redacted_thinking"; readonly data: string }
  | {
      readonly type: "tool_use";
      readonly id: string;
      readonly name: string;
      readonly input: Readonly<Record<string, unknown>>;
    };

export interface AnthropicMessageJson {
  readonly id: string;
  readonly type: "message";
  readonly role: "assistant";
  readonly model: string;
  readonly content: readonly AnthropicContentBlockJson[];
  readonly stop_reason: AnthropicStopReason;
  readonly stop_sequence: null;
  readonly usage: AnthropicUsageJson;
}

/**
 * The neutral finish reason as Anthropic's stop_reason. `stop` is always `end_turn`: no runtime
 * says whether a stop sequence ended the answer, so `stop_sequence` is never sent.
 */
const stopReasons: Readonly<Record<FinishReason, AnthropicStopReason>> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  content_filter: "refusal",
};

/**
 * `calledTools`: the answer holds tool_use blocks. A turn that ends by calling tools is `tool_use`
 * even when its runtime said `stop` (OpenAI does for a forced function), as Anthropic reports it and
 * as clients that run tools on `stop_reason === "tool_use"` need it.
 */
export function anthropicStopReason(reason: FinishReason, calledTools = false): AnthropicStopReason {
  return reason === "stop" && calledTools ? "tool_use" : stopReasons[reason];
}

export function messageId(requestId: string): string {
  return `msg_${requestId}`;
}

/** Neutral usage (input counts cache reads and writes) as Anthropic's (input excludes both). */
export function anthropicUsage(usage: TokenUsage | undefined): AnthropicUsageJson {
  const cached = usage?.cachedInputTokens ?? 0;
  const writes = usage?.cacheWriteInputTokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.inputTokens ?? 0) - cached - writes),
    output_tokens: usage?.outputTokens ?? 0,
    cache_creation_input_tokens: writes,
    cache_read_input_tokens: cached,
    ...(usage?.reasoningTokens !== undefined
      ? { output_tokens_details: { thinking_tokens: usage.reasoningTokens } }
      : {}),
  };
}

/**
 * A tool call's arguments as the tool_use `input` object: "" is `{}`, and so is text that is not
 * a JSON object (a model's malformed call: Anthropic's wire has no place for it).
 */
export function toolInput(text: string): Readonly<Record<string, unknown>> {
  if (text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** A call's id; one the runtime left empty gets one made from the request id and its position. */
function toolUseId(id: string | undefined, requestId: string, index: number): string {
  return id !== undefined && id !== "" ? id : `toolu_${requestId}_${index}`;
}

function blockJson(block: ReasoningBlock): AnthropicContentBlockJson {
  return block.type === "thinking"
    ? { type: "thinking", thinking: block.thinking, signature: block.signature }
    : { type: "redacted_thinking", data: block.data };
}

/**
 * The unary Message: the signed reasoning blocks first, in order (reasoning text from a provider
 * that signs nothing becomes one thinking block with an empty signature, shown, never replayed);
 * then the text (a refusal's text with it), when there is any; then the tool_use blocks.
 */
export function messageJson(result: CompletionResult, context: AnswerContext): AnthropicMessageJson {
  const blocks = result.reasoningBlocks ?? [];
  const content: AnthropicContentBlockJson[] = [];
  if (result.reasoning && !blocks.some((block) => block.type === "thinking"))
    content.push({ type: "thinking", thinking: result.reasoning, signature: "" });
  content.push(...blocks.map(blockJson));
  const text = result.text + (result.refusal ?? "");
  if (text !== "") content.push({ type: "text", text });
  result.toolCalls.forEach((call: ToolCall, index) => {
    content.push({
      type: "tool_use",
      id: toolUseId(call.id, context.requestId, index),
      name: call.function.name,
      input: toolInput(call.function.arguments),
    });
  });
  return {
    id: messageId(context.requestId),
    type: "message",
    role: "assistant",
    model: context.model,
    content,
    stop_reason: anthropicStopReason(result.finishReason, result.toolCalls.length > 0),
    stop_sequence: null,
    usage: anthropicUsage(result.usage),
  };
}

// ── the stream ──────────────────────────────────────────────────────────────────────────────────

function sse(name: string, json: string): string {
  return `event: ${name}\ndata: ${json}\n\n`;
}

/** The content block open on the stream, if any (Anthropic streams one block at a time). */
interface OpenBlock {
  readonly kind: "text" | "thinking" | "redacted" | "tool";
  readonly index: number;
}

/**
 * The events of one streamed Message. The opening `message_start` carries zero usage: the counts
 * are only known at the end, so `message_delta` carries all of them (input, output, cache reads
 * and writes), which the SDKs take over message_start's. Blocks open as their first piece arrives:
 * a thinking block on reasoning text, closed by its signed block (sent as `signature_delta`) or by
 * the next block; a text block on text (a refusal's text too); a tool_use block per tool call,
 * its arguments as `input_json_delta`s.
 */
export class MessagesStreamEncoder implements StreamEncoder {
  readonly #context: AnswerContext;
  #open: OpenBlock | undefined;
  #nextIndex = 0;
  /** The block index of each tool call, by the call's index. */
  readonly #toolBlocks = new Map<number, number>();

  constructor(context: AnswerContext) {
    this.#context = context;
  }

  start(): string {
    const message = {
      id: messageId(this.#context.requestId),
      type: "message",
      role: "assistant",
      model: this.#context.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 0,
        output_tokens: 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    };
    return (
      sse("message_start", JSON.stringify({ type: "message_start", message })) +
      sse("ping", '{"type":"ping"}')
    );
  }

  chunk(chunk: TokenChunk): string | undefined {
    let out = "";
    if (chunk.reasoning) out += this.#reasoning(chunk.reasoning);
    for (const block of chunk.reasoningBlocks ?? []) out += this.#reasoningBlock(block);
    const text = chunk.text + (chunk.refusal ?? "");
    if (text !== "") out += this.#text(text);
    for (const delta of chunk.toolCalls ?? []) out += this.#toolCall(delta);
    return out === "" ? undefined : out;
  }

  finish(reason: FinishReason, usage: TokenUsage | undefined): string {
    const delta = {
      type: "message_delta",
      delta: { stop_reason: anthropicStopReason(reason, this.#toolBlocks.size > 0), stop_sequence: null },
      usage: anthropicUsage(usage),
    };
    return `${this.#close()}${sse("message_delta", JSON.stringify(delta))}${sse("message_stop", '{"type":"message_stop"}')}`;
  }

  /** The error event only: no block is closed and no message_stop follows (Anthropic's own behaviour). */
  fail(error: InferenceError, status: number): string {
    return sse("error", JSON.stringify(anthropicErrorBody(error, status)));
  }

  /** Closes the open block (if any) and opens a new one at the next index. */
  #openBlock(kind: OpenBlock["kind"], contentBlock: unknown): { events: string; index: number } {
    const closed = this.#close();
    const index = this.#nextIndex++;
    this.#open = { kind, index };
    const start = JSON.stringify({ type: "content_block_start", index, content_block: contentBlock });
    return { events: closed + sse("content_block_start", start), index };
  }

  /** The open block when it is of `kind`, else a new one (its opening events with it). */
  #ensureOpen(kind: "text" | "thinking"): { events: string; index: number } {
    if (this.#open?.kind === kind) return { events: "", index: this.#open.index };
    return this.#openBlock(
      kind,
      kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "", signature: "" },
    );
  }

  #close(): string {
    const open = this.#open;
    if (open === undefined) return "";
    this.#open = undefined;
    return sse("content_block_stop", `{"type":"content_block_stop","index":${open.index}}`);
  }

  /** A delta event; `delta` is its JSON (text and thinking pieces build it without an object). */
  #delta(index: number, delta: string): string {
    return sse("content_block_delta", `{"type":"content_block_delta","index":${index},"delta":${delta}}`);
  }

  #reasoning(thinking: string): string {
    const { events, index } = this.#ensureOpen("thinking");
    return events + this.#delta(index, `{"type":"thinking_delta","thinking":${JSON.stringify(thinking)}}`);
  }

  #reasoningBlock(block: ReasoningBlock): string {
    if (block.type === "redacted_thinking") {
      const opened = this.#openBlock("redacted", { type: "redacted_thinking", data: block.data });
      return opened.events + this.#close();
    }
    // the open thinking block is this one (its text streamed); else the whole block is sent here
    const streamed = this.#open?.kind === "thinking";
    let { events, index } = this.#ensureOpen("thinking");
    if (!streamed && block.thinking !== "")
      events += this.#delta(index, `{"type":"thinking_delta","thinking":${JSON.stringify(block.thinking)}}`);
    if (block.signature !== "")
      events += this.#delta(index, JSON.stringify({ type: "signature_delta", signature: block.signature }));
    return events + this.#close();
  }

  #text(text: string): string {
    const { events, index } = this.#ensureOpen("text");
    return events + this.#delta(index, `{"type":"text_delta","text":${JSON.stringify(text)}}`);
  }

  /**
   * A tool-call delta: the first of a call opens its tool_use block (id and name); argument pieces
   * go to the call's own block, which is the open one unless an upstream interleaves its calls.
   */
  #toolCall(delta: ToolCallDelta): string {
    let out = "";
    let index = this.#toolBlocks.get(delta.index);
    if (index === undefined) {
      const opened = this.#openBlock("tool", {
        type: "tool_use",
        id: toolUseId(delta.id, this.#context.requestId, delta.index),
        name: delta.function?.name ?? "",
        input: {},
      });
      out = opened.events;
      index = opened.index;
      this.#toolBlocks.set(delta.index, index);
    }
    const pieces = delta.function?.arguments;
    if (pieces !== undefined && pieces !== "")
      out += this.#delta(index, `{"type":"input_json_delta","partial_json":${JSON.stringify(pieces)}}`);
    return out;
  }
}
