// The OpenAI wire of the scripted mock upstream (src/testkit/mock-provider.ts): `POST
// /v1/chat/completions`, the legacy `/v1/completions`, `/v1/embeddings` and Azure-style
// `/openai/deployments/:deployment/...` paths; `chat.completion(.chunk)` and `text_completion`
// bodies, `data: [DONE]`, usage only when asked for, embedding lists (floats, or base64 of
// little-endian float32 when the request asks for it), and OpenAI error bodies per error kind
// (docs/providers.md).

import {
  type CompleteBehaviour,
  type MockErrorKind,
  type MockFinishReason,
  type MockToolCall,
  type MockUsage,
  type OpenAiErrorBody,
  openAiErrorBody,
  type ReceivedRequest,
} from "./mock-behaviours.js";
import type {
  MockAnswerContext,
  MockEmbeddingRequest,
  MockEmbeddingsAnswer,
  MockRoute,
  MockSseEvent,
  MockWire,
  MockWireError,
} from "./mock-wire.js";

const CREATED = Date.UTC(2026, 0, 1) / 1000;

/** The body of a 404 for a path no wire serves, as OpenAI answers one. */
export function openAiUnknownUrlBody(method: string, path: string): OpenAiErrorBody {
  const message = `Unknown request URL: ${method} ${path}. Please check the URL for typos.`;
  return openAiErrorBody(message, "invalid_request_error", "unknown_url");
}

/** OpenAI's error type, code and param for each kind. */
const errorShapes: Readonly<
  Record<MockErrorKind, { readonly type: string; readonly code?: string; readonly param?: string }>
> = {
  rate_limited: { type: "rate_limit_error", code: "rate_limit_exceeded" },
  server_error: { type: "server_error" },
  overloaded: { type: "server_error" },
  content_filter: { type: "invalid_request_error", code: "content_filter", param: "prompt" },
  context_length: { type: "invalid_request_error", code: "context_length_exceeded", param: "messages" },
  bad_request: { type: "invalid_request_error" },
  request_too_large: { type: "invalid_request_error" },
  forbidden: { type: "permission_error", code: "permission_denied" },
  unauthorized: { type: "invalid_request_error", code: "invalid_api_key" },
  quota_exhausted: { type: "insufficient_quota", code: "insufficient_quota" },
  not_found: { type: "invalid_request_error", code: "model_not_found" },
};

function errorBody(error: MockWireError): OpenAiErrorBody {
  const shape = errorShapes[error.kind];
  return openAiErrorBody(error.message, shape.type, shape.code ?? null, shape.param ?? null);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function bearerToken(authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : /^Bearer\s+(.+)$/i.exec(authorization);
  return match?.[1];
}

function isChat(context: MockAnswerContext): boolean {
  return context.route.endpoint === "chat";
}

function includeUsageRequested(request: ReceivedRequest): boolean {
  const body = isRecord(request.body) ? request.body : {};
  const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
  return streamOptions.include_usage === true;
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word !== "").length;
}

function wordsIn(content: unknown): number {
  if (typeof content === "string") return countWords(content);
  if (Array.isArray(content)) {
    return content.reduce<number>((sum, part) => sum + wordsIn(isRecord(part) ? part.text : part), 0);
  }
  return 0;
}

/** Prompt tokens by default: the words of the messages' (or the prompt's) text. */
function promptWords(request: ReceivedRequest): number {
  if (!isRecord(request.body)) return 0;
  const { messages, prompt } = request.body;
  if (Array.isArray(messages)) {
    return messages.reduce<number>(
      (sum, message) => sum + (isRecord(message) ? wordsIn(message.content) : 0),
      0,
    );
  }
  return wordsIn(prompt);
}

/** The usage OpenAI sends: total filled in, cache writes (which OpenAI does not report) left out. */
function usageOf(behaviour: CompleteBehaviour, context: MockAnswerContext, deltas: number): MockUsage {
  const given = behaviour.usage ?? { prompt_tokens: promptWords(context.request), completion_tokens: deltas };
  const { cache_write_tokens: _cacheWrites, ...usage } = given;
  return { ...usage, total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens };
}

