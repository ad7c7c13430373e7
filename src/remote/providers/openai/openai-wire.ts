// The OpenAI chat completions wire format (the subset we send and read), shared by the openai,
// azure, litellm and openai-compatible providers.

export interface OpenAiChatRequest {
  model: string;
  messages: OpenAiMessage[];
  stream: true;
  stream_options: { include_usage: true };
  max_tokens?: number;
  max_completion_tokens?: number;
  top_k?: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
  tools?: OpenAiTool[];
  tool_choice?: "auto" | "none" | "required" | { type: "function"; function: { name: string } };
  parallel_tool_calls?: boolean;
  reasoning_effort?: string;
  response_format?:
    | { type: "text" | "json_object" }
    | {
        type: "json_schema";
        json_schema: {
          name: string;
          description?: string;
          schema?: Record<string, unknown>;
          strict?: boolean;
        };
      };
  /** The client's end-user id, passed through (OpenAI uses it for abuse monitoring). */
  user?: string;
}

export interface OpenAiTool {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type OpenAiContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string; detail?: "auto" | "low" | "high" } };

export interface OpenAiMessage {
  role: string;
  content: string | OpenAiContentPart[] | null;
  name?: string;
  tool_call_id?: string;
  tool_calls?: Array<{
    id: string;
    type: "function";
    function: { name: string; arguments: string };
    /** LiteLLM (and Google's OpenAI-compatible API): a call's reasoning signature. */
    extra_content?: { google: { thought_signature: string } };
  }>;
  /** LiteLLM: the signed reasoning blocks of an assistant turn, replayed first. */
  thinking_blocks?: Array<
    { type: "thinking"; thinking: string; signature: string } | { type: "redacted_thinking"; data: string }
  >;
}

export interface OpenAiChunk {
  id?: string;
  choices?: Array<{
    index?: number;
    delta?: {
      role?: string;
      content?: string | null;
      refusal?: string | null;
      /** Reasoning text (vLLM, DeepSeek, LiteLLM); OpenAI itself never sends it. */
      reasoning_content?: string | null;
      tool_calls?: Array<{
        index: number;
        id?: string;
        type?: "function";
        function?: { name?: string; arguments?: string };
        /** LiteLLM (and Google's OpenAI-compatible API): the call's reasoning signature. */
        extra_content?: { google?: { thought_signature?: string } };
      }>;
      /** LiteLLM: signed reasoning blocks (in front of Anthropic). */
      thinking_blocks?: OpenAiThinkingBlockDelta[];
    };
    finish_reason?: string | null;
  }>;
  usage?: OpenAiUsage | null;
  error?: { message?: string; type?: string; code?: string | null };
}

/** A signed reasoning block as LiteLLM streams it; only complete ones (with signature or data) are kept. */
export type OpenAiThinkingBlockDelta =
  | { type: "thinking"; thinking?: string; signature?: string }
  | { type: "redacted_thinking"; data?: string };

export interface OpenAiUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

export interface OpenAiErrorBody {
  error?: { message?: string; type?: string; code?: string | number | null; param?: string | null };
}
