// Parses and validates the JSON bodies of POST /v1/chat/completions and POST /v1/completions into
// a ServiceRequest (the first step of the request path, the OpenAI dialects' `parse`). Every refusal is
// a `bad_request` InferenceError whose message starts with the offending field's path.

import { z } from "zod";
import type {
  ContentPart,
  ImageDetail,
  ImageSource,
  Message,
  ReasoningBlock,
  SamplingParams,
  ToolCall,
} from "../../../core/batch.js";
import type { ServiceRequest } from "../../../core/dialect.js";
import { errors, type InferenceError } from "../../../core/inference-error.js";
import {
  type ResponseFormat,
  reasoningEfforts,
  type ToolChoice,
  type ToolDefinition,
} from "../../../core/request-features.js";
import { issueToError } from "../body-issues.js";
import { imageSourceOf } from "./image-url.js";

export const messageRoles = ["system", "user", "assistant", "tool", "developer"] as const;
const imageDetails = ["auto", "low", "high"] as const satisfies readonly ImageDetail[];

/** A parsed OpenAI body, with whether a stream ends with usage (`stream_options.include_usage`). */
export type OpenAiParse =
  | { readonly ok: true; readonly request: ServiceRequest; readonly includeUsage: boolean }
  | { readonly ok: false; readonly error: InferenceError };

// ── field schemas ───────────────────────────────────────────────────────────────────────────────

const requiredString = (what = "must be a string") =>
  z.string({ error: (issue) => (issue.input === undefined ? "is required" : what) });

const positiveInt = z
  .int({ error: "must be a positive integer" })
  .min(1, { error: "must be a positive integer" });
