// Parses and validates the JSON body of POST /v1/messages (and /v1/messages/count_tokens, which
// takes the same body without `max_tokens`) into the neutral ServiceRequest: Anthropic's blocks
// become messages, tool calls and tool results, signed reasoning blocks; `thinking` and
// `output_config` become the reasoning effort and response format (docs/api.md, "Anthropic
// Messages API"). Every refusal is a `bad_request` whose message starts with the field's path.

import { z } from "zod";
import type { ContentPart, Message, ReasoningBlock, SamplingParams, ToolCall } from "../../../core/batch.js";
import type { ServiceRequest } from "../../../core/dialect.js";
import { errors, type InferenceError } from "../../../core/inference-error.js";
import type {
  ReasoningEffort,
  RequestFeatures,
  ResponseFormat,
  ToolChoice,
  ToolDefinition,
} from "../../../core/request-features.js";
import { issueToError } from "../body-issues.js";

export type AnthropicParse =
  | { readonly ok: true; readonly request: ServiceRequest }
  | { readonly ok: false; readonly error: InferenceError };

// ── field schemas ───────────────────────────────────────────────────────────────────────────────

const requiredString = (what = "must be a string") =>
  z.string({ error: (issue) => (issue.input === undefined ? "is required" : what) });
const nonEmptyString = () => requiredString().min(1, { error: "must be a non-empty string" });
const bool = z.boolean({ error: "must be a boolean" });
const positiveInt = z.int({
  error: (issue) => (issue.input === undefined ? "is required" : "must be a positive integer"),
});
const numberBetween = (min: number, max: number) => {
  const error = `must be between ${min} and ${max}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
};
const jsonObject = z.record(z.string(), z.unknown(), {
  error: (issue) => (issue.input === undefined ? "is required" : "must be an object"),
});

const NAME_RULE = "must be 1–64 letters, digits, _ or -";
const toolName = requiredString().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: NAME_RULE });

// ── content blocks ──────────────────────────────────────────────────────────────────────────────

const textBlock = z.object({ type: z.literal("text"), text: requiredString() });

const imageSource = z.discriminatedUnion(
  "type",
  [
    z.object({
      type: z.literal("base64"),
      media_type: requiredString().regex(/^image\/[A-Za-z0-9.+-]+$/, {
        error: "must be an image media type (image/png, image/jpeg, …)",
      }),
      data: requiredString().regex(/^[A-Za-z0-9+/]+={0,2}$/, { error: "must be base64 text" }),
    }),
    z.object({
      type: z.literal("url"),
      url: requiredString().regex(/^https?:\/\//i, { error: "must be an http(s) URL" }),
    }),
  ],
  { error: 'must be {"type": "base64", "media_type", "data"} or {"type": "url", "url"}' },
);
const imageBlock = z.object({ type: z.literal("image"), source: imageSource });

const blockTypes = ["text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking"] as const;

/** The refusal of a block whose `type` is not one of `allowed` (a document, a server tool's result, …). */
const unknownBlockType = (allowed: readonly string[]) => (issue: { input: unknown }) => {
  const type = isRecord(issue.input) ? issue.input.type : undefined;
  const rule = `must be one of ${allowed.join(", ")}`;
  return typeof type === "string" && type !== "" ? `"${type}" blocks are not supported: ${rule}` : rule;
};

const toolResultBlock = z.object({
  type: z.literal("tool_result"),
  tool_use_id: nonEmptyString(),
  content: z
    .union(
      [
        z.string(),
        z.array(
          z.discriminatedUnion("type", [textBlock, imageBlock], {
            error: unknownBlockType(["text", "image"]),
          }),
        ),
      ],
      { error: "must be a string or an array of text and image blocks" },
    )
    .nullish(),
  is_error: bool.nullish(),
});

const contentBlock = z.discriminatedUnion(
  "type",
  [
    textBlock,
    imageBlock,
    z.object({
      type: z.literal("tool_use"),
      id: nonEmptyString(),
      name: nonEmptyString(),
      input: jsonObject,
    }),
    toolResultBlock,
    z.object({
      type: z.literal("thinking"),
      thinking: requiredString(),
      signature: requiredString(),
    }),
    z.object({ type: z.literal("redacted_thinking"), data: nonEmptyString() }),
  ],
  { error: unknownBlockType(blockTypes) },
);

type ContentBlock = z.infer<typeof contentBlock>;

/** The block types each role may send (Anthropic's own rule: the user sends images and results). */
const allowedByRole: Readonly<Record<"user" | "assistant", ReadonlySet<ContentBlock["type"]>>> = {
  user: new Set(["text", "image", "tool_result"]),
  assistant: new Set(["text", "tool_use", "thinking", "redacted_thinking"]),
};

const messageSchema = z
  .object(
    {
      role: z.enum(["user", "assistant"], { error: 'must be "user" or "assistant"' }),
      content: z.union([z.string(), z.array(contentBlock)], {
        error: (issue) =>
          issue.input === undefined ? "is required" : "must be a string or an array of content blocks",
      }),
    },
    { error: "must be an object" },
  )
  .superRefine((message, context) => {
    if (typeof message.content === "string") return;
    const allowed = allowedByRole[message.role];
    message.content.forEach((block, index) => {
      if (!allowed.has(block.type)) {
        context.addIssue({
          code: "custom",
          path: ["content", index, "type"],
          message: `${block.type} blocks are only allowed in ${message.role === "user" ? "assistant" : "user"} messages`,
        });
      }
    });
  });

// ── tools ───────────────────────────────────────────────────────────────────────────────────────

const clientTool = z.object(
  {
    type: z.literal("custom").nullish(),
    name: toolName,
    description: z.string({ error: "must be a string" }).nullish(),
    input_schema: jsonObject,
    strict: bool.nullish(),
  },
  { error: "must be an object" },
);

/** A server tool (web search, code execution, …) is refused by name before its shape is checked. */
const toolSchema = z
  .unknown()
  .superRefine((tool, context) => {
    if (!isRecord(tool) || tool.type === undefined || tool.type === null || tool.type === "custom") return;
    const name = typeof tool.name === "string" ? `"${tool.name}" ` : "";
    context.addIssue({
      code: "custom",
      message: `the server tool ${name}(type ${JSON.stringify(tool.type)}) is not supported: only client tools ({"name", "description", "input_schema"}) are`,
    });
  })
  .pipe(clientTool);

const TOOL_CHOICE_RULE =
  'must be {"type": "auto"}, {"type": "any"}, {"type": "tool", "name"} or {"type": "none"}';
const disableParallel = { disable_parallel_tool_use: bool.nullish() };
const toolChoiceSchema = z.discriminatedUnion(
  "type",
  [
    z.object({ type: z.literal("auto"), ...disableParallel }),
    z.object({ type: z.literal("any"), ...disableParallel }),
    z.object({ type: z.literal("tool"), name: toolName, ...disableParallel }),
    z.object({ type: z.literal("none") }),
  ],
  { error: TOOL_CHOICE_RULE },
);

// ── thinking and output ─────────────────────────────────────────────────────────────────────────

const efforts = ["low", "medium", "high", "xhigh", "max"] as const satisfies readonly ReasoningEffort[];

const thinkingSchema = z.discriminatedUnion(
  "type",
  [
    z.object({
      type: z.literal("enabled"),
      budget_tokens: z
        .int({
          error: (issue) =>
            issue.input === undefined ? "is required" : "must be an integer of at least 1024",
        })
        .min(1024, { error: "must be an integer of at least 1024" }),
    }),
    z.object({
      type: z.literal("adaptive"),
      display: z.enum(["summarized", "omitted"], { error: 'must be "summarized" or "omitted"' }).nullish(),
    }),
    z.object({ type: z.literal("between_tools") }),
    z.object({ type: z.literal("disabled") }),
  ],
  {
    error:
      'must be {"type": "enabled", "budget_tokens"}, {"type": "adaptive"}, {"type": "between_tools"} or {"type": "disabled"}',
  },
);

const outputConfigSchema = z.object(
  {
    effort: z.enum(efforts, { error: `must be one of ${efforts.map((e) => `"${e}"`).join(", ")}` }).nullish(),
    format: z
      .object(
        {
          type: z.literal("json_schema", { error: 'must be "json_schema"' }),
          schema: jsonObject,
        },
        { error: 'must be {"type": "json_schema", "schema"}' },
      )
      .nullish(),
  },
  { error: "must be an object" },
);

// ── the bodies ──────────────────────────────────────────────────────────────────────────────────

/** Fields of both endpoints. `null` is accepted for every optional field; unknown keys are dropped. */
const commonFields = {
  model: requiredString().min(1, { error: "must be a non-empty string" }),
  system: z
    .union([z.string(), z.array(textBlock, { error: "must be an array of text blocks" })], {
      error: "must be a string or an array of text blocks",
    })
    .nullish(),
  messages: z
    .array(messageSchema, {
      error: (issue) => (issue.input === undefined ? "is required" : "must be a non-empty array"),
    })
    .min(1, { error: "must be a non-empty array" }),
  tools: z.array(toolSchema, { error: "must be an array of tools" }).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  stop_sequences: z.array(z.string().min(1), { error: "must be an array of non-empty strings" }).nullish(),
  temperature: numberBetween(0, 1).nullish(),
  top_p: numberBetween(0, 1).nullish(),
  top_k: z
    .int({ error: "must be a non-negative integer" })
    .min(0, { error: "must be a non-negative integer" })
    .nullish(),
  thinking: thinkingSchema.nullish(),
  output_config: outputConfigSchema.nullish(),
  metadata: z
    .object({ user_id: z.string({ error: "must be a string" }).nullish() }, { error: "must be an object" })
    .nullish(),
  stream: bool.nullish(),
};

const messagesRequestSchema = z.object(
  { ...commonFields, max_tokens: positiveInt.min(1, { error: "must be a positive integer" }) },
  { error: "must be a JSON object" },
);

const countTokensRequestSchema = z.object(
  { ...commonFields, max_tokens: positiveInt.min(1, { error: "must be a positive integer" }).nullish() },
  { error: "must be a JSON object" },
);

type Body = z.infer<typeof countTokensRequestSchema>;
type BodyMessage = Body["messages"][number];

// ── parse functions ─────────────────────────────────────────────────────────────────────────────

/** Validates a POST /v1/messages body (already JSON-parsed); `max_tokens` is required. */
export function parseMessagesRequest(body: unknown): AnthropicParse {
  const parsed = messagesRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, error: issueToError(parsed.error.issues) };
  return toServiceRequest(parsed.data);
}

/** Validates a POST /v1/messages/count_tokens body: the same, `max_tokens` not needed (never streamed). */
export function parseCountTokensRequest(body: unknown): AnthropicParse {
  const parsed = countTokensRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, error: issueToError(parsed.error.issues) };
  const result = toServiceRequest(parsed.data);
  return result.ok ? { ok: true, request: { ...result.request, stream: false } } : result;
}

function toServiceRequest(data: Body): AnthropicParse {
  const refusal = toolRefusal(data) ?? thinkingRefusal(data);
  if (refusal) return { ok: false, error: refusal };
  const system = systemMessage(data.system);
  return {
    ok: true,
    request: {
      model: data.model,
      messages: [...(system ? [system] : []), ...data.messages.flatMap(toMessages)],
      sampling: toSampling(data),
      stream: data.stream === true,
      priority: 0,
      features: toFeatures(data),
    },
  };
}

// ── refusals ────────────────────────────────────────────────────────────────────────────────────

function refuse(field: string, message: string): InferenceError {
  return errors.badRequest(`${field}: ${message}`, field);
}

/** A repeated tool name, or a tool_choice that names no tool (or forces one with none given). */
function toolRefusal(data: Body): InferenceError | undefined {
  const names = (data.tools ?? []).map((tool) => tool.name);
  const repeated = names.findIndex((name, index) => names.indexOf(name) !== index);
  if (repeated >= 0) return refuse(`tools[${repeated}].name`, `repeats the tool name "${names[repeated]}"`);
  const choice = data.tool_choice;
  if (choice == null || choice.type === "auto" || choice.type === "none") return undefined;
  if (names.length === 0)
    return refuse("tool_choice", `"${choice.type}" asks for a tool call, but tools is empty`);
  if (choice.type === "tool" && !names.includes(choice.name))
    return refuse("tool_choice.name", `names the tool "${choice.name}", which is not in tools`);
  return undefined;
}

/** Anthropic's own rule: the thinking budget is part of max_tokens, so it must be below it. */
function thinkingRefusal(data: Body): InferenceError | undefined {
  const thinking = data.thinking;
  if (thinking?.type !== "enabled" || data.max_tokens == null) return undefined;
  return thinking.budget_tokens < data.max_tokens
    ? undefined
    : refuse("thinking.budget_tokens", `must be less than max_tokens (${data.max_tokens})`);
}

// ── messages ────────────────────────────────────────────────────────────────────────────────────

function systemMessage(system: Body["system"]): Message | undefined {
  if (system == null) return undefined;
  if (typeof system === "string") return system === "" ? undefined : { role: "system", content: system };
  const parts = system.map((block): ContentPart => ({ type: "text", text: block.text }));
  return parts.length === 0 ? undefined : { role: "system", content: parts };
}

type Block<T extends ContentBlock["type"]> = Extract<ContentBlock, { type: T }>;

function partOf(block: Block<"text"> | Block<"image">): ContentPart {
  if (block.type === "text") return { type: "text", text: block.text };
  const source = block.source;
  return {
    type: "image",
    source:
      source.type === "url"
        ? { kind: "url", url: source.url }
        : { kind: "base64", mediaType: source.media_type.toLowerCase(), data: source.data },
  };
}

/**
 * One Anthropic message as neutral messages. A user turn: one `tool` message per tool_result, in
 * order, then the user's other content (when there is any). An assistant turn: one message with
 * its text, its tool_use blocks as tool calls and its signed thinking as reasoning blocks.
 */
function toMessages(message: BodyMessage): Message[] {
  const content = message.content;
  if (typeof content === "string") return [{ role: message.role, content }];
  if (message.role === "user") {
    const results: Message[] = [];
    const parts: ContentPart[] = [];
    for (const block of content) {
      if (block.type === "tool_result") results.push(toolMessage(block));
      else if (block.type === "text" || block.type === "image") parts.push(partOf(block));
    }
    // a turn of only tool results has no user message of its own
    if (parts.length === 0) return results.length > 0 ? results : [{ role: "user", content: "" }];
    return [...results, { role: "user", content: parts }];
  }
  const parts: ContentPart[] = [];
  const toolCalls: ToolCall[] = [];
  const reasoningBlocks: ReasoningBlock[] = [];
  for (const block of content) {
    switch (block.type) {
      case "text":
        parts.push({ type: "text", text: block.text });
        break;
      case "tool_use":
        toolCalls.push({
          id: block.id,
          type: "function",
          function: { name: block.name, arguments: JSON.stringify(block.input) },
        });
        break;
      case "thinking":
        // a block without a signature is one this gateway showed from a provider that signs
        // nothing (docs/api.md): no provider takes it back, so it is not replayed
        if (block.signature !== "")
          reasoningBlocks.push({ type: "thinking", thinking: block.thinking, signature: block.signature });
        break;
      case "redacted_thinking":
        reasoningBlocks.push({ type: "redacted_thinking", data: block.data });
        break;
    }
  }
  return [
    {
      role: "assistant",
      content: parts.length > 0 ? parts : toolCalls.length > 0 ? null : "",
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
      ...(reasoningBlocks.length > 0 ? { reasoningBlocks } : {}),
    },
  ];
}

function toolMessage(block: Block<"tool_result">): Message {
  const content = block.content;
  return {
    role: "tool",
    toolCallId: block.tool_use_id,
    content:
      content == null || content.length === 0
        ? ""
        : typeof content === "string"
          ? content
          : content.map(partOf),
    ...(block.is_error === true ? { toolError: true } : {}),
  };
}

// ── sampling and features ───────────────────────────────────────────────────────────────────────

function toSampling(data: Body): SamplingParams {
  const sampling: {
    -readonly [K in keyof SamplingParams]: SamplingParams[K];
  } = {};
  if (data.temperature != null) sampling.temperature = data.temperature;
  if (data.top_p != null) sampling.topP = data.top_p;
  if (data.top_k != null) sampling.topK = data.top_k;
  if (data.max_tokens != null) sampling.maxTokens = data.max_tokens;
  if (data.stop_sequences != null && data.stop_sequences.length > 0) sampling.stop = data.stop_sequences;
  return sampling;
}

/** Thinking budgets below this are `low`, below `HIGH_BUDGET` `medium`, from it on `high`. */
export const MEDIUM_BUDGET = 4096;
export const HIGH_BUDGET = 16_384;

/**
 * `thinking` and `output_config.effort` as one reasoning effort (docs/api.md): `disabled` is
 * "none"; an effort given in output_config wins otherwise; `enabled` maps its budget by size
 * (< 4096 low, < 16384 medium, else high); `adaptive` and `between_tools` are medium.
 */
export function reasoningEffortOf(
  thinking: Body["thinking"],
  effort: (typeof efforts)[number] | null | undefined,
): ReasoningEffort | undefined {
  if (thinking?.type === "disabled") return "none";
  if (effort != null) return effort;
  if (thinking == null) return undefined;
  if (thinking.type === "enabled") {
    if (thinking.budget_tokens < MEDIUM_BUDGET) return "low";
    return thinking.budget_tokens < HIGH_BUDGET ? "medium" : "high";
  }
  return "medium";
}

function toToolDefinition(tool: z.infer<typeof clientTool>): ToolDefinition {
  return {
    name: tool.name,
    ...(tool.description != null ? { description: tool.description } : {}),
    parameters: tool.input_schema,
    ...(tool.strict != null ? { strict: tool.strict } : {}),
  };
}

function toToolChoice(choice: Body["tool_choice"]): ToolChoice | undefined {
  if (choice == null) return undefined;
  switch (choice.type) {
    case "auto":
    case "none":
      return choice.type;
    case "any":
      return "required";
    case "tool":
      return { name: choice.name };
  }
}

function toResponseFormat(format: NonNullable<Body["output_config"]>["format"]): ResponseFormat | undefined {
  if (format == null) return undefined;
  return { type: "json_schema", name: "response", schema: format.schema };
}

function toFeatures(data: Body): RequestFeatures {
  const features: { -readonly [K in keyof RequestFeatures]: RequestFeatures[K] } = {};
  if (data.tools != null && data.tools.length > 0) features.tools = data.tools.map(toToolDefinition);
  const toolChoice = toToolChoice(data.tool_choice);
  if (toolChoice !== undefined) features.toolChoice = toolChoice;
  const choice = data.tool_choice;
  if (choice != null && choice.type !== "none" && choice.disable_parallel_tool_use === true)
    features.parallelToolCalls = false;
  const responseFormat = toResponseFormat(data.output_config?.format);
  if (responseFormat !== undefined) features.responseFormat = responseFormat;
  const effort = reasoningEffortOf(data.thinking, data.output_config?.effort);
  if (effort !== undefined) features.reasoningEffort = effort;
  if (data.metadata?.user_id != null) features.user = data.metadata.user_id;
  return features;
}

// ── issues ──────────────────────────────────────────────────────────────────────────────────────

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
