// The JSON shapes of OpenAI's Responses API as this gateway writes them (docs/api.md, "Responses
// API"): the Response object, its output items, usage, and what a Response repeats of its request.
// Checked field by field against the openai SDK's own types by the tests of this folder. Type
// aliases, not interfaces, so a Response is a plain JSON object for the store.

import type { JsonObject } from "../../../core/request-features.js";

/** An item's lifecycle as the Responses API names it. */
export type ItemStatus = "in_progress" | "completed" | "incomplete";

export type OutputTextPart = {
  readonly type: "output_text";
  readonly text: string;
  readonly annotations: readonly never[];
  readonly logprobs: readonly never[];
};

export type RefusalPart = { readonly type: "refusal"; readonly refusal: string };

export type MessageItem = {
  readonly id: string;
  readonly type: "message";
  readonly role: "assistant";
  readonly status: ItemStatus;
  readonly content: ReadonlyArray<OutputTextPart | RefusalPart>;
};

export type FunctionCallItem = {
  readonly id: string;
  readonly type: "function_call";
  readonly status: ItemStatus;
  readonly call_id: string;
  readonly name: string;
  readonly arguments: string;
};

export type SummaryPart = { readonly type: "summary_text"; readonly text: string };

/**
 * The model's reasoning: its text as the summary, and the signed reasoning blocks and tool-call
 * signatures as `encrypted_content` (responses-items.ts, the reasoning envelope).
 */
export type ReasoningItem = {
  readonly id: string;
  readonly type: "reasoning";
  readonly summary: readonly SummaryPart[];
  readonly encrypted_content?: string;
};

export type OutputItem = MessageItem | FunctionCallItem | ReasoningItem;

export type UsageJson = {
  readonly input_tokens: number;
  readonly input_tokens_details: { readonly cached_tokens: number; readonly cache_write_tokens: number };
  readonly output_tokens: number;
  readonly output_tokens_details: { readonly reasoning_tokens: number };
  readonly total_tokens: number;
};

export type FunctionToolJson = {
  readonly type: "function";
  readonly name: string;
  readonly description: string | null;
  readonly parameters: JsonObject | null;
  readonly strict: boolean | null;
};

export type ToolChoiceJson =
  | "auto"
  | "none"
  | "required"
  | { readonly type: "function"; readonly name: string };

export type TextFormatJson =
  | { readonly type: "text" }
  | { readonly type: "json_object" }
  | {
      readonly type: "json_schema";
      readonly name: string;
      readonly schema: JsonObject;
      readonly description?: string;
      readonly strict?: boolean | null;
    };

/** What a Response repeats of its request, defaults filled in as OpenAI fills them. */
export type ResponseEcho = {
  readonly instructions: string | null;
  readonly max_output_tokens: number | null;
  readonly parallel_tool_calls: boolean;
  readonly previous_response_id: string | null;
  readonly reasoning: { readonly effort: string | null; readonly summary: string | null };
  readonly temperature: number | null;
  readonly text: { readonly format: TextFormatJson; readonly verbosity?: "medium" };
  readonly tool_choice: ToolChoiceJson;
  readonly tools: readonly FunctionToolJson[];
  readonly top_p: number | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly user?: string;
};

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

/** The `code` values of a failed Response's `error` that the gateway uses (OpenAI's own names). */
export type ResponseErrorCode = "server_error" | "rate_limit_exceeded";

export type ResponseJson = ResponseEcho & {
  readonly id: string;
  readonly object: "response";
  readonly created_at: number;
  readonly status: ResponseStatus;
  readonly completed_at: number | null;
  readonly error: { readonly code: ResponseErrorCode; readonly message: string } | null;
  readonly incomplete_details: { readonly reason: "max_output_tokens" | "content_filter" } | null;
  readonly model: string;
  readonly output: readonly OutputItem[];
  readonly store: boolean;
  readonly background: false;
  readonly truncation: "disabled";
  /** Absent until the response has ended. */
  readonly usage?: UsageJson;
};
