// The OpenAI wire as two dialects (src/core/dialect.ts): chat completions (`/v1/chat/completions`)
// and legacy completions (`/v1/completions`). Parsing is openai-request.ts, the JSON payloads
// openai-response.ts, the error body openai-error-body.ts; this file adds OpenAI's SSE framing:
// `data: <json>` events, `data: [DONE]` after a finished stream, the error body as the last event
// of a failed one (never followed by [DONE]).

import type { AnswerContext, Dialect, StreamEncoder } from "../../../core/dialect.js";
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
function framed(payloads: ChunkEncoder, includeUsage: boolean): StreamEncoder {
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

export const openAiChatDialect: Dialect = {
  name: "openai-chat",
  parse: parseChatRequest,
  unaryBody: chatCompletionJson,
  streamEncoder: (context: AnswerContext, includeUsage: boolean) =>
    framed(chatChunkEncoder({ ...context, includeUsage }), includeUsage),
  errorBody: openAiErrorBody,
};

export const openAiCompletionsDialect: Dialect = {
  name: "openai-completions",
  parse: parseCompletionRequest,
  unaryBody: textCompletionJson,
  streamEncoder: (context: AnswerContext, includeUsage: boolean) =>
    framed(textCompletionChunkEncoder({ ...context, includeUsage }), includeUsage),
  errorBody: openAiErrorBody,
};
