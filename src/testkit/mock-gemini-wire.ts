// The Gemini API wire of the scripted mock upstream (src/testkit/mock-wire.ts): it serves
// `POST /{v1beta|v1}/models/{model}:streamGenerateContent` (data-only SSE, one
// GenerateContentResponse per event, as with `?alt=sse`) and `:generateContent` (one JSON body),
// takes the key from `x-goog-api-key` or `?key=`, and writes Google's `{error: {code, message,
// status, details}}` bodies (a bad key is Gemini's 400 API_KEY_INVALID). Function calls go out
// whole and without the scripted ids, as Gemini sends them. @google/genai reads what it writes.
// It also serves `:batchEmbedContents` (`{embeddings: [{values}]}`, no usage, as Gemini answers)
// and `:countTokens` (`{totalTokens}`; `contents`, or the whole `generateContentRequest`).

import type {
  CompleteBehaviour,
  MockErrorKind,
  MockFinishReason,
  MockToolCall,
  MockUsage,
  ReceivedRequest,
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

const route =
  /^\/(v1beta|v1)\/models\/([^/:]+):(streamGenerateContent|generateContent|batchEmbedContents|countTokens)$/;

const endpoints: Readonly<Record<string, string>> = {
  streamGenerateContent: "generate",
  generateContent: "generate",
  batchEmbedContents: "embeddings",
  countTokens: "count-tokens",
};

const finishReasons: Readonly<Record<MockFinishReason, string>> = {
  stop: "STOP",
  length: "MAX_TOKENS",
  tool_calls: "STOP",
  content_filter: "SAFETY",
};

/** Google's canonical status for each error kind (what the Gemini API answers with). */
const canonicalStatus: Readonly<Record<MockErrorKind, string>> = {
  bad_request: "INVALID_ARGUMENT",
  context_length: "INVALID_ARGUMENT",
  content_filter: "INVALID_ARGUMENT",
  unauthorized: "INVALID_ARGUMENT",
  forbidden: "PERMISSION_DENIED",
  not_found: "NOT_FOUND",
  request_too_large: "INVALID_ARGUMENT",
  rate_limited: "RESOURCE_EXHAUSTED",
  quota_exhausted: "RESOURCE_EXHAUSTED",
  server_error: "INTERNAL",
  overloaded: "UNAVAILABLE",
};

/** The Gemini API's own text for kinds whose shared message names another provider. */
const CONTEXT_LENGTH_MESSAGE =
  "The input token count (5000) exceeds the maximum number of tokens allowed (4096).";
const BAD_KEY_MESSAGE = "API key not valid. Please pass a valid API key.";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word !== "").length;
}

/** Words of the text parts of a list of contents (or of one content). */
function wordsInParts(content: unknown): number {
  if (!isRecord(content) || !Array.isArray(content.parts)) return 0;
  return content.parts.reduce<number>(
    (sum, part) => sum + (isRecord(part) && typeof part.text === "string" ? countWords(part.text) : 0),
    0,
  );
}

/** Prompt tokens by default: the words of the request's contents and system instruction. */
function promptWords(request: ReceivedRequest): number {
  if (!isRecord(request.body)) return 0;
  const contents = Array.isArray(request.body.contents) ? request.body.contents : [];
  return (
    contents.reduce<number>((sum, content) => sum + wordsInParts(content), 0) +
    wordsInParts(request.body.systemInstruction)
  );
}

interface GeminiUsage {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
}

/** OpenAI-shaped usage (output includes reasoning) → Gemini's (candidates exclude thoughts). */
function usageMetadata(behaviour: CompleteBehaviour, context: MockAnswerContext): GeminiUsage {
  const reasoning = behaviour.reasoning ?? [];
  const deltas = (behaviour.content ?? ["Hello", " world"]).length + (behaviour.toolCalls ?? []).length;
  const usage: MockUsage = behaviour.usage ?? {
    prompt_tokens: promptWords(context.request),
    completion_tokens: deltas + reasoning.length,
    ...(reasoning.length > 0 ? { completion_tokens_details: { reasoning_tokens: reasoning.length } } : {}),
  };
  const thoughts = usage.completion_tokens_details?.reasoning_tokens ?? 0;
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    promptTokenCount: usage.prompt_tokens,
    candidatesTokenCount: Math.max(0, usage.completion_tokens - thoughts),
    totalTokenCount: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    ...(thoughts > 0 ? { thoughtsTokenCount: thoughts } : {}),
    ...(cached > 0 ? { cachedContentTokenCount: cached } : {}),
  };
}

