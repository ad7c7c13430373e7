// The Anthropic wire of the scripted mock upstream (src/testkit/mock-provider.ts): `POST
// /v1/messages` with the key in `x-api-key` or `Authorization: Bearer`; named SSE events
// (message_start, ping, thinking / redacted_thinking / text / tool_use blocks, message_delta,
// message_stop), a whole Message for unary requests, and Anthropic error bodies per error kind
// (docs/providers.md, `runtime = "anthropic"`); `/v1/messages/count_tokens` answers `{input_tokens}`. Served with `startMockProvider({ wires: [anthropicWire] })`.

import type {
  AnthropicContentBlock,
  AnthropicErrorBody,
  AnthropicMessage,
  AnthropicStreamEvent,
  AnthropicUsage,
} from "../remote/providers/anthropic/anthropic-wire.js";
import type {
  CompleteBehaviour,
  MockErrorKind,
  MockFinishReason,
  MockToolCall,
  MockUsage,
  ReceivedRequest,
} from "./mock-behaviours.js";
import type { MockAnswerContext, MockRoute, MockSseEvent, MockWire, MockWireError } from "./mock-wire.js";

/** Anthropic's error type for each kind. */
const errorTypes: Readonly<Record<MockErrorKind, string>> = {
  bad_request: "invalid_request_error",
  context_length: "invalid_request_error",
  // Anthropic has no content-filter error: a refusal is `stop_reason: "refusal"`
  content_filter: "invalid_request_error",
  unauthorized: "authentication_error",
  forbidden: "permission_error",
  not_found: "not_found_error",
  request_too_large: "request_too_large",
  rate_limited: "rate_limit_error",
  quota_exhausted: "billing_error",
  server_error: "api_error",
  overloaded: "overloaded_error",
};

/** What Anthropic says of a prompt longer than the context window (its wording, which clients match). */
export const ANTHROPIC_PROMPT_TOO_LONG = "prompt is too long: 5000 tokens > 4096 maximum";

function errorBody(error: MockWireError): AnthropicErrorBody {
  const message =
    error.kind === "context_length" && !error.message.includes("prompt is too long")
      ? ANTHROPIC_PROMPT_TOO_LONG
      : error.message;
  return { type: "error", error: { type: errorTypes[error.kind], message }, request_id: "req_mock" };
}

/** An RFC 3339 time, as Anthropic writes its `-reset` headers (no milliseconds). */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A rate-limited answer says which limit ran out: requests, with its reset when the wait is known.
 * The wire has no clock: the reset is the real time plus the wait, and the server's Retry-After
 * (the same wait) goes with it, which is what a client reads first.
 */
function errorHeaders(error: MockWireError): Readonly<Record<string, string>> {
  if (error.kind !== "rate_limited") return {};
  return {
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "0",
    ...(error.retryAfterSeconds === undefined
      ? {}
      : { "anthropic-ratelimit-requests-reset": rfc3339(Date.now() + error.retryAfterSeconds * 1000) }),
  };
}

/** Anthropic answers a billing refusal with 402 where other wires answer 429. */
function errorStatus(error: MockWireError): number {
  return error.kind === "quota_exhausted" && error.status === 429 ? 402 : error.status;
}

const finishReasons: Readonly<Record<MockFinishReason, string>> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  content_filter: "refusal",
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function bearerToken(authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : /^Bearer\s+(.+)$/i.exec(authorization);
  return match?.[1];
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word !== "").length;
}

/** The words of a string, or of the text (and tool results) of content blocks. */
function wordsIn(content: unknown): number {
  if (typeof content === "string") return countWords(content);
  if (Array.isArray(content)) return content.reduce<number>((sum, block) => sum + wordsIn(block), 0);
  if (isRecord(content)) return wordsIn(content.text) + wordsIn(content.content);
  return 0;
}

