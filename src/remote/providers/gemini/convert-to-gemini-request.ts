// ExecuteBatch → Gemini GenerateContentRequest (docs/providers.md, `runtime = "gemini"`, "How a
// request is translated"). Called by gemini-provider.ts twice: from `unsupported` (a field Gemini
// cannot honour, or a message it cannot take, is a 400 naming the OpenAI field) and from
// `buildRequest`. Throws only InferenceErrors of kind bad_request.

import { type ContentPart, type ExecuteBatch, type Message, messageText } from "../../../core/batch.js";
import { errors } from "../../../core/inference-error.js";
import type { ReasoningEffort, RequestFeatures, ToolChoice } from "../../../core/request-features.js";
import { signatureFromToolCallId } from "./gemini-tool-call-id.js";
import type {
  GeminiContent,
  GeminiGenerationConfig,
  GeminiJsonObject,
  GeminiPart,
  GeminiRequest,
  GeminiThinkingConfig,
  GeminiThinkingLevel,
  GeminiToolConfig,
} from "./gemini-wire.js";

/** `models/gemini-2.5-pro` and `gemini-2.5-pro` name the same model. */
export function bareModelName(model: string): string {
  return model.replace(/^models\//, "");
}

// ---- reasoning_effort → thinkingConfig ----------------------------------------------------------

/** How a model family takes a thinking setting (docs/providers.md, "reasoning_effort"). */
type ThinkingStyle =
  | { readonly kind: "levels"; readonly levels: readonly GeminiThinkingLevel[] }
  | { readonly kind: "budget"; readonly maxBudget: number; readonly canTurnOff: boolean }
  | { readonly kind: "none" };

const levelOrder: readonly GeminiThinkingLevel[] = ["MINIMAL", "LOW", "MEDIUM", "HIGH"];

/** The level each effort asks for; a model without it gets the next one up it has. */
const levelForEffort: Readonly<Record<Exclude<ReasoningEffort, "none">, GeminiThinkingLevel>> = {
  minimal: "MINIMAL",
  low: "LOW",
  medium: "MEDIUM",
  high: "HIGH",
  xhigh: "HIGH",
  max: "HIGH",
};

/** Gemini 2.5 thinking budgets in tokens; `xhigh` and `max` take the model's largest. */
const budgetForEffort: Readonly<Record<"minimal" | "low" | "medium" | "high", number>> = {
  minimal: 512,
  low: 1024,
  medium: 8192,
  high: 24_576,
};

function thinkingStyle(model: string): ThinkingStyle {
  const name = bareModelName(model).toLowerCase();
  // Gemini 3 Pro takes LOW and HIGH only; later 3.x Pro models add MEDIUM; Flash models take all four
  if (name.startsWith("gemini-3-pro")) return { kind: "levels", levels: ["LOW", "HIGH"] };
  if (name.startsWith("gemini-3") && name.includes("-pro"))
    return { kind: "levels", levels: ["LOW", "MEDIUM", "HIGH"] };
  if (name.startsWith("gemini-3")) return { kind: "levels", levels: levelOrder };
  // 2.5 Pro thinks 128–32768 tokens and cannot stop; 2.5 Flash and Flash-Lite up to 24576, or 0
  if (name.startsWith("gemini-2.5-pro")) return { kind: "budget", maxBudget: 32_768, canTurnOff: false };
  if (name.startsWith("gemini-2.0") || name.startsWith("gemini-1.")) return { kind: "none" };
  // 2.5 Flash, Flash-Lite and names we do not know (aliases such as gemini-flash-latest): a budget,
  // the form every thinking Gemini model takes (Gemini 3 too, for backward compatibility)
  return { kind: "budget", maxBudget: 24_576, canTurnOff: true };
}

/** The thinkingConfig for `effort` on `model`; a 400 naming reasoning_effort when the model cannot. */
export function geminiThinkingConfig(model: string, effort: ReasoningEffort): GeminiThinkingConfig {
  const style = thinkingStyle(model);
  const name = bareModelName(model);
  if (style.kind === "none") {
    throw errors.badRequest(
      `reasoning_effort: ${name} does not think; leave reasoning_effort out`,
      "reasoning_effort",
    );
  }
  if (style.kind === "levels") {
    if (effort === "none") {
      throw errors.badRequest(
        `reasoning_effort: "none" is not available on ${name}: Gemini 3 models cannot turn thinking off (the lowest is "minimal")`,
        "reasoning_effort",
      );
    }
    const wanted = levelOrder.indexOf(levelForEffort[effort]);
    const level = style.levels.find((candidate) => levelOrder.indexOf(candidate) >= wanted) ?? "HIGH";
    return { includeThoughts: true, thinkingLevel: level };
  }
  if (effort === "none") {
    if (!style.canTurnOff) {
      throw errors.badRequest(
        `reasoning_effort: "none" is not available on ${name}: it cannot turn thinking off (the lowest is "minimal")`,
        "reasoning_effort",
      );
    }
    return { includeThoughts: true, thinkingBudget: 0 };
  }
  const budget = effort === "xhigh" || effort === "max" ? style.maxBudget : budgetForEffort[effort];
  return { includeThoughts: true, thinkingBudget: Math.min(budget, style.maxBudget) };
}

// ---- messages → contents -------------------------------------------------------------------------

const imageTypesByExtension: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
};

