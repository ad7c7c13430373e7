// ExecuteBatch → Anthropic Messages body (docs/providers.md, `runtime = "anthropic"`): system
// prompts lifted to `system`, turns merged so roles alternate, tool calls and results as
// tool_use / tool_result blocks, signed thinking replayed, reasoning_effort as Anthropic's thinking
// controls and response_format as native structured output or a forced tool, by the model table
// below. Always streaming. What Anthropic cannot honour is refused with 400 naming the field.

import { createHash } from "node:crypto";
import type { ContentPart, ExecuteBatch, Message, ReasoningBlock } from "../../../core/batch.js";
import { errors, InferenceError } from "../../../core/inference-error.js";
import type { JsonObject, ReasoningEffort, RequestFeatures } from "../../../core/request-features.js";
import type {
  AnthropicContentBlockParam,
  AnthropicEffort,
  AnthropicImageBlock,
  AnthropicMessageParam,
  AnthropicMessagesRequest,
  AnthropicOutputConfig,
  AnthropicTextBlock,
  AnthropicThinkingConfig,
  AnthropicTool,
  AnthropicToolChoice,
} from "./anthropic-wire.js";

// ---- the model table ----------------------------------------------------------------------------

/** How a model family takes thinking, structured output and a missing `max_tokens`. */
export interface AnthropicModelTraits {
  /**
   * `max_tokens` sent when neither the client nor `default_max_tokens` gives one. For the
   * budget-thinking families it is also the model's output limit, which caps budget + max_tokens.
   */
  readonly defaultMaxTokens: number;
  /** `adaptive`: `thinking: {type: "adaptive"}` + `output_config.effort`; `budget`: `budget_tokens`; `none`: no thinking. */
  readonly thinking: "adaptive" | "budget" | "none";
  /** Whether `output_config.format` (native JSON-schema output) is served. */
  readonly nativeJsonSchema: boolean;
}

const adaptive: AnthropicModelTraits = {
  defaultMaxTokens: 64_000,
  thinking: "adaptive",
  nativeJsonSchema: true,
};

/**
 * Model name prefixes (a prefix matches the name itself or the name followed by `-…`, e.g. a date
 * suffix; the longest listed prefix wins). The 4.0 models are listed by their exact ids so an
 * unlisted 4.x release never takes 4.0's traits.
 */
export const anthropicModelTable: Readonly<Record<string, AnthropicModelTraits>> = {
  "claude-3": { defaultMaxTokens: 4096, thinking: "none", nativeJsonSchema: false },
  "claude-3-5": { defaultMaxTokens: 8192, thinking: "none", nativeJsonSchema: false },
  "claude-3-7-sonnet": { defaultMaxTokens: 64_000, thinking: "budget", nativeJsonSchema: false },
  "claude-sonnet-4-0": { defaultMaxTokens: 64_000, thinking: "budget", nativeJsonSchema: false },
  "claude-sonnet-4-20250514": { defaultMaxTokens: 64_000, thinking: "budget", nativeJsonSchema: false },
  "claude-opus-4-0": { defaultMaxTokens: 32_000, thinking: "budget", nativeJsonSchema: false },
  "claude-opus-4-20250514": { defaultMaxTokens: 32_000, thinking: "budget", nativeJsonSchema: false },
  "claude-opus-4-1": { defaultMaxTokens: 32_000, thinking: "budget", nativeJsonSchema: true },
  "claude-sonnet-4-5": { defaultMaxTokens: 64_000, thinking: "budget", nativeJsonSchema: true },
  "claude-haiku-4-5": { defaultMaxTokens: 64_000, thinking: "budget", nativeJsonSchema: true },
  "claude-opus-4-5": { defaultMaxTokens: 64_000, thinking: "budget", nativeJsonSchema: true },
  "claude-opus-4-6": adaptive,
  "claude-opus-4-7": adaptive,
  "claude-opus-4-8": adaptive,
  "claude-sonnet-4-6": adaptive,
  "claude-opus-5": adaptive,
  "claude-sonnet-5": adaptive,
  "claude-haiku-5": adaptive,
  "claude-fable": adaptive,
  "claude-mythos": adaptive,
  "fable-5": adaptive,
  "mythos-5": adaptive,
};

