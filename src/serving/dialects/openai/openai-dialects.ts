// The OpenAI wire as two dialects (src/core/dialect.ts): chat completions (`/v1/chat/completions`)
// and legacy completions (`/v1/completions`). Parsing is openai-request.ts, the JSON payloads
// openai-response.ts, the error body openai-error-body.ts; this file adds OpenAI's SSE framing:
// `data: <json>` events, `data: [DONE]` after a finished stream, the error body as the last event
// of a failed one (never followed by [DONE]).

import type {
  AnswerContext,
  Dialect,
  DialectContext,
  DialectParse,
  StreamEncoder,
} from "../../../core/dialect.js";
import type { FinishReason, TokenUsage } from "../../../core/token-chunk.js";
import { openAiErrorBody } from "./openai-error-body.js";
import { parseChatRequest, parseCompletionRequest } from "./openai-request.js";
import {
  type ChunkEncoder,
  chatChunkEncoder,
  chatCompletionJson,
  textCompletionChunkEncoder,
  textCompletionJson,
} from "./openai-response.js";

const DONE = "data: [DONE]\n\n";

function event(json: string): string {
  return `data: ${json}\n\n`;
}

/** OpenAI's framing around one format's payloads. */
function framed(
  payloads: ChunkEncoder,
  includeUsage: boolean,
): Omit<StreamEncoder, "finish"> & { finish(reason: FinishReason, usage: TokenUsage | undefined): string } {
  return {
    start() {
      const opening = payloads.start();
      return opening === undefined ? "" : event(opening);
    },
    chunk(chunk) {
      const payload = payloads.delta(chunk);
      return payload === undefined ? undefined : event(payload);
    },
    finish(reason, usage) {
      const last = event(payloads.finish(reason));
      return includeUsage ? `${last}${event(payloads.usage(usage))}${DONE}` : `${last}${DONE}`;
    },
    fail: (error, status) => event(JSON.stringify(openAiErrorBody(error, status))),
  };
}

/** What an OpenAI answer needs from its request: whether a stream ends with a usage event. */
export interface OpenAiState {
  readonly includeUsage: boolean;
}

/** The parse of openai-request.ts, its `includeUsage` as the dialect's state. */
function withState(parsed: ReturnType<typeof parseChatRequest>): DialectParse<OpenAiState> {
  return parsed.ok
    ? { ok: true, request: parsed.request, state: { includeUsage: parsed.includeUsage } }
    : parsed;
}

export const openAiChatDialect = {
  name: "openai-chat",
  parse: (body: unknown, _context?: DialectContext) => withState(parseChatRequest(body)),
  unaryBody: chatCompletionJson,
  streamEncoder: (context: AnswerContext, state: OpenAiState) =>
    framed(chatChunkEncoder({ ...context, includeUsage: state.includeUsage }), state.includeUsage),
  errorBody: openAiErrorBody,
} satisfies Dialect<OpenAiState>;

export const openAiCompletionsDialect = {
  name: "openai-completions",
  parse: (body: unknown, _context?: DialectContext) => withState(parseCompletionRequest(body)),
  unaryBody: textCompletionJson,
  streamEncoder: (context: AnswerContext, state: OpenAiState) =>
    framed(textCompletionChunkEncoder({ ...context, includeUsage: state.includeUsage }), state.includeUsage),
  errorBody: openAiErrorBody,
} satisfies Dialect<OpenAiState>;