/** An image URL's media type from its extension; image/jpeg when it has none we know. */
export function imageMimeTypeOf(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // not a URL we can parse: read the extension from the text as is
  }
  const extension = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return (
    (extension !== undefined && Object.hasOwn(imageTypesByExtension, extension)
      ? imageTypesByExtension[extension]
      : undefined) ?? "image/jpeg"
  );
}

function contentParts(content: Message["content"]): GeminiPart[] {
  if (content === null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ text: content }];
  return content.flatMap((part: ContentPart): GeminiPart[] => {
    if (part.type === "text") return part.text === "" ? [] : [{ text: part.text }];
    // `detail` has no Gemini equivalent per image: the image is sent, the hint is not
    const source = part.source;
    return source.kind === "base64"
      ? [{ inlineData: { mimeType: source.mediaType, data: source.data } }]
      : [{ fileData: { mimeType: imageMimeTypeOf(source.url), fileUri: source.url } }];
  });
}

function isJsonObject(value: unknown): value is GeminiJsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A call's `arguments` text as the object Gemini's `functionCall.args` is ("" stands for {}). */
function callArguments(text: string, field: string): GeminiJsonObject {
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw errors.badRequest(`${field}: must be a JSON object for Gemini, got text that is not JSON`, field);
  }
  if (!isJsonObject(parsed)) throw errors.badRequest(`${field}: must be a JSON object for Gemini`, field);
  return parsed;
}

/** A tool's error as the response's `error`: a JSON object as is, anything else as its text. */
function toolErrorValue(text: string): GeminiJsonObject | string {
  const response = toolResponse(text);
  return "result" in response && Object.keys(response).length === 1 && response.result === text
    ? text
    : response;
}

/** A tool result as `functionResponse.response`: a JSON object as is, anything else as `{result}`. */
function toolResponse(text: string): GeminiJsonObject {
  try {
    const parsed: unknown = JSON.parse(text);
    if (isJsonObject(parsed)) return parsed;
  } catch {
    // plain text: wrapped below
  }
  return { result: text };
}

interface Converted {
  readonly contents: GeminiContent[];
  readonly system: Array<{ text: string }>;
}