/**
 * A model the table does not list (a newer release, or a proxy's own name) is taken to be of the
 * newest kind; its `max_tokens` default is 4096, which every Claude model accepts.
 */
export const unlistedModelTraits: AnthropicModelTraits = {
  defaultMaxTokens: 4096,
  thinking: "adaptive",
  nativeJsonSchema: true,
};

/** The traits of `model`: its longest listed prefix, else `unlistedModelTraits`. */
export function anthropicModelTraits(model: string): AnthropicModelTraits {
  let best: string | undefined;
  for (const name of Object.keys(anthropicModelTable)) {
    if ((model === name || model.startsWith(`${name}-`)) && (best === undefined || name.length > best.length))
      best = name;
  }
  return (best === undefined ? undefined : anthropicModelTable[best]) ?? unlistedModelTraits;
}

/** `budget_tokens` per reasoning_effort on the budget-thinking families (each ≥ 1024, all < 32000). */
export const thinkingBudgets: Readonly<Record<Exclude<ReasoningEffort, "none">, number>> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16_384,
  xhigh: 24_576,
  max: 28_672,
};

/** `output_config.effort` per reasoning_effort on the adaptive families. */
const adaptiveEfforts: Readonly<Record<Exclude<ReasoningEffort, "none">, AnthropicEffort>> = {
  minimal: "low",
  low: "low",
  medium: "medium",
  high: "high",
  xhigh: "xhigh",
  max: "max",
};

/** The forced tool whose input stands for the content when response_format is not served natively. */
export const JSON_RESPONSE_TOOL = "json_response";

// ---- tool-call ids ------------------------------------------------------------------------------

const ANTHROPIC_TOOL_ID = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * A tool-call id as Anthropic takes it (`^[a-zA-Z0-9_-]+$`, kept to 64 characters): an id that
 * already fits is sent as is (Anthropic's own `toolu_…` ids round-trip unchanged); any other (a
 * Gemini or OpenAI id, say) becomes its readable part plus a hash of the whole, the same for the
 * tool_use block and the tool_result that answers it.
 */
export function anthropicToolId(id: string): string {
  if (ANTHROPIC_TOOL_ID.exec(id) !== null) return id;
  const digest = createHash("sha256").update(id).digest("base64url").slice(0, 22);
  return `${id.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 32)}_${digest}`;
}

// ---- the plan -----------------------------------------------------------------------------------

export interface AnthropicConvertOptions {
  /** `default_max_tokens` of the runtime_config: replaces the table's default. */
  readonly defaultMaxTokens?: number;
}

type FormatPlan =
  | { readonly kind: "none" }
  | { readonly kind: "native"; readonly schema: JsonObject }
  | { readonly kind: "tool"; readonly schema: JsonObject; readonly description: string };

function formatPlan(features: RequestFeatures, traits: AnthropicModelTraits): FormatPlan {
  const format = features.responseFormat;
  if (format === undefined || format.type === "text") return { kind: "none" };
  if (format.type === "json_schema" && format.schema !== undefined && traits.nativeJsonSchema) {
    return { kind: "native", schema: format.schema };
  }
  if (format.type === "json_schema") {
    const about = format.description === undefined ? "" : `: ${format.description}`;
    return {
      kind: "tool",
      schema: format.schema ?? { type: "object" },
      description: `Give the response as this tool's input, a JSON value for "${format.name}"${about}.`,
    };
  }
  return {
    kind: "tool",
    schema: { type: "object" },
    description: "Give the response as this tool's input, a JSON object.",
  };
}

/**
 * The forced tool whose input the decoder turns into content, when `batch` asks for JSON the model
 * does not serve natively (json_object, or json_schema on an older model); else undefined.
 */
export function jsonResponseTool(batch: ExecuteBatch, upstreamModel: string): string | undefined {
  return formatPlan(batch.features, anthropicModelTraits(upstreamModel)).kind === "tool"
    ? JSON_RESPONSE_TOOL
    : undefined;
}

