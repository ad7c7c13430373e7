// Anthropic's Messages API as a dialect (src/core/dialect.ts), served at `POST /v1/messages`
// (docs/api.md, "Anthropic Messages API"): parsing is anthropic-messages-request.ts, the Message
// and the named SSE events anthropic-messages-response.ts, the error body anthropic-error-body.ts.
// It keeps no state of its own between parse and answer.

import type {
  AnswerContext,
  CompletionResult,
  Dialect,
  DialectContext,
  DialectParse,
} from "../../../core/dialect.js";
import { anthropicErrorBody } from "./anthropic-error-body.js";
import { parseMessagesRequest } from "./anthropic-messages-request.js";
import { MessagesStreamEncoder, messageJson } from "./anthropic-messages-response.js";

/** Nothing of the request is needed to answer it beyond the neutral request. */
export type AnthropicState = undefined;

function parse(body: unknown, _context?: DialectContext): DialectParse<AnthropicState> {
  const parsed = parseMessagesRequest(body);
  return parsed.ok ? { ok: true, request: parsed.request, state: undefined } : parsed;
}

export const anthropicMessagesDialect = {
  name: "anthropic-messages",
  parse,
  unaryBody: (result: CompletionResult, context: AnswerContext) => messageJson(result, context),
  streamEncoder: (context: AnswerContext) => new MessagesStreamEncoder(context),
  errorBody: anthropicErrorBody,
} satisfies Dialect<AnthropicState>;
