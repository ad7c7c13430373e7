// ExecuteBatch → OpenAI chat completions body. Always streaming with usage requested, also for
// unary clients (the engine aggregates), so the first-byte timeout never covers a whole generation.

import type { ExecuteBatch, Message } from "../../../core/batch.js";
import type { RequestFeatures, ResponseFormat, ToolChoice } from "../../../core/request-features.js";
import type { OpenAiChatRequest, OpenAiMessage } from "./openai-wire.js";

function toOpenAiMessage(message: Message, replaysReasoning: boolean): OpenAiMessage {
  const content =
    message.content === null || typeof message.content === "string"
      ? message.content
      : message.content.map((part) =>
          part.type === "text"
            ? { type: "text" as const, text: part.text }
            : {
                type: "image_url" as const,
                image_url: {
                  url:
                    part.source.kind === "url"
                      ? part.source.url
                      : `data:${part.source.mediaType};base64,${part.source.data}`,
                  ...(part.detail === undefined ? {} : { detail: part.detail }),
                },
              },
        );
  return {
    role: message.role,
    content,
    ...(message.name !== undefined ? { name: message.name } : {}),
    ...(message.toolCallId !== undefined ? { tool_call_id: message.toolCallId } : {}),
    ...(message.toolCalls !== undefined
      ? {
          tool_calls: message.toolCalls.map((call) => ({
            id: call.id,
            type: call.type,
            function: { name: call.function.name, arguments: call.function.arguments },
            ...(replaysReasoning && call.signature !== undefined
              ? { extra_content: { google: { thought_signature: call.signature } } }
              : {}),
          })),
        }
      : {}),
    ...(replaysReasoning && message.reasoningBlocks !== undefined && message.reasoningBlocks.length > 0
      ? { thinking_blocks: message.reasoningBlocks.map((block) => ({ ...block })) }
      : {}),
  };
}

export interface ConvertOptions {
  /** `max_completion_tokens` for OpenAI itself; `max_tokens` for servers that only know that. */
  readonly maxTokensField?: "max_tokens" | "max_completion_tokens";
  /** Send vLLM's `top_k` (servers that take it). */
  readonly topK?: boolean;
  /**
   * Send signed reasoning back as LiteLLM takes it (`thinking_blocks`, a call's
   * `extra_content.google.thought_signature`): a LiteLLM proxy in front of Anthropic or Gemini needs
   * them; OpenAI's own API has no such fields, so other servers get neither.
   */
  readonly replaysReasoning?: boolean;
}

export function convertToOpenAiRequest(
  batch: ExecuteBatch,
  upstreamModel: string,
  options: ConvertOptions = {},
): OpenAiChatRequest {
  const sampling = batch.sampling;
  const features = batch.features;
  return {
    model: upstreamModel,
    messages: batch.messages.map((message) => toOpenAiMessage(message, options.replaysReasoning === true)),
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
    ...featureFields(features),
  };
}

/** The request features in OpenAI's chat fields (the shapes docs/api.md lists). */
function featureFields(features: RequestFeatures): Partial<OpenAiChatRequest> {
  return {
    ...(features.tools !== undefined
      ? {
          tools: features.tools.map((tool) => ({
            type: "function" as const,
            function: {
              name: tool.name,
              ...(tool.description !== undefined ? { description: tool.description } : {}),
              ...(tool.parameters !== undefined ? { parameters: { ...tool.parameters } } : {}),
              ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
            },
          })),
        }
      : {}),
    ...(features.toolChoice !== undefined ? { tool_choice: openAiToolChoice(features.toolChoice) } : {}),
    ...(features.parallelToolCalls !== undefined ? { parallel_tool_calls: features.parallelToolCalls } : {}),
    ...(features.responseFormat !== undefined
      ? { response_format: openAiResponseFormat(features.responseFormat) }
      : {}),
    ...(features.reasoningEffort !== undefined ? { reasoning_effort: features.reasoningEffort } : {}),
    ...(features.user !== undefined ? { user: features.user } : {}),
  };
}

function openAiToolChoice(choice: ToolChoice): NonNullable<OpenAiChatRequest["tool_choice"]> {
  return typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } };
}

function openAiResponseFormat(format: ResponseFormat): NonNullable<OpenAiChatRequest["response_format"]> {
  if (format.type !== "json_schema") return { type: format.type };
  return {
    type: "json_schema",
    json_schema: {
      name: format.name,
      ...(format.description !== undefined ? { description: format.description } : {}),
      ...(format.schema !== undefined ? { schema: { ...format.schema } } : {}),
      ...(format.strict !== undefined ? { strict: format.strict } : {}),
    },
  };
}