/** What a completion's bytes are made of, on either endpoint. */
interface Completion {
  readonly content: readonly string[];
  readonly toolCalls: readonly MockToolCall[];
  readonly reasoning: readonly string[];
  readonly finishReason: string;
  readonly usage: MockUsage;
}

function completionOf(behaviour: CompleteBehaviour, context: MockAnswerContext): Completion {
  const content = behaviour.content ?? ["Hello", " world"];
  const toolCalls = isChat(context) ? (behaviour.toolCalls ?? []) : [];
  const reasoning = isChat(context) ? (behaviour.reasoning ?? []) : [];
  const finishReason: MockFinishReason =
    behaviour.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop");
  const deltas = content.length + toolCalls.reduce((sum, call) => sum + call.arguments.length, 0);
  return {
    content,
    toolCalls,
    reasoning,
    finishReason: behaviour.nativeFinishReason ?? finishReason,
    usage: usageOf(behaviour, context, deltas),
  };
}

interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments: string };
}

function chatChunk(
  context: MockAnswerContext,
  delta: Record<string, unknown>,
  finishReason: string | null,
  includeUsage: boolean,
): Record<string, unknown> {
  return {
    id: context.id,
    object: "chat.completion.chunk",
    created: CREATED,
    model: context.model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

function textChunk(
  context: MockAnswerContext,
  text: string,
  finishReason: string | null,
  includeUsage: boolean,
): Record<string, unknown> {
  return {
    id: context.id,
    object: "text_completion",
    created: CREATED,
    model: context.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

function streamEvents(behaviour: CompleteBehaviour, context: MockAnswerContext): MockSseEvent[] {
  const { content, toolCalls, reasoning, finishReason, usage } = completionOf(behaviour, context);
  const includeUsage = behaviour.includeUsage ?? includeUsageRequested(context.request);
  const chunks: Record<string, unknown>[] = [];
  if (isChat(context)) {
    const roleContent = content.length === 0 && toolCalls.length > 0 ? null : "";
    chunks.push(
      chatChunk(context, { role: "assistant", content: roleContent, refusal: null }, null, includeUsage),
    );
    for (const piece of reasoning)
      chunks.push(chatChunk(context, { reasoning_content: piece }, null, includeUsage));
    for (const delta of content) chunks.push(chatChunk(context, { content: delta }, null, includeUsage));
    toolCalls.forEach((call, index) => {
      const opening: ToolCallDelta = {
        index,
        id: call.id,
        type: "function",
        function: { name: call.name, arguments: "" },
      };
      chunks.push(chatChunk(context, { tool_calls: [opening] }, null, includeUsage));
      for (const argumentsDelta of call.arguments) {
        const next: ToolCallDelta = { index, function: { arguments: argumentsDelta } };
        chunks.push(chatChunk(context, { tool_calls: [next] }, null, includeUsage));
      }
    });
    chunks.push(chatChunk(context, {}, finishReason, includeUsage));
    if (includeUsage) chunks.push({ ...chatChunk(context, {}, null, false), choices: [], usage });
  } else {
    for (const delta of content) chunks.push(textChunk(context, delta, null, includeUsage));
    chunks.push(textChunk(context, "", finishReason, includeUsage));
    if (includeUsage) chunks.push({ ...textChunk(context, "", null, false), choices: [], usage });
  }
  return [...chunks.map((data) => ({ data })), { data: "[DONE]" }];
}

function unaryBody(behaviour: CompleteBehaviour, context: MockAnswerContext): Record<string, unknown> {
  const { content, toolCalls, reasoning, finishReason, usage } = completionOf(behaviour, context);
  const text = content.join("");
  if (!isChat(context)) {
    return {
      id: context.id,
      object: "text_completion",
      created: CREATED,
      model: context.model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
      usage,
    };
  }
  const message: Record<string, unknown> = {
    role: "assistant",
    content: content.length === 0 && toolCalls.length > 0 ? null : text,
    refusal: null,
  };
  if (toolCalls.length > 0) {
    message.tool_calls = toolCalls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments.join("") },
    }));
  }
  if (reasoning.length > 0) message.reasoning_content = reasoning.join("");
  return {
    id: context.id,
    object: "chat.completion",
    created: CREATED,
    model: context.model,
    system_fingerprint: null,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage,
  };
}

