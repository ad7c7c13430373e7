// ExecuteBatch → OpenAI chat completions body. Always streaming with usage requested, also for
// unary clients (the engine aggregates), so the first-byte timeout never covers a whole generation.

import type { ExecuteBatch, Message } from "../../../core/batch.js";
import type { OpenAiChatRequest, OpenAiMessage } from "./openai-wire.js";

function toOpenAiMessage(message: Message): OpenAiMessage {
  const content =
    message.content === null || typeof message.content === "string"
      ? message.content
      : message.content.map((part) =>
          part.type === "text"
            ? { type: "text" as const, text: part.text }
            : {
                type: "image_url" as const,
                image_url:
                  part.detail === undefined ? { url: part.url } : { url: part.url, detail: part.detail },
              },
        );
  return {
    role: message.role,
    content,
    ...(message.name !== undefined ? { name: message.name } : {}),
    ...(message.toolCallId !== undefined ? { tool_call_id: message.toolCallId } : {}),
    ...(message.toolCalls !== undefined
      ? { tool_calls: message.toolCalls.map((call) => ({ ...call })) }
      : {}),
  };
}

export interface ConvertOptions {
  /** `max_completion_tokens` for OpenAI itself; `max_tokens` for servers that only know that. */
  readonly maxTokensField?: "max_tokens" | "max_completion_tokens";
  /** Send vLLM's `top_k` (servers that take it). */
  readonly topK?: boolean;
}

export function convertToOpenAiRequest(
  batch: ExecuteBatch,
  upstreamModel: string,
  options: ConvertOptions = {},
): OpenAiChatRequest {
  const sampling = batch.sampling;
  const pass = batch.passThrough;
  return {
    model: upstreamModel,
    messages: batch.messages.map(toOpenAiMessage),
    stream: true,
    stream_options: { include_usage: true },
    ...(sampling.maxTokens !== undefined
      ? { [options.maxTokensField ?? "max_tokens"]: sampling.maxTokens }
      : {}),
    ...(options.topK && sampling.topK !== undefined ? { top_k: sampling.topK } : {}),
    ...(sampling.temperature !== undefined ? { temperature: sampling.temperature } : {}),
    ...(sampling.topP !== undefined ? { top_p: sampling.topP } : {}),
    ...(sampling.stop !== undefined && sampling.stop.length > 0 ? { stop: [...sampling.stop] } : {}),
    ...(sampling.presencePenalty !== undefined ? { presence_penalty: sampling.presencePenalty } : {}),
    ...(sampling.frequencyPenalty !== undefined ? { frequency_penalty: sampling.frequencyPenalty } : {}),
    ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
    ...(pass.tools !== undefined ? { tools: pass.tools } : {}),
    ...(pass.toolChoice !== undefined ? { tool_choice: pass.toolChoice } : {}),
    ...(pass.responseFormat !== undefined ? { response_format: pass.responseFormat } : {}),
    ...(pass.user !== undefined ? { user: pass.user } : {}),
  };
}