/** A mock call's argument deltas, joined, as the object Gemini's `functionCall.args` is. */
function callArgs(call: MockToolCall): Record<string, unknown> {
  const text = call.arguments.join("");
  if (text.trim() === "") return {};
  const parsed: unknown = JSON.parse(text);
  if (!isRecord(parsed)) {
    throw new Error(`mock tool call ${call.name}: Gemini function-call arguments must be a JSON object`);
  }
  return parsed;
}

type Part = Record<string, unknown>;

/** The parts of a whole completion, in the order Gemini sends them: thoughts, text, calls. */
function completionParts(behaviour: CompleteBehaviour, joined: boolean): Part[][] {
  const reasoning = behaviour.reasoning ?? [];
  const content = behaviour.content ?? ["Hello", " world"];
  const calls = behaviour.toolCalls ?? [];
  const pieces: Part[][] = [];
  if (joined) {
    const parts: Part[] = [];
    if (reasoning.length > 0) parts.push({ text: reasoning.join(""), thought: true });
    if (content.length > 0) parts.push({ text: content.join("") });
    pieces.push(parts);
  } else {
    for (const piece of reasoning) pieces.push([{ text: piece, thought: true }]);
    for (const piece of content) pieces.push([{ text: piece }]);
  }
  if (calls.length > 0) {
    // function calls arrive whole, all in one chunk (appended to the unary answer's parts)
    const callParts = calls.map((call) => ({ functionCall: { name: call.name, args: callArgs(call) } }));
    if (joined && pieces[0] !== undefined) pieces[0].push(...callParts);
    else pieces.push(callParts);
  }
  if (pieces.length === 0 || pieces.every((parts) => parts.length === 0))
    pieces.splice(0, pieces.length, [{ text: "" }]);
  const signature = behaviour.reasoningSignature;
  if (signature !== undefined) {
    // the first function call part carries it; with no calls, the last part of the answer
    const first = pieces.flat().find((part) => "functionCall" in part);
    const target = first ?? pieces[pieces.length - 1]?.at(-1);
    if (target !== undefined) target.thoughtSignature = signature;
  }
  return pieces;
}

function candidate(parts: Part[], finishReason?: string): Record<string, unknown> {
  return {
    content: { parts, role: "model" },
    ...(finishReason === undefined ? {} : { finishReason }),
    index: 0,
  };
}

function responseEnvelope(
  context: MockAnswerContext,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  return { ...fields, modelVersion: context.model, responseId: context.id };
}

function nativeFinishReason(behaviour: CompleteBehaviour): string {
  if (behaviour.nativeFinishReason !== undefined) return behaviour.nativeFinishReason;
  const reason = behaviour.finishReason ?? ((behaviour.toolCalls ?? []).length > 0 ? "tool_calls" : "stop");
  return finishReasons[reason];
}

function blockedPrompt(behaviour: CompleteBehaviour, context: MockAnswerContext): Record<string, unknown> {
  const usage = usageMetadata(behaviour, context);
  return responseEnvelope(context, {
    promptFeedback: { blockReason: behaviour.blockReason },
    usageMetadata: { promptTokenCount: usage.promptTokenCount, totalTokenCount: usage.promptTokenCount },
  });
}

/** The wait a rate-limited answer asks for, as Google writes a Duration ("30s", "1.5s"). */
function retryDelay(seconds: number): string {
  return `${Number(seconds.toFixed(3))}s`;
}

function errorObject(error: MockWireError): Record<string, unknown> {
  const details: Record<string, unknown>[] = [];
  let status = canonicalStatus[error.kind];
  let message = error.message;
  switch (error.kind) {
    case "context_length":
      message = CONTEXT_LENGTH_MESSAGE;
      break;
    case "unauthorized":
      // what the Gemini API answers for a bad key (see errorStatus): 400 INVALID_ARGUMENT, API_KEY_INVALID
      status = "INVALID_ARGUMENT";
      message = BAD_KEY_MESSAGE;
      details.push({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: "API_KEY_INVALID",
        domain: "googleapis.com",
        metadata: { service: "generativelanguage.googleapis.com" },
      });
      break;
    case "rate_limited":
    case "quota_exhausted":
      details.push({
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        violations: [
          {
            quotaMetric: "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count",
            quotaId:
              error.kind === "quota_exhausted"
                ? "GenerateRequestsPerDayPerProjectPerModel"
                : "GenerateContentPaidTierInputTokensPerModelPerMinute",
          },
        ],
      });
      if (error.retryAfterSeconds !== undefined) {
        details.push({
          "@type": "type.googleapis.com/google.rpc.RetryInfo",
          retryDelay: retryDelay(error.retryAfterSeconds),
        });
      }
      break;
    default:
      break;
  }
  return { code: error.status, message, status, ...(details.length > 0 ? { details } : {}) };
}

