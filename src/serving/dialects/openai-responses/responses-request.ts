// Parses and validates the body of POST /v1/responses (docs/api.md, "Responses API") into the
// pieces of a neutral request: the conversation items, sampling, request features, and what the
// Response repeats of the request. Stored state (`previous_response_id`, `item_reference` items)
// is resolved afterwards by the dialect (responses-dialect.ts). Every refusal is a `bad_request`
// InferenceError whose message starts with the offending field's path, e.g. `tools[1].type`.

import { z } from "zod";
import type { ContentPart, ImageDetail, SamplingParams } from "../../../core/batch.js";
import { errors, type InferenceError } from "../../../core/inference-error.js";
import {
  type RequestFeatures,
  type ResponseFormat,
  reasoningEfforts,
  type ToolChoice,
  type ToolDefinition,
} from "../../../core/request-features.js";
import { formatPath, issueToError, type PathSegment } from "../body-issues.js";
import { imageSourceOf } from "../openai/image-url.js";
import { type ConversationItem, decodeEnvelope } from "./responses-items.js";
import type { FunctionToolJson, ResponseEcho, TextFormatJson, ToolChoiceJson } from "./responses-wire.js";

/** An input item: a conversation item, or a reference to an output item of a stored response. */
export type InputItem = ConversationItem | { readonly kind: "reference"; readonly id: string };

/** A validated body, before stored state is read. */
export interface ResponsesBody {
  readonly model: string;
  readonly instructions?: string;
  readonly items: readonly InputItem[];
  readonly sampling: SamplingParams;
  readonly features: RequestFeatures;
  readonly stream: boolean;
  readonly priority: number;
  /** Whether the response is kept (`store`, default true as OpenAI's). */
  readonly store: boolean;
  readonly previousResponseId?: string;
  /** `include` asks for `reasoning.encrypted_content`: answers show the reasoning envelope. */
  readonly includeEncrypted: boolean;
  readonly echo: ResponseEcho;
}

export type ResponsesBodyParse =
  | { readonly ok: true; readonly body: ResponsesBody }
  | { readonly ok: false; readonly error: InferenceError };

type Path = readonly PathSegment[];

// ── field schemas ───────────────────────────────────────────────────────────────────────────────

const requiredString = (what = "must be a string") =>
  z.string({ error: (issue) => (issue.input === undefined ? "is required" : what) });
const positiveInt = z
  .int({ error: "must be a positive integer" })
  .min(1, { error: "must be a positive integer" });
const integer = z.int({ error: "must be an integer" });
const bool = z.boolean({ error: "must be a boolean" });
const optionalString = z.string({ error: "must be a string" }).nullish();
const jsonObject = z.record(z.string(), z.unknown(), { error: "must be an object" });

const NAME_RULE = "must be 1–64 letters, digits, _ or -";
const functionName = requiredString().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: NAME_RULE });

const functionToolSchema = z.object({
  type: z.literal("function"),
  name: functionName,
  description: optionalString,
  parameters: jsonObject.nullish(),
  strict: bool.nullish(),
});

const textFormatSchema = z.discriminatedUnion(
  "type",
  [
    z.object({ type: z.literal("text") }),
    z.object({ type: z.literal("json_object") }),
    z.object({
      type: z.literal("json_schema"),
      name: functionName,
      schema: z.record(z.string(), z.unknown(), {
        error: (issue) => (issue.input === undefined ? "is required" : "must be an object"),
      }),
      description: optionalString,
      strict: bool.nullish(),
    }),
  ],
  {
    error:
      'must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "name": …, "schema": {…}}',
  },
);

const METADATA_RULE = "must be an object of at most 16 strings (keys up to 64 characters, values up to 512)";
const metadataSchema = z
  .record(
    z.string().max(64, { error: METADATA_RULE }),
    z.string({ error: METADATA_RULE }).max(512, {
      error: METADATA_RULE,
    }),
    { error: METADATA_RULE },
  )
  .refine((metadata) => Object.keys(metadata).length <= 16, { error: METADATA_RULE });