function thinkingOf(
  effort: ReasoningEffort | undefined,
  traits: AnthropicModelTraits,
  model: string,
): { thinking?: AnthropicThinkingConfig; effort?: AnthropicEffort; budget?: number } {
  if (effort === undefined) return {};
  if (effort === "none") return traits.thinking === "none" ? {} : { thinking: { type: "disabled" } };
  if (traits.thinking === "none") {
    throw errors.badRequest(
      `reasoning_effort: anthropic model ${model} does not think (thinking starts with claude-3-7-sonnet)`,
      "reasoning_effort",
    );
  }
  if (traits.thinking === "adaptive")
    return { thinking: { type: "adaptive" }, effort: adaptiveEfforts[effort] };
  const budget = thinkingBudgets[effort];
  return { thinking: { type: "enabled", budget_tokens: budget }, budget };
}

/** The refusals thinking brings (Anthropic answers each of these with a 400 of its own). */
function checkThinking(batch: ExecuteBatch, plan: FormatPlan): void {
  const { sampling, features } = batch;
  const choice = features.toolChoice;
  if (choice === "required" || (typeof choice === "object" && choice !== null)) {
    throw errors.badRequest(
      "tool_choice: anthropic cannot force a tool call (required or a named tool) while the model thinks (reasoning_effort); use auto or none",
      "tool_choice",
    );
  }
  if (sampling.temperature !== undefined && sampling.temperature !== 1) {
    throw errors.badRequest(
      "temperature: anthropic takes no temperature other than 1 while the model thinks (reasoning_effort)",
      "temperature",
    );
  }
  if (sampling.topK !== undefined) {
    throw errors.badRequest(
      "top_k: anthropic takes no top_k while the model thinks (reasoning_effort)",
      "top_k",
    );
  }
  if (sampling.topP !== undefined && sampling.topP < 0.95) {
    throw errors.badRequest(
      "top_p: anthropic takes only top_p from 0.95 to 1 while the model thinks (reasoning_effort)",
      "top_p",
    );
  }
  if (plan.kind === "tool") {
    throw errors.badRequest(
      "response_format: on this model anthropic gives JSON output through a forced tool, which it refuses while the model thinks (reasoning_effort)",
      "response_format",
    );
  }
}

// ---- messages -----------------------------------------------------------------------------------

function textBlock(text: string): AnthropicTextBlock[] {
  return text.length === 0 ? [] : [{ type: "text", text }];
}

function partBlock(part: ContentPart): Array<AnthropicTextBlock | AnthropicImageBlock> {
  if (part.type === "text") return textBlock(part.text);
  return [
    {
      type: "image",
      source:
        part.source.kind === "url"
          ? { type: "url", url: part.source.url }
          : { type: "base64", media_type: part.source.mediaType, data: part.source.data },
    },
  ];
}

function contentBlocks(content: Message["content"]): AnthropicContentBlockParam[] {
  if (content === null) return [];
  if (typeof content === "string") return textBlock(content);
  return content.flatMap(partBlock);
}

function hasImage(content: Message["content"]): boolean {
  return Array.isArray(content) && content.some((part: ContentPart) => part.type === "image");
}

function reasoningBlock(block: ReasoningBlock): AnthropicContentBlockParam {
  return block.type === "thinking"
    ? { type: "thinking", thinking: block.thinking, signature: block.signature }
    : { type: "redacted_thinking", data: block.data };
}

/** A tool call's arguments as the `input` object; "" is no arguments. */
function toolInput(text: string, field: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw errors.badRequest(`${field}: must be a JSON object for anthropic (its tool_use input)`, field);
  }
  return value as Record<string, unknown>;
}

interface Turn {
  readonly role: "user" | "assistant";
  readonly content: AnthropicContentBlockParam[];
}

