// Anthropic's token count (`POST {prefix}/v1/messages/count_tokens`, same key and version headers
// as messages): the Messages body the batch would send, less what the count endpoint does not take
// (max_tokens, stream, sampling, stop sequences, metadata, output_config), answered
// `{input_tokens}`. Anthropic deployments cannot embed (no embeddings endpoint).

import type { ExecuteBatch } from "../../../core/batch.js";
import type { TokenCount } from "../../../core/embedding.js";
import { errors } from "../../../core/inference-error.js";
import type { AnthropicMessagesRequest } from "./anthropic-wire.js";
import { type AnthropicConvertOptions, convertToAnthropicRequest } from "./convert-to-anthropic-request.js";

export type AnthropicCountTokensBody = Pick<
  AnthropicMessagesRequest,
  "model" | "messages" | "system" | "tools" | "tool_choice" | "thinking"
>;

/** Throws the conversion's InferenceError (400 naming the field) for what Anthropic cannot take. */
export function anthropicCountTokensBody(
  batch: ExecuteBatch,
  upstreamModel: string,
  options: AnthropicConvertOptions = {},
): AnthropicCountTokensBody {
  const { model, messages, system, tools, tool_choice, thinking } = convertToAnthropicRequest(
    batch,
    upstreamModel,
    options,
  );
  return {
    model,
    messages,
    ...(system !== undefined ? { system } : {}),
    ...(tools !== undefined ? { tools } : {}),
    ...(tool_choice !== undefined ? { tool_choice } : {}),
    ...(thinking !== undefined ? { thinking } : {}),
  };
}

export function parseAnthropicCountTokens(body: string): TokenCount {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw errors.serverError("upstream count_tokens answer is not JSON", 200);
  }
  const count =
    typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>).input_tokens
      : undefined;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0)
    throw errors.serverError("upstream count_tokens answer has no input_tokens count", 200);
  return { inputTokens: count, estimated: false };
}
