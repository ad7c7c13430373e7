// Builds the OpenAI JSON the gateway sends back: unary `chat.completion` / `text_completion` bodies
// and the per-token `chat.completion.chunk` / streamed `text_completion` payloads (the last step of
// the request path). Chunk encoders precompute the constant JSON around each delta, so one token
// costs one JSON.stringify of its text. A refusal (OpenAI-family upstreams) is `message.refusal` /
// `delta.refusal` on chat; the legacy completions format has no such field, so there it is the text.
// Reasoning text is `message.reasoning_content` / `delta.reasoning_content` on chat (docs/api.md) and
// left out of legacy completions (never mixed into the answer).

import type { FinishReason, TokenChunk, TokenUsage, ToolCallDelta } from "../core/token-chunk.js";
import type { CompletionResult } from "./service-types.js";

export interface UsageJson {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly completion_tokens_details?: { readonly reasoning_tokens: number };
  readonly prompt_tokens_details?: { readonly cached_tokens: number };
}

export interface ChatCompletionJson {
  readonly id: string;
  readonly object: "chat.completion";
  readonly created: number;
  readonly model: string;
  readonly choices: ReadonlyArray<{
    readonly index: 0;
    readonly message: {
      readonly role: "assistant";
      readonly content: string | null;
      readonly refusal: string | null;
      /** The reasoning text (vLLM's, DeepSeek's and LiteLLM's field), when the model sent any. */
      readonly reasoning_content?: string;
      readonly tool_calls?: CompletionResult["toolCalls"];
    };
    readonly logprobs: null;
    readonly finish_reason: FinishReason;
  }>;
  readonly usage: UsageJson;
}

export interface TextCompletionJson {
  readonly id: string;
  readonly object: "text_completion";
  readonly created: number;
  readonly model: string;
  readonly choices: ReadonlyArray<{
    readonly text: string;
    readonly index: 0;
    readonly logprobs: null;
    readonly finish_reason: FinishReason;
  }>;
  readonly usage: UsageJson;
}

/** What every response names: the request, the deployment the client asked for, the time. */
export interface ResponseContext {
  readonly requestId: string;
  /** The `model` of the client's request (the deployment name it asked for). */
  readonly model: string;
  /** Milliseconds from the injected clock; `created` is whole seconds. */
  readonly nowMs: number;
}

export function chatCompletionId(requestId: string): string {
  return `chatcmpl-${requestId}`;
}

export function textCompletionId(requestId: string): string {
  return `cmpl-${requestId}`;
}

export function usageJson(usage: TokenUsage | undefined): UsageJson {
  const prompt = usage?.inputTokens ?? 0;
  const completion = usage?.outputTokens ?? 0;
  const json: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    completion_tokens_details?: { reasoning_tokens: number };
    prompt_tokens_details?: { cached_tokens: number };
  } = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (usage?.reasoningTokens !== undefined)
    json.completion_tokens_details = { reasoning_tokens: usage.reasoningTokens };
  if (usage?.cachedInputTokens !== undefined)
    json.prompt_tokens_details = { cached_tokens: usage.cachedInputTokens };
  return json;
}

/** What the unary bodies are built from: the service's aggregate. */
export type UnaryResult = CompletionResult;

/** The unary body of POST /v1/chat/completions. */
export function chatCompletionJson(result: UnaryResult, context: ResponseContext): ChatCompletionJson {
  const hasToolCalls = result.toolCalls.length > 0;
  const refusal = result.refusal === undefined || result.refusal === "" ? null : result.refusal;
  return {
    id: chatCompletionId(context.requestId),
    object: "chat.completion",
    created: seconds(context.nowMs),
    model: context.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          // as OpenAI: null content when the answer is only tool calls or only a refusal
          content: (hasToolCalls || refusal !== null) && result.text === "" ? null : result.text,
          refusal,
          ...(result.reasoning ? { reasoning_content: result.reasoning } : {}),
          ...(hasToolCalls ? { tool_calls: result.toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: result.finishReason,
      },
    ],
    usage: usageJson(result.usage),
  };
}