function turnOf(message: Message, i: number): Turn | undefined {
  const field = `messages[${i}]`;
  switch (message.role) {
    case "user":
      return { role: "user", content: contentBlocks(message.content) };
    case "assistant": {
      if (hasImage(message.content)) {
        throw errors.badRequest(
          `${field}.content: anthropic takes images only in user and tool messages`,
          `${field}.content`,
        );
      }
      const toolUses = (message.toolCalls ?? []).map(
        (call, j): AnthropicContentBlockParam => ({
          type: "tool_use",
          id: anthropicToolId(call.id),
          name: call.function.name,
          input: toolInput(call.function.arguments, `${field}.tool_calls[${j}].function.arguments`),
        }),
      );
      return {
        role: "assistant",
        // signed reasoning first, in order, as Anthropic requires of a turn that thought
        content: [
          ...(message.reasoningBlocks ?? []).map(reasoningBlock),
          ...contentBlocks(message.content),
          ...toolUses,
        ],
      };
    }
    case "tool": {
      if (message.toolCallId === undefined) {
        throw errors.badRequest(`${field}.tool_call_id: is required`, `${field}.tool_call_id`);
      }
      const content =
        message.content === null || typeof message.content === "string"
          ? (message.content ?? "")
          : message.content.flatMap(partBlock);
      return {
        role: "user",
        content: [
          {
            type: "tool_result",
            tool_use_id: anthropicToolId(message.toolCallId),
            content,
            ...(message.toolError === true ? { is_error: true } : {}),
          },
        ],
      };
    }
    case "system":
    case "developer":
      return undefined;
  }
}

/** Turns in order, consecutive same-role ones merged (tool results first in a user turn). */
function mergedTurns(messages: readonly Message[]): AnthropicMessageParam[] {
  const turns: AnthropicMessageParam[] = [];
  messages.forEach((message, i) => {
    const turn = turnOf(message, i);
    if (turn === undefined || turn.content.length === 0) return;
    const last = turns.at(-1);
    if (last !== undefined && last.role === turn.role) last.content.push(...turn.content);
    else turns.push({ role: turn.role, content: [...turn.content] });
  });
  for (const turn of turns) {
    if (turn.role !== "user") continue;
    const results = turn.content.filter((block) => block.type === "tool_result");
    if (results.length > 0)
      turn.content = [...results, ...turn.content.filter((block) => block.type !== "tool_result")];
  }
  return turns;
}

function systemBlocks(messages: readonly Message[]): AnthropicTextBlock[] {
  const blocks: AnthropicTextBlock[] = [];
  messages.forEach((message, i) => {
    if (message.role !== "system" && message.role !== "developer") return;
    if (hasImage(message.content)) {
      const field = `messages[${i}].content`;
      throw errors.badRequest(`${field}: anthropic takes only text in system and developer messages`, field);
    }
    for (const block of contentBlocks(message.content)) if (block.type === "text") blocks.push(block);
  });
  return blocks;
}

// ---- tools --------------------------------------------------------------------------------------

function toolsOf(features: RequestFeatures): AnthropicTool[] | undefined {
  return features.tools?.map((tool) => ({
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    input_schema: tool.parameters !== undefined ? { ...tool.parameters } : { type: "object", properties: {} },
    ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
  }));
}

function toolChoiceOf(features: RequestFeatures, hasTools: boolean): AnthropicToolChoice | undefined {
  const choice = features.toolChoice;
  const serial = features.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined)
    return hasTools && features.parallelToolCalls === false ? { type: "auto", ...serial } : undefined;
  // without tools a choice has nothing to choose from: not sent (the OpenAI dialect allows auto/none then)
  if (!hasTools) return undefined;
  if (choice === "none") return { type: "none" };
  if (choice === "auto") return { type: "auto", ...serial };
  if (choice === "required") return { type: "any", ...serial };
  return { type: "tool", name: choice.name, ...serial };
}

// ---- the body -----------------------------------------------------------------------------------

/**
 * The Messages body for `batch`; throws the InferenceError (400 naming the field) for what
 * Anthropic cannot honour. The adapter's `unsupported` runs it first, so `buildRequest` never throws.
 */