/** Prompt tokens by default: the words of `system` and of the messages. */
function promptWords(request: ReceivedRequest): number {
  if (!isRecord(request.body)) return 0;
  const { system, messages } = request.body;
  const inMessages = Array.isArray(messages)
    ? messages.reduce<number>((sum, message) => sum + (isRecord(message) ? wordsIn(message.content) : 0), 0)
    : 0;
  return wordsIn(system) + inMessages;
}

/** What a completion's bytes are made of. */
interface Completion {
  readonly content: readonly string[];
  readonly reasoning: readonly string[];
  readonly signature: string;
  readonly redacted: string | undefined;
  readonly toolCalls: readonly MockToolCall[];
  readonly stopReason: string;
  readonly stopSequence: string | null;
  /** message_start's usage: input excludes cache reads and writes. */
  readonly startUsage: AnthropicUsage;
  readonly outputTokens: number;
  readonly thinkingTokens: number | undefined;
}

function completionOf(behaviour: CompleteBehaviour, context: MockAnswerContext): Completion {
  const content = behaviour.content ?? ["Hello", " world"];
  const toolCalls = behaviour.toolCalls ?? [];
  const finish: MockFinishReason = behaviour.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop");
  const stopReason = behaviour.nativeFinishReason ?? finishReasons[finish];
  const deltas = content.length + toolCalls.reduce((sum, call) => sum + call.arguments.length, 0);
  const usage: MockUsage = behaviour.usage ?? {
    prompt_tokens: promptWords(context.request),
    completion_tokens: deltas,
  };
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const writes = usage.cache_write_tokens ?? 0;
  const body = isRecord(context.request.body) ? context.request.body : {};
  const stops = Array.isArray(body.stop_sequences) ? body.stop_sequences : [];
  const firstStop = typeof stops[0] === "string" ? stops[0] : null;
  return {
    content,
    reasoning: behaviour.reasoning ?? [],
    signature: behaviour.reasoningSignature ?? "mock-signature",
    redacted: behaviour.redactedReasoning,
    toolCalls,
    stopReason,
    stopSequence: stopReason === "stop_sequence" ? firstStop : null,
    startUsage: {
      input_tokens: Math.max(0, usage.prompt_tokens - cached - writes),
      cache_creation_input_tokens: writes,
      cache_read_input_tokens: cached,
      output_tokens: 1,
    },
    outputTokens: usage.completion_tokens,
    thinkingTokens: usage.completion_tokens_details?.reasoning_tokens,
  };
}

/** The blocks of a completion in order: redacted thinking, thinking, text (unless only tools), tools. */
function blocksOf(completion: Completion): AnthropicContentBlock[] {
  const blocks: AnthropicContentBlock[] = [];
  if (completion.redacted !== undefined)
    blocks.push({ type: "redacted_thinking", data: completion.redacted });
  if (completion.reasoning.length > 0) {
    blocks.push({
      type: "thinking",
      thinking: completion.reasoning.join(""),
      signature: completion.signature,
    });
  }
  if (completion.content.length > 0 || completion.toolCalls.length === 0) {
    blocks.push({ type: "text", text: completion.content.join("") });
  }
  for (const call of completion.toolCalls) {
    blocks.push({ type: "tool_use", id: call.id, name: call.name, input: toolInput(call.arguments) });
  }
  return blocks;
}

/** The joined argument pieces as the `input` object ({} when they are not a JSON object). */
function toolInput(pieces: readonly string[]): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(pieces.join("") || "{}");
    return isRecord(value) ? value : {};
  } catch {
    return {};
  }
}

function event(data: AnthropicStreamEvent): MockSseEvent {
  return { event: data.type, data };
}