const reasoningSummaries = ["auto", "concise", "detailed"] as const;
const summarySchema = z
  .enum(reasoningSummaries, { error: `must be one of ${reasoningSummaries.map((s) => `"${s}"`).join(", ")}` })
  .nullish();

const bodySchema = z.object(
  {
    model: requiredString().min(1, { error: "must be a non-empty string" }),
    input: z.union([z.string(), z.array(z.unknown()).min(1, { error: "must not be an empty array" })], {
      error: (issue) =>
        issue.input === undefined ? "is required" : "must be a string or an array of input items",
    }),
    instructions: optionalString,
    tools: z.array(z.unknown(), { error: "must be an array of tools" }).nullish(),
    tool_choice: z.unknown().optional(),
    parallel_tool_calls: bool.nullish(),
    max_output_tokens: positiveInt.nullish(),
    temperature: z
      .number({ error: "must be between 0 and 2" })
      .min(0, { error: "must be between 0 and 2" })
      .max(2, { error: "must be between 0 and 2" })
      .nullish(),
    top_p: z
      .number({ error: "must be greater than 0 and at most 1" })
      .gt(0, { error: "must be greater than 0 and at most 1" })
      .max(1, { error: "must be greater than 0 and at most 1" })
      .nullish(),
    text: z
      .object(
        {
          format: textFormatSchema.nullish(),
          verbosity: z
            .enum(["low", "medium", "high"], { error: 'must be "low", "medium" or "high"' })
            .nullish(),
        },
        { error: "must be an object" },
      )
      .nullish(),
    reasoning: z
      .object(
        {
          effort: z
            .enum(reasoningEfforts, {
              error: `must be one of ${reasoningEfforts.map((e) => `"${e}"`).join(", ")}`,
            })
            .nullish(),
          summary: summarySchema,
          generate_summary: summarySchema,
        },
        { error: "must be an object" },
      )
      .nullish(),
    stream: bool.nullish(),
    stream_options: z
      .object({ include_obfuscation: bool.nullish() }, { error: "must be an object" })
      .nullish(),
    store: bool.nullish(),
    previous_response_id: z
      .string({ error: "must be a string" })
      .min(1, { error: "must be a non-empty string" })
      .nullish(),
    user: optionalString,
    safety_identifier: optionalString,
    metadata: metadataSchema.nullish(),
    include: z
      .array(z.string({ error: "must be a string" }), { error: "must be an array of strings" })
      .nullish(),
    priority: integer.nullish(),
    // Fields refused unless they hold their neutral value (see refusals below).
    top_logprobs: integer.nullish(),
    truncation: z.enum(["auto", "disabled"], { error: 'must be "auto" or "disabled"' }).nullish(),
    background: bool.nullish(),
    conversation: z.unknown().optional(),
    prompt: z.unknown().optional(),
    max_tool_calls: z.unknown().optional(),
  },
  { error: "must be a JSON object" },
);

type Body = z.infer<typeof bodySchema>;

// ── input items ─────────────────────────────────────────────────────────────────────────────────

const messageRoles = ["user", "assistant", "system", "developer"] as const;
const messageItemSchema = z.object({
  role: z.enum(messageRoles, {
    error: (issue) =>
      issue.input === undefined ? "is required" : `must be one of ${messageRoles.join(", ")}`,
  }),
  content: z.union([z.string(), z.array(z.unknown()).min(1, { error: "must not be an empty array" })], {
    error: (issue) =>
      issue.input === undefined ? "is required" : "must be a string or an array of content parts",
  }),
});
const functionCallSchema = z.object({
  call_id: requiredString().min(1, { error: "must be a non-empty string" }),
  name: requiredString().min(1, { error: "must be a non-empty string" }),
  arguments: requiredString(),
});
const functionCallOutputSchema = z.object({
  call_id: requiredString().min(1, { error: "must be a non-empty string" }),
  output: z.union([z.string(), z.array(z.unknown())], {
    error: (issue) =>
      issue.input === undefined ? "is required" : "must be a string or an array of input_text parts",
  }),
});
const reasoningItemSchema = z.object({ encrypted_content: optionalString });
const itemReferenceSchema = z.object({
  id: requiredString().min(1, { error: "must be a non-empty string" }),
});
const textPartSchema = z.object({ text: requiredString() });
const refusalPartSchema = z.object({ refusal: requiredString() });
const imageDetails = ["auto", "low", "high", "original"] as const;
const imagePartSchema = z.object({
  image_url: optionalString,
  file_id: optionalString,
  detail: z.enum(imageDetails, { error: `must be one of ${imageDetails.join(", ")}` }).nullish(),
});

