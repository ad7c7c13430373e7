// The request as engines see it: ExecuteBatch (one request), its messages and sampling params.
// Built by the gateway / InferenceService from the client's body, consumed by a ModelRunner.

import type { RequestFeatures } from "./request-features.js";

/** OpenAI's `image_url.detail`: how finely a vision model looks at an image. */
export type ImageDetail = "auto" | "low" | "high";

/** Where an image part's bytes are: a URL the provider fetches, or the bytes themselves. */
export type ImageSource =
  | { readonly kind: "url"; readonly url: string }
  /** `mediaType` is an `image/…` type; `data` is the base64 text (a client's data: URL, split). */
  | { readonly kind: "base64"; readonly mediaType: string; readonly data: string };

export type ContentPart =
  | { readonly type: "text"; readonly text: string }
  // detail: only when the client sent it
  | { readonly type: "image"; readonly source: ImageSource; readonly detail?: ImageDetail };

export type Role = "system" | "user" | "assistant" | "tool" | "developer";

export interface ToolCall {
  readonly id: string;
  readonly type: "function";
  readonly function: { readonly name: string; readonly arguments: string };
  /**
   * The provider's opaque signature of the reasoning that led to this call (Gemini's
   * `thoughtSignature`), replayed with the call on the next turn. Absent when there is none.
   */
  readonly signature?: string;
}

/**
 * A provider's signed reasoning (Anthropic's thinking blocks), kept whole and replayed verbatim,
 * in order, before the tool calls of the assistant turn it came with (docs/api.md, "Reasoning").
 */
export type ReasoningBlock =
  | { readonly type: "thinking"; readonly thinking: string; readonly signature: string }
  /** Reasoning the provider encrypted: only its opaque data comes back. */
  | { readonly type: "redacted_thinking"; readonly data: string };

export interface Message {
  readonly role: Role;
  /** Plain text or parts (text, images). Null for an assistant turn that only calls tools. */
  readonly content: string | readonly ContentPart[] | null;
  readonly name?: string;
  readonly toolCallId?: string;
  readonly toolCalls?: readonly ToolCall[];
  /** Assistant turns: the signed reasoning blocks that came with it, in order. */
  readonly reasoningBlocks?: readonly ReasoningBlock[];
  /** Tool turns: the result is the tool's error (Anthropic's `tool_result.is_error`). */
  readonly toolError?: boolean;
}

export interface SamplingParams {
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly maxTokens?: number;
  readonly stop?: readonly string[];
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  readonly seed?: number;
}

export interface ExecuteBatch {
  readonly requestId: string;
  /** The deployment's upstream model (the file path for llama). */
  readonly model: string;
  readonly messages: readonly Message[];
  readonly sampling: SamplingParams;
  readonly stream: boolean;
  /** Lower runs first (vLLM convention); default 0. */
  readonly priority: number;
  readonly estimatedTokens: number;
  /** Tools, tool choice, response format, end-user id (src/core/request-features.ts). */
  readonly features: RequestFeatures;
  /** The whole request's deadline (clock ms): no retry waits past it. */
  readonly deadline?: number;
  /** Aborted when the client leaves, the deadline passes or the server drains. */
  readonly signal: AbortSignal;
}

/** Text of a message's content (parts joined by newlines; images contribute nothing). */
export function messageText(message: Message): string {
  const content = message.content;
  if (content === null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part) => (part.type === "text" ? part.text : ""))
    .filter((text) => text.length > 0)
    .join("\n");
}

/** docs/providers.md: ceil(prompt characters / 4) + (max_tokens or 1024). */
export function estimateTokens(messages: readonly Message[], maxTokens: number | undefined): number {
  let characters = 0;
  for (const message of messages) characters += messageText(message).length;
  return Math.ceil(characters / 4) + (maxTokens ?? 1024);
}