/** The unary body of POST /v1/completions. */
export function textCompletionJson(result: UnaryResult, context: ResponseContext): TextCompletionJson {
  const text = result.refusal ? result.text + result.refusal : result.text;
  return {
    id: textCompletionId(context.requestId),
    object: "text_completion",
    created: seconds(context.nowMs),
    model: context.model,
    choices: [{ text, index: 0, logprobs: null, finish_reason: result.finishReason }],
    usage: usageJson(result.usage),
  };
}

/**
 * Turns a stream of TokenChunks into SSE payloads (the JSON after `data: `). The gateway calls
 * `start` once after the headers, `delta` per chunk, then `finish` and (with include_usage) `usage`.
 */
export interface ChunkEncoder {
  /** The opening payload (chat: the role-only delta); undefined when the format has none. */
  start(): string | undefined;
  /** The payload for a chunk's text / reasoning / refusal / tool-call deltas; undefined when it carries none. */
  delta(chunk: TokenChunk): string | undefined;
  /** The last choice payload, with an empty delta and the finish reason. */
  finish(reason: FinishReason): string;
  /** The usage payload (`choices: []`), sent only when the client asked for include_usage. */
  usage(usage: TokenUsage | undefined): string;
}

export interface ChunkEncoderOptions extends ResponseContext {
  /** With stream_options.include_usage every chunk carries `"usage":null`, as OpenAI's do. */
  readonly includeUsage: boolean;
}

export function chatChunkEncoder(options: ChunkEncoderOptions): ChunkEncoder {
  const head = `{"id":${JSON.stringify(chatCompletionId(options.requestId))},"object":"chat.completion.chunk","created":${seconds(options.nowMs)},"model":${JSON.stringify(options.model)}`;
  const choiceHead = `${head},"choices":[{"index":0,"delta":`;
  const usageNull = options.includeUsage ? `,"usage":null` : "";
  const openTail = `,"logprobs":null,"finish_reason":null}]${usageNull}}`;
  return {
    start: () => `${choiceHead}{"role":"assistant","content":""}${openTail}`,
    delta(chunk) {
      const toolCalls = chunk.toolCalls;
      const hasToolCalls = toolCalls !== undefined && toolCalls.length > 0;
      if (hasToolCalls || chunk.refusal || chunk.reasoning) {
        const delta: {
          content?: string;
          reasoning_content?: string;
          refusal?: string;
          tool_calls?: readonly ToolCallDelta[];
        } = {};
        if (chunk.text !== "") delta.content = chunk.text;
        if (chunk.reasoning) delta.reasoning_content = chunk.reasoning;
        if (chunk.refusal) delta.refusal = chunk.refusal;
        if (hasToolCalls) delta.tool_calls = toolCalls;
        return `${choiceHead}${JSON.stringify(delta)}${openTail}`;
      }
      if (chunk.text === "") return undefined;
      return `${choiceHead}{"content":${JSON.stringify(chunk.text)}}${openTail}`;
    },
    finish: (reason) =>
      `${choiceHead}{},"logprobs":null,"finish_reason":${JSON.stringify(reason)}}]${usageNull}}`,
    usage: (usage) => `${head},"choices":[],"usage":${JSON.stringify(usageJson(usage))}}`,
  };
}

export function textCompletionChunkEncoder(options: ChunkEncoderOptions): ChunkEncoder {
  const head = `{"id":${JSON.stringify(textCompletionId(options.requestId))},"object":"text_completion","created":${seconds(options.nowMs)},"model":${JSON.stringify(options.model)}`;
  const choiceHead = `${head},"choices":[{"text":`;
  const usageNull = options.includeUsage ? `,"usage":null` : "";
  return {
    start: () => undefined,
    delta(chunk) {
      const text = chunk.refusal ? chunk.text + chunk.refusal : chunk.text;
      return text === ""
        ? undefined
        : `${choiceHead}${JSON.stringify(text)},"index":0,"logprobs":null,"finish_reason":null}]${usageNull}}`;
    },
    finish: (reason) =>
      `${choiceHead}"","index":0,"logprobs":null,"finish_reason":${JSON.stringify(reason)}}]${usageNull}}`,
    usage: (usage) => `${head},"choices":[],"usage":${JSON.stringify(usageJson(usage))}}`,
  };
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