function partialEvents(chunks: number, context: MockAnswerContext): MockSseEvent[] {
  const includeUsage = includeUsageRequested(context.request);
  const events: MockSseEvent[] = [];
  for (let k = 1; k <= chunks; k++) {
    const delta = `${k === 1 ? "" : " "}chunk${k}`;
    const data = isChat(context)
      ? chatChunk(
          context,
          k === 1 ? { role: "assistant", content: delta } : { content: delta },
          null,
          includeUsage,
        )
      : textChunk(context, delta, null, includeUsage);
    events.push({ data });
  }
  return events;
}

const azureEndpoints: Readonly<Record<string, string>> = {
  "chat/completions": "chat",
  completions: "completions",
  embeddings: "embeddings",
};

function match(method: string, path: string): MockRoute | undefined {
  if (method !== "POST") return undefined;
  if (path === "/v1/chat/completions") return { wire: "openai", endpoint: "chat" };
  if (path === "/v1/completions") return { wire: "openai", endpoint: "completions" };
  if (path === "/v1/embeddings") return { wire: "openai", endpoint: "embeddings" };
  const azure = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/.exec(path);
  if (azure?.[1] !== undefined && azure[2] !== undefined) {
    return {
      wire: "openai",
      endpoint: azureEndpoints[azure[2]] ?? "chat",
      deployment: decodeURIComponent(azure[1]),
    };
  }
  return undefined;
}

/** `input` as OpenAI takes it: a string, strings, one token array, or token arrays. */
function embeddingRequest(request: ReceivedRequest): MockEmbeddingRequest {
  const body = isRecord(request.body) ? request.body : {};
  const input = body.input;
  const dimensions = typeof body.dimensions === "number" ? { dimensions: body.dimensions } : {};
  if (typeof input === "string") return { inputs: [input], ...dimensions };
  if (!Array.isArray(input)) return { inputs: [], ...dimensions };
  if (input.every((item) => typeof item === "number")) return { inputs: [input as number[]], ...dimensions };
  return {
    inputs: input.map((item) => (Array.isArray(item) ? (item as number[]) : String(item))),
    ...dimensions,
  };
}

/** Little-endian float32 bytes as base64, as OpenAI answers `encoding_format: "base64"`. */
function base64Vector(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (const [i, value] of vector.entries()) bytes.writeFloatLE(value, i * 4);
  return bytes.toString("base64");
}

function embeddingsBody(answer: MockEmbeddingsAnswer, context: MockAnswerContext): Record<string, unknown> {
  const body = isRecord(context.request.body) ? context.request.body : {};
  const base64 = body.encoding_format === "base64";
  const data = answer.vectors.map((vector, index) => ({
    object: "embedding",
    index,
    embedding: base64 ? base64Vector(vector) : [...vector],
  }));
  if (answer.reversed) data.reverse();
  return {
    object: "list",
    data,
    model: context.model,
    ...(answer.promptTokens === undefined
      ? {}
      : { usage: { prompt_tokens: answer.promptTokens, total_tokens: answer.promptTokens } }),
  };
}

/** The OpenAI wire: chat completions, legacy completions and Azure-style deployment paths. */
export const openAiWire: MockWire = {
  name: "openai",
  match,
  apiKey: (request) => bearerToken(request.headers.authorization) ?? request.headers["api-key"],
  streams: (_route, body) => isRecord(body) && body.stream === true,
  answerId: (route, n) => `${route.endpoint === "chat" ? "chatcmpl" : "cmpl"}-mock-${n}`,
  streamEvents,
  unaryBody,
  partialEvents,
  errorBody,
  /** OpenAI has no 529: an overloaded upstream answers 503. */
  errorStatus: (error) => (error.kind === "overloaded" && error.status === 529 ? 503 : error.status),
  streamErrorEvent: (error) => ({ data: errorBody(error) }),
  finishReason: (reason) => reason,
  embeddingRequest,
  embeddingsBody,
};
