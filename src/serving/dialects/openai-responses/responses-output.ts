// Builds a Response's output items from the answer's chunks, and the events a stream shows of
// them (docs/api.md, "Responses API"): the reasoning as a reasoning item (its text as the summary,
// its signed blocks and tool-call signatures in the envelope), the text and refusal as one
// message item, each tool call as a function_call item. A unary answer goes through the same
// builder as one chunk, so both end with the same items. Also the Response object around them.

import type { ReasoningBlock } from "../../../core/batch.js";
import type { FinishReason, TokenChunk, TokenUsage } from "../../../core/token-chunk.js";
import { encodeEnvelope, envelopeHasContent } from "./responses-items.js";
import type {
  FunctionCallItem,
  ItemStatus,
  MessageItem,
  OutputItem,
  OutputTextPart,
  ReasoningItem,
  RefusalPart,
  ResponseEcho,
  ResponseErrorCode,
  ResponseJson,
  ResponseStatus,
  UsageJson,
} from "./responses-wire.js";

/** One event of a response stream, before the encoder numbers it (responses-stream.ts). */
export type OutputEvent =
  | {
      readonly type: "response.output_item.added" | "response.output_item.done";
      readonly output_index: number;
      readonly item: OutputItem;
    }
  | {
      readonly type: "response.content_part.added" | "response.content_part.done";
      readonly item_id: string;
      readonly output_index: number;
      readonly content_index: number;
      readonly part: OutputTextPart | RefusalPart;
    }
  | {
      readonly type: "response.output_text.delta";
      readonly item_id: string;
      readonly output_index: number;
      readonly content_index: number;
      readonly delta: string;
      readonly logprobs: readonly never[];
    }
  | {
      readonly type: "response.output_text.done";
      readonly item_id: string;
      readonly output_index: number;
      readonly content_index: number;
      readonly text: string;
      readonly logprobs: readonly never[];
    }
  | {
      readonly type: "response.refusal.delta";
      readonly item_id: string;
      readonly output_index: number;
      readonly content_index: number;
      readonly delta: string;
    }
  | {
      readonly type: "response.refusal.done";
      readonly item_id: string;
      readonly output_index: number;
      readonly content_index: number;
      readonly refusal: string;
    }
  | {
      readonly type: "response.function_call_arguments.delta";
      readonly item_id: string;
      readonly output_index: number;
      readonly delta: string;
    }
  | {
      readonly type: "response.function_call_arguments.done";
      readonly item_id: string;
      readonly output_index: number;
      readonly name: string;
      readonly arguments: string;
    }
  | {
      readonly type: "response.reasoning_summary_part.added" | "response.reasoning_summary_part.done";
      readonly item_id: string;
      readonly output_index: number;
      readonly summary_index: 0;
      readonly part: { readonly type: "summary_text"; readonly text: string };
    }
  | {
      readonly type: "response.reasoning_summary_text.delta";
      readonly item_id: string;
      readonly output_index: number;
      readonly summary_index: 0;
      readonly delta: string;
    }
  | {
      readonly type: "response.reasoning_summary_text.done";
      readonly item_id: string;
      readonly output_index: number;
      readonly summary_index: 0;
      readonly text: string;
    };

interface MessageState {
  readonly kind: "message";
  readonly id: string;
  readonly index: number;
  readonly parts: Array<{ type: "output_text"; text: string } | { type: "refusal"; refusal: string }>;
  textIndex: number | undefined;
  refusalIndex: number | undefined;
  status: ItemStatus;
}

interface ReasoningState {
  readonly kind: "reasoning";
  readonly id: string;
  readonly index: number;
  /** The summary text; undefined until reasoning text came. */
  text: string | undefined;
  readonly blocks: ReasoningBlock[];
  readonly signatures: Record<string, string>;
  status: ItemStatus;
}

interface CallState {
  readonly kind: "call";
  readonly id: string;
  readonly index: number;
  readonly callId: string;
  name: string;
  arguments: string;
  status: ItemStatus;
}

type ItemState = MessageState | ReasoningState | CallState;

const NO_LOGPROBS: readonly never[] = [];

/**
 * The output of one response, chunk by chunk. Item ids carry their output index and the request
 * id (`msg_0_<request>`, `rs_…`, `fc_…`), so an `item_reference` names its response.
 */