function messageStart(context: MockAnswerContext, usage: AnthropicUsage): MockSseEvent {
  return event({
    type: "message_start",
    message: {
      id: context.id,
      type: "message",
      role: "assistant",
      model: context.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  });
}

function streamEvents(behaviour: CompleteBehaviour, context: MockAnswerContext): MockSseEvent[] {
  const completion = completionOf(behaviour, context);
  const events: MockSseEvent[] = [messageStart(context, completion.startUsage), event({ type: "ping" })];
  let index = 0;
  const block = (start: AnthropicContentBlock, deltas: AnthropicStreamEvent[]) => {
    events.push(event({ type: "content_block_start", index, content_block: start }));
    for (const delta of deltas) events.push(event(delta));
    events.push(event({ type: "content_block_stop", index }));
    index++;
  };
  if (completion.redacted !== undefined) block({ type: "redacted_thinking", data: completion.redacted }, []);
  if (completion.reasoning.length > 0) {
    const at = index;
    block({ type: "thinking", thinking: "", signature: "" }, [
      ...completion.reasoning.map(
        (piece): AnthropicStreamEvent => ({
          type: "content_block_delta",
          index: at,
          delta: { type: "thinking_delta", thinking: piece },
        }),
      ),
      {
        type: "content_block_delta",
        index: at,
        delta: { type: "signature_delta", signature: completion.signature },
      },
    ]);
  }
  if (completion.content.length > 0 || completion.toolCalls.length === 0) {
    const at = index;
    block(
      { type: "text", text: "" },
      completion.content.map((text) => ({
        type: "content_block_delta",
        index: at,
        delta: { type: "text_delta", text },
      })),
    );
  }
  for (const call of completion.toolCalls) {
    const at = index;
    block(
      { type: "tool_use", id: call.id, name: call.name, input: {} },
      call.arguments.map((partial_json) => ({
        type: "content_block_delta",
        index: at,
        delta: { type: "input_json_delta", partial_json },
      })),
    );
  }
  events.push(
    event({
      type: "message_delta",
      delta: { stop_reason: completion.stopReason, stop_sequence: completion.stopSequence },
      usage: {
        output_tokens: completion.outputTokens,
        ...(completion.thinkingTokens === undefined
          ? {}
          : { output_tokens_details: { thinking_tokens: completion.thinkingTokens } }),
      },
    }),
    event({ type: "message_stop" }),
  );
  return events;
}

function unaryBody(behaviour: CompleteBehaviour, context: MockAnswerContext): AnthropicMessage {
  const completion = completionOf(behaviour, context);
  return {
    id: context.id,
    type: "message",
    role: "assistant",
    model: context.model,
    content: blocksOf(completion),
    stop_reason: completion.stopReason,
    stop_sequence: completion.stopSequence,
    usage: {
      ...completion.startUsage,
      output_tokens: completion.outputTokens,
      ...(completion.thinkingTokens === undefined
        ? {}
        : { output_tokens_details: { thinking_tokens: completion.thinkingTokens } }),
    },
  };
}

function partialEvents(chunks: number, context: MockAnswerContext): MockSseEvent[] {
  const events: MockSseEvent[] = [
    messageStart(context, {
      input_tokens: promptWords(context.request),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 1,
    }),
    event({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
  ];
  for (let k = 1; k <= chunks; k++) {
    const text = `${k === 1 ? "" : " "}chunk${k}`;
    events.push(event({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }));
  }
  return events;
}

function match(method: string, path: string): MockRoute | undefined {
  if (method !== "POST") return undefined;
  if (path === "/v1/messages") return { wire: "anthropic", endpoint: "messages" };
  if (path === "/v1/messages/count_tokens") return { wire: "anthropic", endpoint: "count-tokens" };
  return undefined;
}

/** The Anthropic wire: the Messages API. */
export const anthropicWire: MockWire = {
  name: "anthropic",
  match,
  apiKey: (request) => request.headers["x-api-key"] ?? bearerToken(request.headers.authorization),
  streams: (_route, body) => isRecord(body) && body.stream === true,
  answerId: (_route, n) => `msg_mock_${n}`,
  streamEvents,
  unaryBody,
  partialEvents,
  errorBody,
  errorHeaders,
  errorStatus,
  streamErrorEvent: (error) => ({ event: "error", data: errorBody(error) }),
  finishReason: (reason) => finishReasons[reason],
  countTokensDefault: promptWords,
  countTokensBody: (inputTokens) => ({ input_tokens: inputTokens }),
};