const integer = z.int({ error: "must be an integer" });
const bool = z.boolean({ error: "must be a boolean" });
const numberBetween = (min: number, max: number) => {
  const error = `must be between ${min} and ${max}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
};
const jsonObject = z.record(z.string(), z.unknown(), { error: "must be an object" });

// ── tools and response formats (src/core/request-features.ts) ───────────────────────────────────

const NAME_RULE = "must be 1–64 letters, digits, _ or -";
const functionName = z
  .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: NAME_RULE });
const toolSchema = z.object(
  {
    type: z.literal("function", { error: 'must be "function" (the only tool type supported)' }),
    function: z.object(
      {
        name: functionName,
        description: z.string({ error: "must be a string" }).nullish(),
        parameters: jsonObject.nullish(),
        strict: bool.nullish(),
      },
      { error: "must be an object" },
    ),
  },
  { error: "must be an object" },
);
const TOOL_CHOICE_RULE =
  'must be "auto", "none", "required" or {"type": "function", "function": {"name": …}}';
const toolChoiceSchema = z.union(
  [
    z.enum(["auto", "none", "required"], { error: TOOL_CHOICE_RULE }),
    z.object(
      {
        type: z.literal("function", { error: 'must be "function"' }),
        function: z.object({ name: functionName }, { error: "must be an object" }),
      },
      { error: TOOL_CHOICE_RULE },
    ),
  ],
  { error: TOOL_CHOICE_RULE },
);
const responseFormatSchema = z.discriminatedUnion(
  "type",
  [
    z.object({ type: z.literal("text") }),
    z.object({ type: z.literal("json_object") }),
    z.object({
      type: z.literal("json_schema"),
      json_schema: z.object(
        {
          name: functionName,
          description: z.string({ error: "must be a string" }).nullish(),
          schema: jsonObject.nullish(),
          strict: bool.nullish(),
        },
        { error: "must be an object" },
      ),
    }),
  ],
  {
    error: 'must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema": {…}}',
  },
);

const contentPartSchema = z.discriminatedUnion(
  "type",
  [
    z.object({ type: z.literal("text"), text: requiredString() }),
    z.object({
      type: z.literal("image_url"),
      image_url: z.object(
        {
          url: requiredString().refine((url) => imageSourceOf(url) !== undefined, {
            error: "must be an http(s) URL or a data:image/<type>;base64,<data> URL",
          }),
          detail: z.enum(imageDetails, { error: `must be one of ${imageDetails.join(", ")}` }).nullish(),
        },
        { error: "must be an object with a url" },
      ),
    }),
  ],
  { error: "must be one of text, image_url" },
);

const contentSchema = z.union(
  [z.string(), z.array(contentPartSchema).min(1, { error: "must not be an empty array" }), z.null()],
  { error: "must be a string or an array of content parts" },
);

const toolCallSchema = z.object({
  id: requiredString(),
  type: z.literal("function", { error: 'must be "function"' }),
  function: z.object(
    { name: requiredString(), arguments: requiredString() },
    { error: "must be an object with name and arguments" },
  ),
  // a reasoning signature the gateway sent with the call (Google's OpenAI-compatible field)
  extra_content: z
    .object(
      {
        google: z
          .object(
            { thought_signature: z.string({ error: "must be a string" }).nullish() },
            { error: "must be an object" },
          )
          .nullish(),
      },
      { error: "must be an object" },
    )
    .nullish(),
});

/** Signed reasoning the gateway sent with an assistant message (LiteLLM's `thinking_blocks`). */
const reasoningBlockSchema = z.discriminatedUnion(
  "type",
  [
    z.object({
      type: z.literal("thinking"),
      thinking: z.string({ error: "must be a string" }),
      signature: requiredString(),
    }),
    z.object({ type: z.literal("redacted_thinking"), data: requiredString() }),
  ],
  { error: 'must be {"type": "thinking", "thinking", "signature"} or {"type": "redacted_thinking", "data"}' },
);

const messageSchema = z
  .object(
    {
      role: z.enum(messageRoles, { error: `must be one of ${messageRoles.join(", ")}` }),
      content: contentSchema.optional(),
      name: z.string({ error: "must be a string" }).nullish(),
      tool_call_id: z.string({ error: "must be a string" }).nullish(),
      tool_calls: z.array(toolCallSchema, { error: "must be an array of tool calls" }).nullish(),
      thinking_blocks: z
        .array(reasoningBlockSchema, { error: "must be an array of thinking blocks" })
        .nullish(),
    },
    { error: "must be an object" },
  )
  .superRefine((message, context) => {
    const hasToolCalls = (message.tool_calls?.length ?? 0) > 0;
    if (message.content == null && !(message.role === "assistant" && hasToolCalls)) {
      context.addIssue({
        code: "custom",
        path: ["content"],
        message:
          message.role === "assistant"
            ? "must be a string or an array of content parts (null only with tool_calls)"
            : "must be a string or an array of content parts",
      });
    }
    if (Array.isArray(message.content) && message.role !== "user") {
      const index = message.content.findIndex((part) => part.type !== "text");
      if (index >= 0) {
        context.addIssue({
          code: "custom",
          path: ["content", index, "type"],
          message: "image_url parts are only allowed in user messages",
        });
      }
    }
    if (message.role === "tool" && !message.tool_call_id) {
      context.addIssue({ code: "custom", path: ["tool_call_id"], message: "is required for role tool" });
    }
    if (hasToolCalls && message.role !== "assistant") {
      context.addIssue({ code: "custom", path: ["tool_calls"], message: "only allowed for role assistant" });
    }
    if ((message.thinking_blocks?.length ?? 0) > 0 && message.role !== "assistant") {
      context.addIssue({
        code: "custom",
        path: ["thinking_blocks"],
        message: "only allowed for role assistant",
      });
    }
  });

const stopSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(4)], {
  error: "must be a non-empty string or an array of 1 to 4 non-empty strings",
});

/** Fields shared by both endpoints. `null` is accepted for every optional field (clients send it). */
const commonFields = {
  model: requiredString("must be a string").min(1, { error: "must be a non-empty string" }),
  max_tokens: positiveInt.nullish(),
  temperature: numberBetween(0, 2).nullish(),
  top_p: z
    .number({ error: "must be greater than 0 and at most 1" })
    .gt(0, { error: "must be greater than 0 and at most 1" })
    .max(1, { error: "must be greater than 0 and at most 1" })
    .nullish(),
  top_k: z
    .int({ error: "must be a non-negative integer" })
    .min(0, { error: "must be a non-negative integer" })
    .nullish(),
  stop: stopSchema.nullish(),
  presence_penalty: numberBetween(-2, 2).nullish(),
  frequency_penalty: numberBetween(-2, 2).nullish(),
  seed: integer.nullish(),
  stream: bool.nullish(),
  stream_options: z.object({ include_usage: bool.nullish() }, { error: "must be an object" }).nullish(),
  priority: integer.nullish(),
  user: z.string({ error: "must be a string" }).nullish(),
  // Fields refused unless they hold their neutral value (see refusals below).
  n: integer.nullish(),
  best_of: integer.nullish(),
  logit_bias: z.record(z.string(), z.number(), { error: "must be an object of numbers" }).nullish(),
};

export const chatRequestSchema = z.object(
  {
    ...commonFields,
    messages: z
      .array(messageSchema, { error: "must be a non-empty array" })
      .min(1, { error: "must be a non-empty array" }),
    max_completion_tokens: positiveInt.nullish(),
    tools: z.array(toolSchema, { error: "must be an array of objects" }).nullish(),
    tool_choice: toolChoiceSchema.nullish(),
    parallel_tool_calls: bool.nullish(),
    response_format: responseFormatSchema.nullish(),
    reasoning_effort: z
      .enum(reasoningEfforts, { error: `must be one of ${reasoningEfforts.map((e) => `"${e}"`).join(", ")}` })
      .nullish(),
    logprobs: bool.nullish(),
    top_logprobs: integer.nullish(),
  },
  { error: "must be a JSON object" },
);

export const completionRequestSchema = z.object(
  {
    ...commonFields,
    prompt: z.union([z.string(), z.tuple([z.string()])], {
      error: (issue) =>
        issue.input === undefined ? "is required" : "must be a string or an array with exactly one string",
    }),
    logprobs: integer.nullish(),
    echo: bool.nullish(),
    suffix: z.string({ error: "must be a string" }).nullish(),
  },
  { error: "must be a JSON object" },
);

type ChatBody = z.infer<typeof chatRequestSchema>;
type CompletionBody = z.infer<typeof completionRequestSchema>;
type CommonBody = ChatBody | CompletionBody;

// ── parse functions ─────────────────────────────────────────────────────────────────────────────

/** Validates a POST /v1/chat/completions body (already JSON-parsed). */
export function parseChatRequest(body: unknown): OpenAiParse {
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, error: issueToError(parsed.error.issues) };
  const data = parsed.data;
  const refusal =
    commonRefusal(data) ??
    toolRefusal(data) ??
    (data.logprobs === true ? refuse("logprobs", "log probabilities are not supported") : undefined) ??
    (data.top_logprobs != null && data.top_logprobs > 0
      ? refuse("top_logprobs", "log probabilities are not supported")
      : undefined);
  if (refusal) return { ok: false, error: refusal };
  return {
    ok: true,
    request: {
      model: data.model,
      messages: data.messages.map(toMessage),
      sampling: toSampling(data, data.max_completion_tokens ?? data.max_tokens),
      stream: data.stream === true,
      priority: data.priority ?? 0,
      features: dropUndefined({
        tools: data.tools?.map(toToolDefinition),
        toolChoice: toToolChoice(data.tool_choice),
        parallelToolCalls: data.parallel_tool_calls ?? undefined,
        responseFormat: toResponseFormat(data.response_format),
        reasoningEffort: data.reasoning_effort ?? undefined,
        user: data.user ?? undefined,
      }),
    },
    includeUsage: includeUsage(data),
  };
}

/** Validates a POST /v1/completions body; the prompt becomes a single user message. */
export function parseCompletionRequest(body: unknown): OpenAiParse {
  const parsed = completionRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, error: issueToError(parsed.error.issues) };
  const data = parsed.data;
  const refusal =
    commonRefusal(data) ??
    (data.logprobs != null ? refuse("logprobs", "log probabilities are not supported") : undefined) ??
    (data.echo === true ? refuse("echo", "echo is not supported") : undefined) ??
    (data.suffix != null && data.suffix !== "" ? refuse("suffix", "suffix is not supported") : undefined);
  if (refusal) return { ok: false, error: refusal };
  const prompt = typeof data.prompt === "string" ? data.prompt : data.prompt[0];
  return {
    ok: true,
    request: {
      model: data.model,
      messages: [{ role: "user", content: prompt }],
      sampling: toSampling(data, data.max_tokens),
      stream: data.stream === true,
      priority: data.priority ?? 0,
      features: dropUndefined({ user: data.user ?? undefined }),
    },
    includeUsage: includeUsage(data),
  };
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────

function toToolDefinition(tool: z.infer<typeof toolSchema>): ToolDefinition {
  const { name, description, parameters, strict } = tool.function;
  return dropUndefined({
    name,
    description: description ?? undefined,
    parameters: parameters ?? undefined,
    strict: strict ?? undefined,
  }) as ToolDefinition;
}

function toToolChoice(choice: ChatBody["tool_choice"]): ToolChoice | undefined {
  if (choice == null) return undefined;
  return typeof choice === "string" ? choice : { name: choice.function.name };
}

function toResponseFormat(format: ChatBody["response_format"]): ResponseFormat | undefined {
  if (format == null) return undefined;
  if (format.type !== "json_schema") return { type: format.type };
  const { name, description, schema, strict } = format.json_schema;
  return dropUndefined({
    type: "json_schema" as const,
    name,
    description: description ?? undefined,
    schema: schema ?? undefined,
    strict: strict ?? undefined,
  }) as ResponseFormat;
}

/** A repeated tool name, or a tool_choice that names no tool (or asks for one with none given). */
function toolRefusal(data: ChatBody): InferenceError | undefined {
  if (data.tools == null && data.tool_choice == null) return undefined;
  const names = (data.tools ?? []).map((tool) => tool.function.name);
  const repeated = names.findIndex((name, index) => names.indexOf(name) !== index);
  if (repeated >= 0)
    return refuse(`tools[${repeated}].function.name`, `repeats the tool name "${names[repeated]}"`);
  const choice = data.tool_choice;
  if (choice == null || choice === "auto" || choice === "none") return undefined;
  if (names.length === 0) return refuse("tool_choice", "asks for a tool call, but tools is empty");
  if (typeof choice !== "string" && !names.includes(choice.function.name))
    return refuse("tool_choice", `names the function "${choice.function.name}", which is not in tools`);
  return undefined;
}

function refuse(field: string, message: string): InferenceError {
  return errors.badRequest(`${field}: ${message}`, field);
}

/** Fields we cannot honour on either endpoint: refused by name, never silently ignored. */
function commonRefusal(data: CommonBody): InferenceError | undefined {
  if (data.n != null && data.n !== 1) return refuse("n", "only n = 1 is supported");
  if (data.best_of != null && data.best_of !== 1) return refuse("best_of", "only best_of = 1 is supported");
  if (data.logit_bias != null && Object.keys(data.logit_bias).length > 0)
    return refuse("logit_bias", "logit_bias is not supported");
  return undefined;
}

function includeUsage(data: CommonBody): boolean {
  return data.stream === true && data.stream_options?.include_usage === true;
}

function toSampling(data: CommonBody, maxTokens: number | null | undefined): SamplingParams {
  const stop = data.stop == null ? undefined : typeof data.stop === "string" ? [data.stop] : data.stop;
  return dropUndefined({
    temperature: data.temperature ?? undefined,
    topP: data.top_p ?? undefined,
    topK: data.top_k ?? undefined,
    maxTokens: maxTokens ?? undefined,
    stop,
    presencePenalty: data.presence_penalty ?? undefined,
    frequencyPenalty: data.frequency_penalty ?? undefined,
    seed: data.seed ?? undefined,
  });
}

function toMessage(message: ChatBody["messages"][number]): Message {
  const content = message.content;
  let converted: Message["content"];
  if (content == null) converted = null;
  else if (typeof content === "string") converted = content;
  else
    converted = content.map(
      (part): ContentPart =>
        part.type === "text"
          ? { type: "text", text: part.text }
          : dropUndefined({
              type: "image",
              source: imageSourceOf(part.image_url.url) as ImageSource,
              detail: part.image_url.detail ?? undefined,
            }),
    );
  const toolCalls: ToolCall[] | undefined = message.tool_calls?.map((call) =>
    dropUndefined({
      id: call.id,
      type: "function",
      function: { name: call.function.name, arguments: call.function.arguments },
      signature: call.extra_content?.google?.thought_signature ?? undefined,
    }),
  );
  const blocks = message.thinking_blocks?.map(
    (block): ReasoningBlock =>
      block.type === "thinking"
        ? { type: "thinking", thinking: block.thinking, signature: block.signature }
        : { type: "redacted_thinking", data: block.data },
  );
  return dropUndefined({
    role: message.role,
    content: converted,
    name: message.name ?? undefined,
    toolCallId: message.tool_call_id ?? undefined,
    toolCalls: toolCalls && toolCalls.length > 0 ? toolCalls : undefined,
    reasoningBlocks: blocks && blocks.length > 0 ? blocks : undefined,
  });
}

/** Returns the object without its undefined-valued keys (so requests carry only what was sent). */
function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
