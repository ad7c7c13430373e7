// The behaviours the scripted mock upstream (src/testkit/mock-provider.ts) answers with, whatever
// the wire: completions (text, reasoning, tool calls, usage, finish reasons), errors by kind, stalls,
// dropped, malformed and mid-stream-failing streams, answers that are not an event stream, and
// bodies whose content-encoding lies; on the embeddings and token-count routes, their answers
// (`embeddings()`, `countTokens()`; a plain `complete()` there answers their default). Each wire writer (mock-openai-wire.ts, mock-anthropic-wire.ts,
// mock-gemini-wire.ts) turns them into its own bytes.

export type MockFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** A content-encoding the mock really applies to a body (`identity` sends the header, body as is). */
export type MockContentEncoding = "gzip" | "br" | "deflate" | "identity";

/**
 * Token usage in OpenAI's shape (input includes cached tokens, output includes reasoning tokens);
 * each wire writer converts it to its own (Anthropic's input_tokens exclude cache reads and writes).
 */
export interface MockUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  /** Defaults to prompt_tokens + completion_tokens. */
  readonly total_tokens?: number;
  readonly prompt_tokens_details?: { readonly cached_tokens: number };
  /**
   * Prompt tokens written to the provider's prompt cache (Anthropic's
   * `cache_creation_input_tokens`), counted in prompt_tokens; the OpenAI wire does not send them.
   */
  readonly cache_write_tokens?: number;
  readonly completion_tokens_details?: { readonly reasoning_tokens: number };
}

/** One tool call of a completion; `arguments` are the argument deltas, in order. */
export interface MockToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: readonly string[];
}

/** A normal completion: SSE when the request has `stream: true`, else one JSON body. */
export interface CompleteBehaviour {
  readonly type: "complete";
  /** Content deltas; default ["Hello", " world"]. */
  readonly content?: readonly string[];
  /**
   * Chat only: reasoning text sent before the content, as pieces: OpenAI `delta.reasoning_content`
   * (vLLM's and DeepSeek's field), an Anthropic thinking block's `thinking_delta`s, Gemini
   * `thought: true` parts. Default: none.
   */
  readonly reasoning?: readonly string[];
  /**
   * The reasoning's opaque signature: the Anthropic thinking block's `signature_delta`, Gemini's
   * `thoughtSignature` on the first function call part (or the last part when there is none).
   * Ignored by the OpenAI wire. Default: none (Anthropic: "mock-signature" when there is reasoning).
   */
  readonly reasoningSignature?: string;
  /** Anthropic only: a `redacted_thinking` block with this data, before the thinking block. */
  readonly redactedReasoning?: string;
  /** Default "tool_calls" when `toolCalls` is non-empty, else "stop". */
  readonly finishReason?: MockFinishReason;
  /**
   * The wire's own finish reason, sent as is instead of the mapping of `finishReason` (Anthropic
   * "stop_sequence" or "refusal", Gemini "SAFETY" or "RECITATION", …).
   */
  readonly nativeFinishReason?: string;
  /** Gemini only: the prompt was blocked: `promptFeedback.blockReason` and no candidates. */
  readonly blockReason?: string;
  /** Default: prompt = word count of the request's messages (or prompt), completion = number of deltas. */
  readonly usage?: MockUsage;
  readonly toolCalls?: readonly MockToolCall[];
  /** Whether a stream ends with a usage chunk; default: the request's `stream_options.include_usage`. */
  readonly includeUsage?: boolean;
  /**
   * Streams only: send this many SSE events (the first is the role-only chunk), then hold until
   * `resume` resolves (forever when it is omitted), then send the rest.
   */
  readonly pauseAfterEvents?: number;
  readonly resume?: Promise<void>;
  /**
   * Encode the body (SSE or JSON) and send `content-encoding`; a stream is flushed after every event,
   * so each event can be decoded as it arrives. Default: no encoding, no header.
   */
  readonly contentEncoding?: MockContentEncoding;
  /** Replaces the content-type header (default `text/event-stream; charset=utf-8`, or JSON when unary). */
  readonly contentType?: string;
}