export function convertToAnthropicRequest(
  batch: ExecuteBatch,
  upstreamModel: string,
  options: AnthropicConvertOptions = {},
): AnthropicMessagesRequest {
  const { sampling, features } = batch;
  const traits = anthropicModelTraits(upstreamModel);
  const plan = formatPlan(features, traits);
  const reasoning = thinkingOf(features.reasoningEffort, traits, upstreamModel);
  const thinks = reasoning.thinking !== undefined && reasoning.thinking.type !== "disabled";
  if (thinks) checkThinking(batch, plan);
  const clientTools = toolsOf(features);
  if (
    plan.kind === "tool" &&
    ((clientTools !== undefined && clientTools.length > 0) || features.toolChoice !== undefined)
  ) {
    throw errors.badRequest(
      "response_format: on this model anthropic gives JSON output through a forced tool, which leaves no room for the request's tools or tool_choice",
      "response_format",
    );
  }

  const requested = sampling.maxTokens ?? options.defaultMaxTokens;
  const maxTokens =
    reasoning.budget === undefined
      ? (requested ?? traits.defaultMaxTokens)
      : // thinking counts toward max_tokens: room for the budget on top, within the model's limit
        Math.min(reasoning.budget + (requested ?? traits.defaultMaxTokens), traits.defaultMaxTokens);

  const outputConfig: AnthropicOutputConfig = {
    ...(reasoning.effort !== undefined ? { effort: reasoning.effort } : {}),
    ...(plan.kind === "native"
      ? { format: { type: "json_schema" as const, schema: { ...plan.schema } } }
      : {}),
  };
  const tools =
    plan.kind === "tool"
      ? [{ name: JSON_RESPONSE_TOOL, description: plan.description, input_schema: { ...plan.schema } }]
      : clientTools;
  const toolChoice: AnthropicToolChoice | undefined =
    plan.kind === "tool"
      ? { type: "tool", name: JSON_RESPONSE_TOOL, disable_parallel_tool_use: true }
      : toolChoiceOf(features, clientTools !== undefined && clientTools.length > 0);
  const system = systemBlocks(batch.messages);

  return {
    model: upstreamModel,
    messages: mergedTurns(batch.messages),
    max_tokens: maxTokens,
    stream: true,
    ...(system.length > 0 ? { system } : {}),
    ...(sampling.stop !== undefined && sampling.stop.length > 0
      ? { stop_sequences: [...sampling.stop] }
      : {}),
    ...(sampling.temperature !== undefined ? { temperature: sampling.temperature } : {}),
    ...(sampling.topP !== undefined ? { top_p: sampling.topP } : {}),
    ...(sampling.topK !== undefined ? { top_k: sampling.topK } : {}),
    ...(tools !== undefined ? { tools } : {}),
    ...(toolChoice !== undefined ? { tool_choice: toolChoice } : {}),
    ...(reasoning.thinking !== undefined ? { thinking: reasoning.thinking } : {}),
    ...(Object.keys(outputConfig).length > 0 ? { output_config: outputConfig } : {}),
    ...(features.user !== undefined ? { metadata: { user_id: features.user } } : {}),
  };
}

/** OpenAI sampling fields Anthropic has no equivalent of, by the name the client used. */
const unsupportedSampling = [
  ["presencePenalty", "presence_penalty"],
  ["frequencyPenalty", "frequency_penalty"],
  ["seed", "seed"],
] as const;

/** Why `batch` cannot go to Anthropic (400 naming the field), or undefined when it can. */
export function anthropicRequestProblem(
  batch: ExecuteBatch,
  upstreamModel: string,
  options: AnthropicConvertOptions = {},
): InferenceError | undefined {
  for (const [key, field] of unsupportedSampling) {
    if (batch.sampling[key] !== undefined)
      return errors.badRequest(`${field}: anthropic does not support ${field}`, field);
  }
  try {
    convertToAnthropicRequest(batch, upstreamModel, options);
    return undefined;
  } catch (error) {
    if (error instanceof InferenceError) return error;
    throw error;
  }
}