/**
 * The status the Gemini API answers with: a bad key is a 400 (not a 401), an overloaded model a
 * 503 (Anthropic's 529 is not Google's), a payload over the limit a 400 INVALID_ARGUMENT.
 */
function errorStatus(error: MockWireError): number {
  if (error.kind === "unauthorized" || error.kind === "request_too_large") return 400;
  if (error.kind === "overloaded" && error.status === 529) return 503;
  return error.status;
}

export const geminiWire: MockWire = {
  name: "gemini",

  match(method: string, path: string): MockRoute | undefined {
    if (method !== "POST") return undefined;
    const match = route.exec(path.split("?")[0] ?? path);
    if (match?.[2] === undefined) return undefined;
    return {
      wire: "gemini",
      endpoint: endpoints[match[3] ?? ""] ?? "generate",
      model: decodeURIComponent(match[2]),
      stream: match[3] === "streamGenerateContent",
    };
  },

  embeddingRequest(request: ReceivedRequest): MockEmbeddingRequest {
    const requests =
      isRecord(request.body) && Array.isArray(request.body.requests) ? request.body.requests : [];
    const first = requests[0];
    const dimensions =
      isRecord(first) && typeof first.outputDimensionality === "number"
        ? { dimensions: first.outputDimensionality }
        : {};
    const inputs = requests.map((item) => {
      const parts =
        isRecord(item) && isRecord(item.content) && Array.isArray(item.content.parts)
          ? item.content.parts
          : [];
      return parts.map((part) => (isRecord(part) && typeof part.text === "string" ? part.text : "")).join("");
    });
    return { inputs, ...dimensions };
  },

  embeddingsBody(answer: MockEmbeddingsAnswer): unknown {
    return { embeddings: answer.vectors.map((values) => ({ values: [...values] })) };
  },

  countTokensDefault(request: ReceivedRequest): number {
    const body = isRecord(request.body) ? request.body : {};
    const counted = isRecord(body.generateContentRequest) ? body.generateContentRequest : body;
    return promptWords({ ...request, body: counted });
  },

  countTokensBody(inputTokens: number): unknown {
    // Gemini leaves zero counts out of its JSON
    return inputTokens === 0 ? {} : { totalTokens: inputTokens };
  },

  apiKey(request: Pick<ReceivedRequest, "headers" | "query">): string | undefined {
    return request.headers["x-goog-api-key"] ?? request.query.key;
  },

  streams(route: MockRoute): boolean {
    return route.stream === true;
  },

  answerId(_route: MockRoute, n: number): string {
    return `mock-response-${n}`;
  },

  streamEvents(behaviour: CompleteBehaviour, context: MockAnswerContext): MockSseEvent[] {
    if (behaviour.blockReason !== undefined) return [{ data: blockedPrompt(behaviour, context) }];
    const usage = usageMetadata(behaviour, context);
    const withUsage = behaviour.includeUsage !== false;
    const pieces = completionParts(behaviour, false);
    const finish = nativeFinishReason(behaviour);
    return pieces.map((parts, k) => {
      const last = k === pieces.length - 1;
      // every chunk says the prompt's size; the last one the whole usage
      const usageNow = last
        ? usage
        : { promptTokenCount: usage.promptTokenCount, totalTokenCount: usage.promptTokenCount };
      return {
        data: responseEnvelope(context, {
          candidates: [candidate(parts, last ? finish : undefined)],
          ...(withUsage ? { usageMetadata: usageNow } : {}),
        }),
      };
    });
  },

  unaryBody(behaviour: CompleteBehaviour, context: MockAnswerContext): unknown {
    if (behaviour.blockReason !== undefined) return blockedPrompt(behaviour, context);
    const parts = completionParts(behaviour, true).flat();
    return responseEnvelope(context, {
      candidates: [candidate(parts, nativeFinishReason(behaviour))],
      ...(behaviour.includeUsage === false ? {} : { usageMetadata: usageMetadata(behaviour, context) }),
    });
  },

  partialEvents(chunks: number, context: MockAnswerContext): MockSseEvent[] {
    const events: MockSseEvent[] = [];
    for (let k = 1; k <= chunks; k++) {
      events.push({
        data: responseEnvelope(context, {
          candidates: [candidate([{ text: `${k === 1 ? "" : " "}chunk${k}` }])],
        }),
      });
    }
    return events;
  },

  errorBody(error: MockWireError): unknown {
    return { error: errorObject(error) };
  },

  errorStatus,

  streamErrorEvent(error: MockWireError): MockSseEvent {
    return { data: { error: errorObject(error) } };
  },

  finishReason(reason: MockFinishReason): string {
    return finishReasons[reason];
  },
};