/**
 * What an error is, whatever the wire: each writer sends its own type, code and status for it
 * (OpenAI `rate_limit_exceeded`, Anthropic `rate_limit_error`, Gemini `RESOURCE_EXHAUSTED`).
 */
export type MockErrorKind =
  | "bad_request"
  | "context_length"
  | "content_filter"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "request_too_large"
  | "rate_limited"
  | "quota_exhausted"
  | "server_error"
  | "overloaded";

/**
 * An HTTP error answer. `body` given: sent as is (a string as plain text); else the wire writes its
 * error body for `kind` with `message`.
 */
export interface ErrorBehaviour {
  readonly type: "error";
  readonly status: number;
  /** Default: from the status (429 rate_limited, 401 unauthorized, 5xx server_error, …). */
  readonly kind?: MockErrorKind;
  readonly message?: string;
  /** Rate limits: the wait asked for (Retry-After, or Gemini's RetryInfo in the body). */
  readonly retryAfterSeconds?: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Encode the body and send `content-encoding`; default none. */
  readonly contentEncoding?: MockContentEncoding;
}

/**
 * A 2xx answer that is not an event stream, as a captive portal, a load balancer's error page or a
 * wrong base URL gives: `body` under `content-type` (no content-type header when it is undefined),
 * whether or not the request asked to stream.
 */