type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: InferenceError };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(path: Path, message: string): Result<T> => ({ ok: false, error: refuse(path, message) });

function check<T>(schema: z.ZodType<T>, value: unknown, path: Path): Result<T> {
  const parsed = schema.safeParse(value);
  return parsed.success ? ok(parsed.data) : { ok: false, error: issueToError(parsed.error.issues, path) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One element of `input` (or an output item of a stored response read back as one). */
export function parseInputItem(value: unknown, path: Path): Result<InputItem> {
  if (!isObject(value)) return fail(path, "must be an object");
  const type = value.type ?? ("role" in value ? "message" : undefined);
  if (type === undefined) return fail([...path, "type"], "is required");
  if (typeof type !== "string") return fail([...path, "type"], "must be a string");
  switch (type) {
    case "message":
      return parseMessageItem(value, path);
    case "function_call": {
      const call = check(functionCallSchema, value, path);
      if (!call.ok) return call;
      const { call_id, name, arguments: args } = call.value;
      return ok({
        kind: "function_call",
        call: { id: call_id, type: "function", function: { name, arguments: args } },
      });
    }
    case "function_call_output": {
      const output = check(functionCallOutputSchema, value, path);
      if (!output.ok) return output;
      const text = outputText(output.value.output, [...path, "output"]);
      if (!text.ok) return text;
      return ok({ kind: "function_call_output", callId: output.value.call_id, output: text.value });
    }
    case "reasoning": {
      const reasoning = check(reasoningItemSchema, value, path);
      if (!reasoning.ok) return reasoning;
      const encrypted = reasoning.value.encrypted_content;
      return ok({ kind: "reasoning", envelope: encrypted ? decodeEnvelope(encrypted) : undefined });
    }
    case "item_reference": {
      const reference = check(itemReferenceSchema, value, path);
      return reference.ok ? ok({ kind: "reference", id: reference.value.id }) : reference;
    }
    default:
      return fail([...path, "type"], `"${truncate(type)}" items are not supported`);
  }
}

function parseMessageItem(value: Record<string, unknown>, path: Path): Result<InputItem> {
  const parsed = check(messageItemSchema, value, path);
  if (!parsed.ok) return parsed;
  const { role, content } = parsed.value;
  if (role === "assistant") {
    if (typeof content === "string") return ok({ kind: "assistant", text: content });
    const texts: string[] = [];
    for (const [index, part] of content.entries()) {
      const text = assistantPartText(part, [...path, "content", index]);
      if (!text.ok) return text;
      texts.push(text.value);
    }
    return ok({ kind: "assistant", text: texts.join("") });
  }
  if (typeof content === "string") return ok({ kind: "message", message: { role, content } });
  const parts: ContentPart[] = [];
  for (const [index, part] of content.entries()) {
    const converted = inputPart(part, role, [...path, "content", index]);
    if (!converted.ok) return converted;
    parts.push(converted.value);
  }
  return ok({ kind: "message", message: { role, content: parts } });
}

/** A part of an assistant message: output_text (or input_text) and refusal parts are its text. */
function assistantPartText(part: unknown, path: Path): Result<string> {
  if (!isObject(part)) return fail(path, "must be an object");
  switch (part.type) {
    case "output_text":
    case "input_text": {
      const text = check(textPartSchema, part, path);
      return text.ok ? ok(text.value.text) : text;
    }
    case "refusal": {
      const refusal = check(refusalPartSchema, part, path);
      return refusal.ok ? ok(refusal.value.refusal) : refusal;
    }
    case "input_image":
      return fail([...path, "type"], "images are only allowed in user messages");
    default:
      return fail([...path, "type"], "must be one of output_text, refusal (in assistant messages)");
  }
}

/** A part of a user, system or developer message: text, or (user only) an image. */
function inputPart(part: unknown, role: "user" | "system" | "developer", path: Path): Result<ContentPart> {
  if (!isObject(part)) return fail(path, "must be an object");
  switch (part.type) {
    case "input_text": {
      const text = check(textPartSchema, part, path);
      return text.ok ? ok({ type: "text", text: text.value.text }) : text;
    }
    case "input_image": {
      if (role !== "user") return fail([...path, "type"], "images are only allowed in user messages");
      const image = check(imagePartSchema, part, path);
      if (!image.ok) return image;
      if (image.value.file_id != null)
        return fail(
          [...path, "file_id"],
          "file ids are not supported: send image_url (a URL or a data: URL)",
        );
      const url = image.value.image_url;
      if (url == null) return fail([...path, "image_url"], "is required");
      const source = imageSourceOf(url);
      if (source === undefined)
        return fail(
          [...path, "image_url"],
          "must be an http(s) URL or a data:image/<type>;base64,<data> URL",
        );
      const detail = imageDetailOf(image.value.detail);
      return ok(detail === undefined ? { type: "image", source } : { type: "image", source, detail });
    }
    case "input_file":
      return fail([...path, "type"], "input_file parts are not supported");
    case "output_text":
    case "refusal":
      return fail([...path, "type"], `${part.type} parts are only allowed in assistant messages`);
    default:
      return fail([...path, "type"], "must be one of input_text, input_image");
  }
}

/** A function call's output: a string, or input_text parts joined. */
function outputText(output: string | readonly unknown[], path: Path): Result<string> {
  if (typeof output === "string") return ok(output);
  const texts: string[] = [];
  for (const [index, part] of output.entries()) {
    const partPath = [...path, index];
    if (!isObject(part)) return fail(partPath, "must be an object");
    if (part.type !== "input_text")
      return fail([...partPath, "type"], "only input_text parts are supported in a function call output");
    const text = check(textPartSchema, part, partPath);
    if (!text.ok) return text;
    texts.push(text.value.text);
  }
  return ok(texts.join(""));
}

/** `original` (full resolution) is the neutral model's `high`. */
function imageDetailOf(detail: (typeof imageDetails)[number] | null | undefined): ImageDetail | undefined {
  if (detail == null) return undefined;
  return detail === "original" ? "high" : detail;
}

// ── tools ───────────────────────────────────────────────────────────────────────────────────────

function parseTool(value: unknown, index: number): Result<ToolDefinition> {
  const path = ["tools", index];
  if (!isObject(value)) return fail(path, "must be an object");
  if (value.type === undefined) return fail([...path, "type"], "is required");
  if (typeof value.type !== "string") return fail([...path, "type"], "must be a string");
  if (value.type !== "function")
    return fail(
      [...path, "type"],
      `built-in tool "${truncate(value.type)}" is not supported: only function tools are`,
    );
  const tool = check(functionToolSchema, value, path);
  if (!tool.ok) return tool;
  const { name, description, parameters, strict } = tool.value;
  const definition: { -readonly [K in keyof ToolDefinition]: ToolDefinition[K] } = { name };
  if (description != null) definition.description = description;
  if (parameters != null) definition.parameters = parameters;
  if (strict != null) definition.strict = strict;
  return ok(definition);
}

const TOOL_CHOICE_RULE = 'must be "auto", "none", "required" or {"type": "function", "name": …}';

function parseToolChoice(value: unknown): Result<ToolChoice | undefined> {
  if (value == null) return ok(undefined);
  if (typeof value === "string") {
    return value === "auto" || value === "none" || value === "required"
      ? ok(value)
      : fail(["tool_choice"], TOOL_CHOICE_RULE);
  }
  if (!isObject(value)) return fail(["tool_choice"], TOOL_CHOICE_RULE);
  if (typeof value.type !== "string") return fail(["tool_choice", "type"], TOOL_CHOICE_RULE);
  if (value.type !== "function")
    return fail(
      ["tool_choice", "type"],
      `"${truncate(value.type)}" is not supported: only function tools are`,
    );
  const name = check(functionName, value.name, ["tool_choice", "name"]);
  return name.ok ? ok({ name: name.value }) : name;
}

/** A repeated tool name, or a tool_choice that names no tool (or asks for one with none given). */
function toolRefusal(
  tools: readonly ToolDefinition[],
  choice: ToolChoice | undefined,
): InferenceError | undefined {
  const names = tools.map((tool) => tool.name);
  const repeated = names.findIndex((name, index) => names.indexOf(name) !== index);
  if (repeated >= 0) return refuse(["tools", repeated, "name"], `repeats the tool name "${names[repeated]}"`);
  if (choice === undefined || choice === "auto" || choice === "none") return undefined;
  if (names.length === 0) return refuse(["tool_choice"], "asks for a tool call, but tools is empty");
  if (typeof choice !== "string" && !names.includes(choice.name))
    return refuse(["tool_choice"], `names the function "${choice.name}", which is not in tools`);
  return undefined;
}

// ── the body ────────────────────────────────────────────────────────────────────────────────────

/** Fields we cannot honour: refused by name, never silently ignored. */
function fieldRefusal(data: Body): InferenceError | undefined {
  if (data.top_logprobs != null && data.top_logprobs > 0)
    return refuse(["top_logprobs"], "log probabilities are not supported");
  const logprobs = data.include?.indexOf("message.output_text.logprobs") ?? -1;
  if (logprobs >= 0) return refuse(["include", logprobs], "log probabilities are not supported");
  if (data.truncation === "auto")
    return refuse(["truncation"], 'only "disabled" is supported: the gateway never drops input items');
  if (data.background === true) return refuse(["background"], "background responses are not supported");
  if (data.conversation != null)
    return refuse(["conversation"], "conversations are not supported: use previous_response_id");
  if (data.prompt != null) return refuse(["prompt"], "stored prompts are not supported");
  if (data.max_tool_calls != null) return refuse(["max_tool_calls"], "max_tool_calls is not supported");
  const verbosity = data.text?.verbosity;
  if (verbosity != null && verbosity !== "medium")
    return refuse(["text", "verbosity"], 'only "medium" is supported (no runtime takes a verbosity)');
  return undefined;
}

/** Validates a POST /v1/responses body (already JSON-parsed). */
export function parseResponsesBody(body: unknown): ResponsesBodyParse {
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) return { ok: false, error: issueToError(parsed.error.issues, []) };
  const data = parsed.data;
  const refusal = fieldRefusal(data);
  if (refusal) return { ok: false, error: refusal };

  const tools: ToolDefinition[] = [];
  for (const [index, value] of (data.tools ?? []).entries()) {
    const tool = parseTool(value, index);
    if (!tool.ok) return tool;
    tools.push(tool.value);
  }
  const choice = parseToolChoice(data.tool_choice);
  if (!choice.ok) return choice;
  const toolChoice = choice.value;
  const toolProblem = toolRefusal(tools, toolChoice);
  if (toolProblem) return { ok: false, error: toolProblem };

  const items: InputItem[] = [];
  if (typeof data.input === "string")
    items.push({ kind: "message", message: { role: "user", content: data.input } });
  else {
    for (const [index, value] of data.input.entries()) {
      const item = parseInputItem(value, ["input", index]);
      if (!item.ok) return item;
      items.push(item.value);
    }
  }

  const format = data.text?.format ?? undefined;
  const responseFormat = toResponseFormat(format);
  const sampling: { -readonly [K in keyof SamplingParams]: SamplingParams[K] } = {};
  if (data.temperature != null) sampling.temperature = data.temperature;
  if (data.top_p != null) sampling.topP = data.top_p;
  if (data.max_output_tokens != null) sampling.maxTokens = data.max_output_tokens;
  const features: { -readonly [K in keyof RequestFeatures]: RequestFeatures[K] } = {};
  if (tools.length > 0) features.tools = tools;
  if (toolChoice !== undefined) features.toolChoice = toolChoice;
  if (data.parallel_tool_calls != null) features.parallelToolCalls = data.parallel_tool_calls;
  if (responseFormat !== undefined) features.responseFormat = responseFormat;
  if (data.reasoning?.effort != null) features.reasoningEffort = data.reasoning.effort;
  const user = data.user ?? data.safety_identifier ?? undefined;
  if (user !== undefined) features.user = user;

  const result: { -readonly [K in keyof ResponsesBody]: ResponsesBody[K] } = {
    model: data.model,
    items,
    sampling,
    features,
    stream: data.stream === true,
    priority: data.priority ?? 0,
    store: data.store ?? true,
    includeEncrypted: data.include?.includes("reasoning.encrypted_content") ?? false,
    echo: echoOf(data, tools, toolChoice, format),
  };
  if (data.instructions != null) result.instructions = data.instructions;
  if (data.previous_response_id != null) result.previousResponseId = data.previous_response_id;
  return { ok: true, body: result };
}

type TextFormat = z.infer<typeof textFormatSchema>;

function toResponseFormat(format: TextFormat | undefined): ResponseFormat | undefined {
  if (format === undefined) return undefined;
  if (format.type !== "json_schema") return { type: format.type };
  return {
    type: "json_schema",
    name: format.name,
    schema: format.schema,
    ...(format.description != null ? { description: format.description } : {}),
    ...(format.strict != null ? { strict: format.strict } : {}),
  };
}

/** What the Response repeats, with OpenAI's defaults for what the request left out. */
function echoOf(
  data: Body,
  tools: readonly ToolDefinition[],
  choice: ToolChoice | undefined,
  format: TextFormat | undefined,
): ResponseEcho {
  const toolsJson = tools.map(
    (tool): FunctionToolJson => ({
      type: "function",
      name: tool.name,
      description: tool.description ?? null,
      parameters: tool.parameters ?? null,
      strict: tool.strict ?? null,
    }),
  );
  const choiceJson: ToolChoiceJson =
    choice === undefined
      ? "auto"
      : typeof choice === "string"
        ? choice
        : { type: "function", name: choice.name };
  const echo: { -readonly [K in keyof ResponseEcho]: ResponseEcho[K] } = {
    instructions: data.instructions ?? null,
    max_output_tokens: data.max_output_tokens ?? null,
    parallel_tool_calls: data.parallel_tool_calls ?? true,
    previous_response_id: data.previous_response_id ?? null,
    reasoning: {
      effort: data.reasoning?.effort ?? null,
      summary: data.reasoning?.summary ?? data.reasoning?.generate_summary ?? null,
    },
    temperature: data.temperature ?? null,
    text:
      data.text?.verbosity === "medium"
        ? { format: formatJson(format), verbosity: "medium" }
        : { format: formatJson(format) },
    tool_choice: choiceJson,
    tools: toolsJson,
    top_p: data.top_p ?? null,
    metadata: data.metadata ?? {},
  };
  const user = data.user ?? undefined;
  if (user !== undefined) echo.user = user;
  return echo;
}

function formatJson(format: TextFormat | undefined): TextFormatJson {
  if (format === undefined) return { type: "text" };
  if (format.type !== "json_schema") return { type: format.type };
  return {
    type: "json_schema",
    name: format.name,
    schema: format.schema,
    ...(format.description != null ? { description: format.description } : {}),
    ...(format.strict != null ? { strict: format.strict } : {}),
  };
}

// ── errors ──────────────────────────────────────────────────────────────────────────────────────

function refuse(path: Path, message: string): InferenceError {
  const field = formatPath(path);
  return errors.badRequest(`${field}: ${message}`, field);
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
