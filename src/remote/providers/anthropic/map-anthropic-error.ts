// Anthropic's error bodies (`{type: "error", error: {type, message}}`, as a non-2xx answer or a
// stream's `error` event) → InferenceError kinds, keeping the provider's message; what the type
// does not decide, the status does (src/remote/upstream-errors.ts). The remote worker decides
// retries, the circuit and fallbacks from the kind (docs/providers.md, the Anthropic failure table).

import { errors, type InferenceError } from "../../../core/inference-error.js";
import { errorForStatus, headerValue, retryAfterMs, type UpstreamHeaders } from "../../upstream-errors.js";
import type { AnthropicErrorBody } from "./anthropic-wire.js";

/** The Retry-After a client gets for a billing refusal when the upstream gave none (as for OpenAI's quota). */
const BILLING_RETRY_HINT_MS = 60_000;

/** The limits Anthropic reports as `anthropic-ratelimit-<name>-remaining` / `-reset`. */
const rateLimitNames = ["requests", "tokens", "input-tokens", "output-tokens"] as const;

/**
 * The wait a 429 asks for: Retry-After when sent, else the latest `anthropic-ratelimit-*-reset`
 * (RFC 3339) among the limits whose `-remaining` is 0; undefined when neither says.
 */
export function anthropicRateLimitWaitMs(headers: UpstreamHeaders, now: number): number | undefined {
  const retryAfter = retryAfterMs(headers, now);
  if (retryAfter !== undefined) return retryAfter;
  let wait: number | undefined;
  for (const name of rateLimitNames) {
    const remaining = headerValue(headers, `anthropic-ratelimit-${name}-remaining`);
    const reset = headerValue(headers, `anthropic-ratelimit-${name}-reset`);
    if (remaining === undefined || reset === undefined || Number(remaining.trim()) !== 0) continue;
    const at = Date.parse(reset);
    if (Number.isNaN(at)) continue;
    wait = Math.max(wait ?? 0, at - now, 0);
  }
  return wait;
}

/** Anthropic's wording for a prompt longer than the model's context window. */
const PROMPT_TOO_LONG = /prompt is too long|too many (input )?tokens|context (window|length|limit)/i;

/** The numbers of "prompt is too long: 5000 tokens > 4096 maximum", when the message has them. */
function promptSizes(detail: string): { requested?: number; limit?: number } {
  const match = /(\d+) tokens > (\d+)(?: maximum)?/.exec(detail);
  if (match?.[1] === undefined || match[2] === undefined) return {};
  return { requested: Number(match[1]), limit: Number(match[2]) };
}

/** The status each error type is documented with: a stream's `error` event carries none. */
const statusOfType: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** The kind an Anthropic error `type` means; `prefix` starts each message ("upstream 429", …). */
function classify(
  type: string | undefined,
  status: number,
  prefix: string,
  detail: string,
  headers: UpstreamHeaders,
  now: number,
): InferenceError {
  const message = `${prefix}: ${detail}`;
  if (
    (type === "invalid_request_error" || (type === undefined && (status === 400 || status === 413))) &&
    PROMPT_TOO_LONG.exec(detail) !== null
  ) {
    const { limit, requested } = promptSizes(detail);
    return errors.contextLengthExceeded(message, limit, requested);
  }
  switch (type) {
    case "invalid_request_error":
      return errors.badRequest(message);
    case "authentication_error":
      // the worker re-reads the key and rebuilds the session, then tries once more
      return errors.upstreamUnauthorized(message);
    case "permission_error":
      return errors.forbidden(message);
    case "not_found_error":
      return errors.notFound(message);
    case "request_too_large":
      return errors.badRequest(
        `${prefix}: the request is larger than anthropic accepts (request_too_large): ${detail}`,
      );
    case "billing_error":
      // like OpenAI's insufficient_quota: no retry or wait fixes it (docs/providers.md)
      return errors.budgetExceeded(
        `${prefix}: the upstream account cannot be billed: ${detail}`,
        retryAfterMs(headers, now) ?? BILLING_RETRY_HINT_MS,
      );
    case "rate_limit_error":
      return errors.rateLimited(message, anthropicRateLimitWaitMs(headers, now));
    case "api_error":
      return errors.serverError(message, Math.max(status, 500));
    case "overloaded_error":
      return errors.serverError(message, status >= 500 ? status : 529);
    case "timeout_error":
      return errors.timeout(message, "first_byte");
    default:
      if (status === 429) return errors.rateLimited(message, anthropicRateLimitWaitMs(headers, now));
      return errorForStatus(status, message, headers, now);
  }
}

function parseBody(body: string): AnthropicErrorBody | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === "object" && parsed !== null ? (parsed as AnthropicErrorBody) : undefined;
  } catch {
    return undefined;
  }
}

/** A non-2xx answer (status, headers, body text) → its InferenceError, `upstream <status>: <message>`. */
export function mapAnthropicError(
  status: number,
  headers: UpstreamHeaders,
  body: string,
  now: number,
): InferenceError {
  const upstream = parseBody(body)?.error;
  const detail = upstream?.message ?? (body.trim().slice(0, 200) || `HTTP ${status}`);
  return classify(upstream?.type, status, `upstream ${status}`, detail, headers, now);
}

/**
 * A stream's `error` event (`{type: "error", error: {type, message}}`) → its InferenceError,
 * `upstream stream error: <message>`: overloaded_error 529 and api_error 500 are retryable
 * server errors; an unknown type is a 502 server error.
 */
export function mapAnthropicStreamError(error: AnthropicErrorBody["error"], now: number): InferenceError {
  const type = typeof error?.type === "string" ? error.type : undefined;
  const detail = error?.message ?? type ?? "unknown";
  const status =
    (type !== undefined && Object.hasOwn(statusOfType, type) ? statusOfType[type] : undefined) ?? 502;
  return classify(type, status, "upstream stream error", detail, {}, now);
}