export class OutputBuilder {
  readonly #requestId: string;
  /** Whether the items shown carry the reasoning envelope (`include: ["reasoning.encrypted_content"]`). */
  readonly #showEnvelope: boolean;
  readonly #items: ItemState[] = [];
  /** The open items: at most one message or reasoning item, or any number of calls. */
  readonly #open = new Set<ItemState>();
  /** Tool-call delta index → its item. */
  readonly #calls = new Map<number, CallState>();

  constructor(requestId: string, showEnvelope: boolean) {
    this.#requestId = requestId;
    this.#showEnvelope = showEnvelope;
  }

  /** The events for one chunk (none when it adds nothing the client is shown). */
  chunk(chunk: TokenChunk): OutputEvent[] {
    const events: OutputEvent[] = [];
    if (chunk.reasoning) {
      const reasoning = this.#reasoning(events);
      if (reasoning.text === undefined) {
        reasoning.text = "";
        events.push(summaryPart("response.reasoning_summary_part.added", reasoning, ""));
      }
      reasoning.text += chunk.reasoning;
      events.push({
        type: "response.reasoning_summary_text.delta",
        item_id: reasoning.id,
        output_index: reasoning.index,
        summary_index: 0,
        delta: chunk.reasoning,
      });
    }
    if (chunk.reasoningBlocks && chunk.reasoningBlocks.length > 0)
      this.#reasoning(events).blocks.push(...chunk.reasoningBlocks);
    for (const delta of chunk.toolCalls ?? []) {
      if (delta.signature === undefined || this.#calls.has(delta.index)) continue;
      this.#reasoning(events).signatures[this.#callIdOf(delta.index, delta.id)] = delta.signature;
    }
    if (chunk.text !== "") {
      const message = this.#message(events);
      if (message.textIndex === undefined) {
        message.textIndex = message.parts.length;
        message.parts.push({ type: "output_text", text: "" });
        events.push(contentPart("response.content_part.added", message, message.textIndex));
      }
      const part = message.parts[message.textIndex] as { type: "output_text"; text: string };
      part.text += chunk.text;
      events.push({
        type: "response.output_text.delta",
        item_id: message.id,
        output_index: message.index,
        content_index: message.textIndex,
        delta: chunk.text,
        logprobs: NO_LOGPROBS,
      });
    }
    if (chunk.refusal) {
      const message = this.#message(events);
      if (message.refusalIndex === undefined) {
        message.refusalIndex = message.parts.length;
        message.parts.push({ type: "refusal", refusal: "" });
        events.push(contentPart("response.content_part.added", message, message.refusalIndex));
      }
      const part = message.parts[message.refusalIndex] as { type: "refusal"; refusal: string };
      part.refusal += chunk.refusal;
      events.push({
        type: "response.refusal.delta",
        item_id: message.id,
        output_index: message.index,
        content_index: message.refusalIndex,
        delta: chunk.refusal,
      });
    }
    for (const delta of chunk.toolCalls ?? []) {
      let call = this.#calls.get(delta.index);
      if (call === undefined) {
        for (const item of this.#open) if (item.kind !== "call") this.#close(item, "completed", events);
        const index = this.#items.length;
        call = {
          kind: "call",
          id: `fc_${index}_${this.#requestId}`,
          index,
          callId: this.#callIdOf(delta.index, delta.id),
          name: "",
          arguments: "",
          status: "in_progress",
        };
        this.#calls.set(delta.index, call);
        this.#add(call);
        call.name += delta.function?.name ?? "";
        events.push({ type: "response.output_item.added", output_index: index, item: this.#itemOf(call) });
      } else if (delta.function?.name) call.name += delta.function.name;
      const args = delta.function?.arguments;
      if (!args) continue;
      call.arguments += args;
      // a call whose item has closed (text came in between) still gets its arguments, silently
      if (this.#open.has(call))
        events.push({
          type: "response.function_call_arguments.delta",
          item_id: call.id,
          output_index: call.index,
          delta: args,
        });
    }
    return events;
  }

  /**
   * The events that close every open item: `incomplete` when the answer was cut (max_output_tokens,
   * a content filter). An answer with no output at all gets one empty message.
   */
  finish(incomplete: boolean): OutputEvent[] {
    const events: OutputEvent[] = [];
    if (this.#items.length === 0) {
      const message = this.#message(events);
      message.textIndex = 0;
      message.parts.push({ type: "output_text", text: "" });
      events.push(contentPart("response.content_part.added", message, 0));
    }
    const status: ItemStatus = incomplete ? "incomplete" : "completed";
    for (const item of [...this.#open]) this.#close(item, status, events);
    return events;
  }

  /** The items so far, as the client is shown them. */
  visibleItems(): OutputItem[] {
    return this.#items.map((item) => this.#itemOf(item));
  }

  /** The items so far with the reasoning envelope, as the store keeps them. */
  storedItems(): OutputItem[] {
    return this.#items.map((item) => itemOf(item, true));
  }

  #itemOf(item: ItemState): OutputItem {
    return itemOf(item, this.#showEnvelope);
  }

  #callIdOf(deltaIndex: number, id: string | undefined): string {
    return id !== undefined && id !== "" ? id : `call_${deltaIndex}_${this.#requestId}`;
  }

  #add(item: ItemState): void {
    this.#items.push(item);
    this.#open.add(item);
  }

  /** The open reasoning item, or a new one (closing what else is open). */
  #reasoning(events: OutputEvent[]): ReasoningState {
    for (const item of this.#open) if (item.kind === "reasoning") return item;
    this.#closeAll(events);
    const index = this.#items.length;
    const reasoning: ReasoningState = {
      kind: "reasoning",
      id: `rs_${index}_${this.#requestId}`,
      index,
      text: undefined,
      blocks: [],
      signatures: {},
      status: "in_progress",
    };
    this.#add(reasoning);
    events.push({ type: "response.output_item.added", output_index: index, item: this.#itemOf(reasoning) });
    return reasoning;
  }

  /** The open message item, or a new one (closing what else is open). */
  #message(events: OutputEvent[]): MessageState {
    for (const item of this.#open) if (item.kind === "message") return item;
    this.#closeAll(events);
    const index = this.#items.length;
    const message: MessageState = {
      kind: "message",
      id: `msg_${index}_${this.#requestId}`,
      index,
      parts: [],
      textIndex: undefined,
      refusalIndex: undefined,
      status: "in_progress",
    };
    this.#add(message);
    events.push({ type: "response.output_item.added", output_index: index, item: this.#itemOf(message) });
    return message;
  }

  #closeAll(events: OutputEvent[]): void {
    for (const item of [...this.#open]) this.#close(item, "completed", events);
  }

  #close(item: ItemState, status: ItemStatus, events: OutputEvent[]): void {
    this.#open.delete(item);
    item.status = status;
    switch (item.kind) {
      case "message":
        for (const [index, part] of item.parts.entries()) {
          events.push(
            part.type === "output_text"
              ? {
                  type: "response.output_text.done",
                  item_id: item.id,
                  output_index: item.index,
                  content_index: index,
                  text: part.text,
                  logprobs: NO_LOGPROBS,
                }
              : {
                  type: "response.refusal.done",
                  item_id: item.id,
                  output_index: item.index,
                  content_index: index,
                  refusal: part.refusal,
                },
          );
          events.push(contentPart("response.content_part.done", item, index));
        }
        break;
      case "reasoning":
        if (item.text !== undefined) {
          events.push({
            type: "response.reasoning_summary_text.done",
            item_id: item.id,
            output_index: item.index,
            summary_index: 0,
            text: item.text,
          });
          events.push(summaryPart("response.reasoning_summary_part.done", item, item.text));
        }
        break;
      case "call":
        events.push({
          type: "response.function_call_arguments.done",
          item_id: item.id,
          output_index: item.index,
          name: item.name,
          arguments: item.arguments,
        });
        break;
    }
    events.push({ type: "response.output_item.done", output_index: item.index, item: this.#itemOf(item) });
  }
}

function itemOf(item: ItemState, withEnvelope: boolean): OutputItem {
  switch (item.kind) {
    case "message":
      return {
        id: item.id,
        type: "message",
        role: "assistant",
        status: item.status,
        content: item.parts.map((_, index) => partOf(item, index)),
      } satisfies MessageItem;
    case "reasoning": {
      const envelope = { blocks: item.blocks, signatures: item.signatures };
      const json: ReasoningItem = {
        id: item.id,
        type: "reasoning",
        summary: item.text === undefined ? [] : [{ type: "summary_text", text: item.text }],
      };
      return withEnvelope && envelopeHasContent(envelope)
        ? { ...json, encrypted_content: encodeEnvelope(envelope) }
        : json;
    }
    case "call":
      return {
        id: item.id,
        type: "function_call",
        status: item.status,
        call_id: item.callId,
        name: item.name,
        arguments: item.arguments,
      } satisfies FunctionCallItem;
  }
}

function partOf(message: MessageState, index: number): OutputTextPart | RefusalPart {
  const part = message.parts[index] as MessageState["parts"][number];
  return part.type === "output_text"
    ? { type: "output_text", text: part.text, annotations: [], logprobs: [] }
    : { type: "refusal", refusal: part.refusal };
}

function contentPart(
  type: "response.content_part.added" | "response.content_part.done",
  message: MessageState,
  index: number,
): OutputEvent {
  return {
    type,
    item_id: message.id,
    output_index: message.index,
    content_index: index,
    part: partOf(message, index),
  };
}

function summaryPart(
  type: "response.reasoning_summary_part.added" | "response.reasoning_summary_part.done",
  reasoning: ReasoningState,
  text: string,
): OutputEvent {
  return {
    type,
    item_id: reasoning.id,
    output_index: reasoning.index,
    summary_index: 0,
    part: { type: "summary_text", text },
  };
}

// ── the Response object ─────────────────────────────────────────────────────────────────────────

export function responseId(requestId: string): string {
  return `resp_${requestId}`;
}

/** The response id an output item id names (`msg_0_<request>` → `resp_<request>`), if any. */
export function responseIdOfItem(itemId: string): string | undefined {
  const match = /^(?:msg|rs|fc)_\d+_(.+)$/.exec(itemId);
  return match ? responseId(match[1] as string) : undefined;
}

export function usageJson(usage: TokenUsage | undefined): UsageJson {
  const input = usage?.inputTokens ?? 0;
  const output = usage?.outputTokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: {
      cached_tokens: usage?.cachedInputTokens ?? 0,
      cache_write_tokens: usage?.cacheWriteInputTokens ?? 0,
    },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage?.reasoningTokens ?? 0 },
    total_tokens: input + output,
  };
}

/** A finished answer's status: cut by max_output_tokens or a content filter is `incomplete`. */
export function statusOf(reason: FinishReason): {
  readonly status: "completed" | "incomplete";
  readonly incomplete_details: ResponseJson["incomplete_details"];
} {
  if (reason === "length")
    return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (reason === "content_filter")
    return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

export interface ResponseParts {
  readonly id: string;
  readonly createdAtMs: number;
  readonly model: string;
  readonly echo: ResponseEcho;
  readonly store: boolean;
  readonly status: ResponseStatus;
  readonly output: readonly OutputItem[];
  readonly completedAtMs?: number;
  readonly incompleteDetails?: ResponseJson["incomplete_details"];
  readonly usage?: TokenUsage;
  readonly error?: { readonly code: ResponseErrorCode; readonly message: string };
}

/** The Response object, its fields in OpenAI's order. */
export function responseJson(parts: ResponseParts): ResponseJson {
  const { echo } = parts;
  const json: ResponseJson = {
    id: parts.id,
    object: "response",
    created_at: seconds(parts.createdAtMs),
    status: parts.status,
    background: false,
    completed_at: parts.completedAtMs === undefined ? null : seconds(parts.completedAtMs),
    error: parts.error ?? null,
    incomplete_details: parts.incompleteDetails ?? null,
    instructions: echo.instructions,
    max_output_tokens: echo.max_output_tokens,
    model: parts.model,
    output: parts.output,
    parallel_tool_calls: echo.parallel_tool_calls,
    previous_response_id: echo.previous_response_id,
    reasoning: echo.reasoning,
    store: parts.store,
    temperature: echo.temperature,
    text: echo.text,
    tool_choice: echo.tool_choice,
    tools: echo.tools,
    top_p: echo.top_p,
    truncation: "disabled",
    metadata: echo.metadata,
    ...(parts.usage !== undefined || parts.status === "completed" || parts.status === "incomplete"
      ? { usage: usageJson(parts.usage) }
      : {}),
    ...(echo.user !== undefined ? { user: echo.user } : {}),
  };
  return json;
}

/** A stored Response as the client is shown it: the reasoning envelope only when asked for. */
export function visibleResponse(response: ResponseJson, showEnvelope: boolean): ResponseJson {
  if (showEnvelope || !response.output.some((item) => item.type === "reasoning" && item.encrypted_content))
    return response;
  return {
    ...response,
    output: response.output.map((item) => {
      if (item.type !== "reasoning" || item.encrypted_content === undefined) return item;
      const { encrypted_content: _hidden, ...shown } = item;
      return shown;
    }),
  };
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