function convertMessages(messages: readonly Message[]): Converted {
  const contents: GeminiContent[] = [];
  const system: Array<{ text: string }> = [];
  /** Function names by the ids of the calls made so far, for the tool results that answer them. */
  const callNames = new Map<string, string>();
  const append = (role: "user" | "model", parts: GeminiPart[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last !== undefined && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  messages.forEach((message, i) => {
    switch (message.role) {
      case "system":
      case "developer": {
        const text = messageText(message);
        if (text !== "") system.push({ text });
        return;
      }
      case "user":
        append("user", contentParts(message.content));
        return;
      case "assistant": {
        const parts = contentParts(message.content);
        (message.toolCalls ?? []).forEach((call, j) => {
          const field = `messages[${i}].tool_calls[${j}].function.arguments`;
          const signature = call.signature ?? signatureFromToolCallId(call.id);
          callNames.set(call.id, call.function.name);
          parts.push({
            functionCall: { name: call.function.name, args: callArguments(call.function.arguments, field) },
            ...(signature === undefined ? {} : { thoughtSignature: signature }),
          });
        });
        append("model", parts);
        return;
      }
      case "tool": {
        const field = `messages[${i}].tool_call_id`;
        const name = message.toolCallId === undefined ? undefined : callNames.get(message.toolCallId);
        if (name === undefined) {
          throw errors.badRequest(
            `${field}: answers no tool call of an earlier assistant message (Gemini needs the function's name)`,
            field,
          );
        }
        const text = messageText(message);
        // Gemini's convention for a failed call: the response's `error` field
        const response = message.toolError === true ? { error: toolErrorValue(text) } : toolResponse(text);
        append("user", [{ functionResponse: { name, response } }]);
        return;
      }
    }
  });
  return { contents, system };
}

// ---- features ------------------------------------------------------------------------------------

function toolConfig(choice: ToolChoice): GeminiToolConfig {
  if (choice === "auto") return { functionCallingConfig: { mode: "AUTO" } };
  if (choice === "required") return { functionCallingConfig: { mode: "ANY" } };
  if (choice === "none") return { functionCallingConfig: { mode: "NONE" } };
  return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.name] } };
}

function featureFields(features: RequestFeatures): Pick<GeminiRequest, "tools" | "toolConfig"> {
  if (features.parallelToolCalls === false) {
    throw errors.badRequest(
      "parallel_tool_calls: Gemini cannot be held to one tool call per turn; leave parallel_tool_calls out or set it to true",
      "parallel_tool_calls",
    );
  }
  return {
    ...(features.tools !== undefined && features.tools.length > 0
      ? {
          tools: [
            {
              functionDeclarations: features.tools.map((tool) => ({
                name: tool.name,
                ...(tool.description !== undefined ? { description: tool.description } : {}),
                ...(tool.parameters !== undefined ? { parametersJsonSchema: { ...tool.parameters } } : {}),
              })),
            },
          ],
        }
      : {}),
    ...(features.toolChoice !== undefined ? { toolConfig: toolConfig(features.toolChoice) } : {}),
  };
}

function generationConfig(batch: ExecuteBatch, model: string): GeminiGenerationConfig {
  const sampling = batch.sampling;
  const format = batch.features.responseFormat;
  const effort = batch.features.reasoningEffort;
  return {
    ...(sampling.maxTokens !== undefined ? { maxOutputTokens: sampling.maxTokens } : {}),
    ...(sampling.temperature !== undefined ? { temperature: sampling.temperature } : {}),
    ...(sampling.topP !== undefined ? { topP: sampling.topP } : {}),
    ...(sampling.topK !== undefined ? { topK: sampling.topK } : {}),
    ...(sampling.stop !== undefined && sampling.stop.length > 0 ? { stopSequences: [...sampling.stop] } : {}),
    ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
    ...(sampling.presencePenalty !== undefined ? { presencePenalty: sampling.presencePenalty } : {}),
    ...(sampling.frequencyPenalty !== undefined ? { frequencyPenalty: sampling.frequencyPenalty } : {}),
    ...(format?.type === "json_object" || format?.type === "json_schema"
      ? { responseMimeType: "application/json" }
      : {}),
    ...(format?.type === "json_schema" && format.schema !== undefined
      ? { responseJsonSchema: { ...format.schema } }
      : {}),
    ...(effort !== undefined ? { thinkingConfig: geminiThinkingConfig(model, effort) } : {}),
  };
}

/** The Gemini request for `batch` on `upstreamModel`; throws a bad_request naming the field it cannot take. */
export function convertToGeminiRequest(batch: ExecuteBatch, upstreamModel: string): GeminiRequest {
  const { contents, system } = convertMessages(batch.messages);
  if (contents.length === 0) {
    throw errors.badRequest(
      "messages: Gemini needs at least one user or assistant message with content",
      "messages",
    );
  }
  const features = featureFields(batch.features);
  const config = generationConfig(batch, upstreamModel);
  // `user` (the end-user id) has no Gemini field: it is not sent
  return {
    contents,
    ...(system.length > 0 ? { systemInstruction: { parts: system } } : {}),
    ...features,
    ...(Object.keys(config).length > 0 ? { generationConfig: config } : {}),
  };
}
