// Builds the OpenAI JSON the gateway sends back: unary `chat.completion` / `text_completion` bodies
// and the per-token `chat.completion.chunk` / streamed `text_completion` payloads (the last step of
// the request path). Chunk encoders precompute the constant JSON around each delta, so one token
// costs one JSON.stringify of its text. A refusal (OpenAI-family upstreams) is `message.refusal` /
// `delta.refusal` on chat; the legacy completions format has no such field, so there it is the text.
// Reasoning text is `message.reasoning_content` / `delta.reasoning_content` on chat (docs/api.md) and
// left out of legacy completions (never mixed into the answer); signed reasoning blocks are
// `thinking_blocks` (LiteLLM's field) and a tool call's signature its `extra_content.google`
// (Google's OpenAI-compatible field). SSE framing is the dialect's (openai-dialects.ts).

import type { ReasoningBlock, ToolCall } from "../../../core/batch.js";
import type { AnswerContext, CompletionResult } from "../../../core/dialect.js";
import type { FinishReason, TokenChunk, TokenUsage, ToolCallDelta } from "../../../core/token-chunk.js";

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
      /** The signed reasoning blocks (LiteLLM's field), replayed when the client sends the message back. */
      readonly thinking_blocks?: readonly ReasoningBlock[];
      readonly tool_calls?: readonly ToolCallJson[];
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

/** A tool call as the OpenAI wire shows it; a call's reasoning signature rides in `extra_content`. */
export interface ToolCallJson {
  readonly id: string;
  readonly type: "function";
  readonly function: { readonly name: string; readonly arguments: string };
  readonly extra_content?: { readonly google: { readonly thought_signature: string } };
}

/** What every response names (`created` is whole seconds of `nowMs`). */
export type ResponseContext = AnswerContext;

/** The reasoning signature of a tool call, as Google's OpenAI-compatible API carries it. */
function extraContent(signature: string): NonNullable<ToolCallJson["extra_content"]> {
  return { google: { thought_signature: signature } };
}

function toolCallJson(call: ToolCall): ToolCallJson {
  const json = { id: call.id, type: call.type, function: call.function };
  return call.signature === undefined ? json : { ...json, extra_content: extraContent(call.signature) };
}

/** A tool-call delta on the wire: the signature (first delta of a call) as `extra_content`. */
function toolCallDeltaJson(delta: ToolCallDelta): unknown {
  if (delta.signature === undefined) return delta;
  const { signature, ...rest } = delta;
  return { ...rest, extra_content: extraContent(signature) };
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
          ...(result.reasoningBlocks && result.reasoningBlocks.length > 0
            ? { thinking_blocks: result.reasoningBlocks }
            : {}),
          ...(hasToolCalls ? { tool_calls: result.toolCalls.map(toolCallJson) } : {}),
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
      const blocks = chunk.reasoningBlocks;
      if (hasToolCalls || chunk.refusal || chunk.reasoning || blocks) {
        const delta: {
          content?: string;
          reasoning_content?: string;
          thinking_blocks?: readonly ReasoningBlock[];
          refusal?: string;
          tool_calls?: readonly unknown[];
        } = {};
        if (chunk.text !== "") delta.content = chunk.text;
        if (chunk.reasoning) delta.reasoning_content = chunk.reasoning;
        if (blocks && blocks.length > 0) delta.thinking_blocks = blocks;
        if (chunk.refusal) delta.refusal = chunk.refusal;
        if (hasToolCalls) delta.tool_calls = toolCalls.map(toolCallDeltaJson);
        if (Object.keys(delta).length === 0) return undefined;
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