export interface NotAnEventStreamBehaviour {
  readonly type: "not-an-event-stream";
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

/**
 * A normal completion whose `content-encoding` header says `encoding` while the body is sent
 * unencoded: a name the client cannot decode (`zstd`), or a lie a decoder trips on (`gzip`).
 */
export interface MislabelledEncodingBehaviour {
  readonly type: "mislabelled-encoding";
  readonly encoding: string;
}

/** 401 unless the request carries `key` the way its wire sends keys; else `then` (default a completion). */
export interface UnauthorizedUnlessKeyBehaviour {
  readonly type: "unauthorized-unless-key";
  readonly key: string;
  readonly then?: MockBehaviour;
}

/** Never writes anything, not even headers. */
export interface StallBeforeFirstByteBehaviour {
  readonly type: "stall-before-first-byte";
}

/**
 * Sends headers and `afterChunks` content chunks (the first also carries role "assistant"), then holds.
 * A non-streaming request gets the headers only, then the hold.
 */
export interface StallMidStreamBehaviour {
  readonly type: "stall-mid-stream";
  readonly afterChunks: number;
}

/**
 * Sends headers and `afterChunks` content chunks, then closes the connection mid-body.
 * A non-streaming request gets the headers and half a JSON body, then the close.
 */
export interface DropMidStreamBehaviour {
  readonly type: "drop-mid-stream";
  readonly afterChunks: number;
}

/**
 * Sends headers, `afterChunks` content chunks, then the event `data: {not json` and ends the response.
 * A non-streaming request gets a 200 whose body is `{not json`.
 */
export interface MalformedSseBehaviour {
  readonly type: "malformed-sse";
  readonly afterChunks: number;
}

/**
 * Sends headers and `afterChunks` content chunks, then the wire's error event (Anthropic
 * `event: error`, OpenAI `data: {"error": …}`, Gemini an error object) and ends the response.
 * A non-streaming request gets the wire's HTTP error answer for the kind instead (status from
 * `errorStatusOf`).
 */
export interface ErrorMidStreamBehaviour {
  readonly type: "error-mid-stream";
  readonly afterChunks: number;
  /** Default "overloaded". */
  readonly kind?: MockErrorKind;
  readonly message?: string;
}

/**
 * An embeddings answer (OpenAI `/v1/embeddings`, Gemini `:batchEmbedContents`). Default vectors:
 * input i (0-based) gets `[i + 1, its length (characters, or token ids), 0.25, 0.25, …]`, cut or
 * padded with 0.25 to `dimensions` (the behaviour's, else the request's, else 3) — values float32
 * holds exactly, so a base64 answer decodes to the same numbers.
 */
export interface EmbeddingsBehaviour {
  readonly type: "embeddings";
  /** The vectors, in input order (overrides the default ones). */
  readonly vectors?: readonly (readonly number[])[];
  readonly dimensions?: number;
  /**
   * OpenAI's usage; default prompt tokens = the words of the texts (the ids of token arrays).
   * `null`: the answer carries no usage. The Gemini wire never sends usage.
   */
  readonly usage?: { readonly prompt_tokens: number } | null;
  /** OpenAI wire: list the embeddings in reverse order, each with its own index. */
  readonly reversed?: boolean;
}

/**
 * A token-count answer (Anthropic `/v1/messages/count_tokens`, Gemini `:countTokens`); default:
 * the words of the request's messages and system prompt.
 */
export interface CountTokensBehaviour {
  readonly type: "count-tokens";
  readonly inputTokens?: number;
}

export type MockBehaviour =
  | CompleteBehaviour
  | EmbeddingsBehaviour
  | CountTokensBehaviour
  | ErrorBehaviour
  | UnauthorizedUnlessKeyBehaviour
  | StallBeforeFirstByteBehaviour
  | StallMidStreamBehaviour
  | DropMidStreamBehaviour
  | MalformedSseBehaviour
  | ErrorMidStreamBehaviour
  | NotAnEventStreamBehaviour
  | MislabelledEncodingBehaviour;

/** Picks the behaviour for a request when the script is empty. */
export type MockDefaultBehaviour = MockBehaviour | ((request: ReceivedRequest) => MockBehaviour);

/** The body of an OpenAI error response. */
export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

export function openAiErrorBody(
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

export function complete(options: Omit<CompleteBehaviour, "type"> = {}): CompleteBehaviour {
  return { type: "complete", ...options };
}

export function embeddings(options: Omit<EmbeddingsBehaviour, "type"> = {}): EmbeddingsBehaviour {
  return { type: "embeddings", ...options };
}

export function countTokens(inputTokens?: number): CountTokensBehaviour {
  return inputTokens === undefined ? { type: "count-tokens" } : { type: "count-tokens", inputTokens };
}

/** The default mock vector of input `index` (see EmbeddingsBehaviour). */
export function mockUpstreamVector(
  index: number,
  input: string | readonly number[],
  dimensions: number,
): number[] {
  const vector = [index + 1, input.length];
  while (vector.length < dimensions) vector.push(0.25);
  return vector.slice(0, dimensions);
}

export function errorResponse(
  status: number,
  options: {
    readonly kind?: MockErrorKind;
    readonly message?: string;
    readonly retryAfterSeconds?: number;
    readonly body?: unknown;
    readonly headers?: Readonly<Record<string, string>>;
    readonly contentEncoding?: MockContentEncoding;
  } = {},
): ErrorBehaviour {
  return { type: "error", status, ...options };
}

/** The kind an error status means when a behaviour names none. */
export function errorKindOf(status: number): MockErrorKind {
  if (status === 429) return "rate_limited";
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 413) return "request_too_large";
  if (status === 529) return "overloaded";
  if (status >= 500) return "server_error";
  return "bad_request";
}

/** The status an error of `kind` is answered with when no behaviour names one (error-mid-stream). */
export function errorStatusOf(kind: MockErrorKind): number {
  switch (kind) {
    case "bad_request":
    case "context_length":
    case "content_filter":
      return 400;
    case "unauthorized":
      return 401;
    case "forbidden":
      return 403;
    case "not_found":
      return 404;
    case "request_too_large":
      return 413;
    case "rate_limited":
    case "quota_exhausted":
      return 429;
    case "server_error":
      return 500;
    case "overloaded":
      return 529;
  }
}

/** 429 rate limited, with `Retry-After` (Gemini: RetryInfo) when `retryAfterSeconds` is given. */
export function rateLimited(retryAfterSeconds?: number): ErrorBehaviour {
  return errorResponse(429, {
    kind: "rate_limited",
    message: "Rate limit reached for requests. Please try again later.",
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}

/** A 5xx (default 500) server error. */
export function serverError(status = 500): ErrorBehaviour {
  return errorResponse(status, {
    kind: "server_error",
    message: "The server had an error while processing your request. Sorry about that!",
  });
}

/** The provider is overloaded: Anthropic's 529 overloaded_error, elsewhere a 503. */
export function overloaded(): ErrorBehaviour {
  return errorResponse(529, { kind: "overloaded", message: "Overloaded" });
}

/** 400 content filter, as a provider answers a prompt that trips its content policy. */
export function contentFiltered(): ErrorBehaviour {
  return errorResponse(400, {
    kind: "content_filter",
    message:
      "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. " +
      "Please modify your prompt and retry.",
  });
}

/** 400: the prompt is longer than the model's context. */
export function contextLengthExceeded(): ErrorBehaviour {
  return errorResponse(400, {
    kind: "context_length",
    message:
      "This model's maximum context length is 4096 tokens. However, your messages resulted in 5000 tokens. " +
      "Please reduce the length of the messages.",
  });
}

/** 400 invalid request with the given message. */
export function badRequest(message: string): ErrorBehaviour {
  return errorResponse(400, { kind: "bad_request", message });
}

/** 403 permission error. */
export function forbidden(): ErrorBehaviour {
  return errorResponse(403, { kind: "forbidden", message: "You are not allowed to access this resource." });
}

/** 401 invalid API key. */
export function unauthorized(): ErrorBehaviour {
  return errorResponse(401, {
    kind: "unauthorized",
    message:
      "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
  });
}

export function unauthorizedUnlessKey(key: string, then?: MockBehaviour): UnauthorizedUnlessKeyBehaviour {
  return then === undefined
    ? { type: "unauthorized-unless-key", key }
    : { type: "unauthorized-unless-key", key, then };
}

export function stallBeforeFirstByte(): StallBeforeFirstByteBehaviour {
  return { type: "stall-before-first-byte" };
}

export function stallMidStream(afterChunks: number): StallMidStreamBehaviour {
  return { type: "stall-mid-stream", afterChunks };
}

export function dropMidStream(afterChunks: number): DropMidStreamBehaviour {
  return { type: "drop-mid-stream", afterChunks };
}

export function malformedSse(afterChunks: number): MalformedSseBehaviour {
  return { type: "malformed-sse", afterChunks };
}

export function errorMidStream(
  afterChunks: number,
  options: { readonly kind?: MockErrorKind; readonly message?: string } = {},
): ErrorMidStreamBehaviour {
  return { type: "error-mid-stream", afterChunks, ...options };
}

/** Default: 200 `text/html; charset=utf-8` with a small HTML page. */
export function notAnEventStream(
  options: {
    readonly status?: number;
    readonly contentType?: string | undefined;
    readonly body?: string;
  } = {},
): NotAnEventStreamBehaviour {
  return {
    type: "not-an-event-stream",
    status: options.status ?? 200,
    contentType: "contentType" in options ? options.contentType : "text/html; charset=utf-8",
    body: options.body ?? "<!doctype html><html><body><h1>Welcome</h1></body></html>",
  };
}

export function mislabelledEncoding(encoding: string): MislabelledEncodingBehaviour {
  return { type: "mislabelled-encoding", encoding };
}

/** One request as the mock received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** The path without the query, e.g. "/v1/chat/completions". */
  readonly path: string;
  /** The query parameters, e.g. { "api-version": "2024-10-21" } for Azure-style requests. */
  readonly query: Readonly<Record<string, string>>;
  /** Header names in lower case; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body, or the raw text when it is not JSON ("" when empty). */
  readonly body: unknown;
  readonly rawBody: string;
  /** Index in arrival order, from 0 (reset by `reset()`). */
  readonly arrivedAt: number;
  /** The `Authorization` header, if any. */
  readonly authorization: string | undefined;
  /** The key the client sent, as its wire sends keys (Bearer, api-key, x-api-key, x-goog-api-key). */
  readonly apiKey: string | undefined;
  /** The deployment of an Azure-style path. */
  readonly deployment: string | undefined;
  /** The wire the path belongs to (undefined for an unknown path). */
  readonly wire: "openai" | "anthropic" | "gemini" | undefined;
}
