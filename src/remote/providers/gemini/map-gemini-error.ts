// Gemini API failures → InferenceError kinds (docs/providers.md, `runtime = "gemini"`, "What the
// client sees"): a non-2xx answer's `{error: {code, message, status, details}}` body, and the same
// object sent inside a 200 stream (gemini-stream-decoder.ts). The canonical `status` decides first;
// what it does not decide, the HTTP status does (src/remote/upstream-errors.ts).

import { errors, type InferenceError } from "../../../core/inference-error.js";
import { errorForStatus, retryAfterMs, type UpstreamHeaders } from "../../upstream-errors.js";
import type { GeminiError, GeminiErrorBody } from "./gemini-wire.js";

const RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo";
const ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo";

/** A `google.protobuf.Duration` in JSON ("30s", "1.5s") in ms, or undefined when it is not one. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match?.[1] === undefined ? undefined : Math.round(Number(match[1]) * 1000);
}

type GeminiErrorDetail = NonNullable<GeminiError["details"]>[number];

/** The typed details of an error object: only the objects of an array (a body may hold anything). */
function detailsOf(error: GeminiError): GeminiErrorDetail[] {
  return Array.isArray(error.details)
    ? error.details.filter(
        (detail): detail is GeminiErrorDetail =>
          typeof detail === "object" && detail !== null && !Array.isArray(detail),
      )
    : [];
}

/** The error's message when it is text, else "". */
function messageOf(error: GeminiError): string {
  return typeof error.message === "string" ? error.message : "";
}

/** The wait a RESOURCE_EXHAUSTED body asks for (its RetryInfo detail), in ms. */
function retryDelayMs(error: GeminiError): number | undefined {
  for (const detail of detailsOf(error)) {
    if (detail["@type"] === RETRY_INFO) {
      const ms = durationMs(detail.retryDelay);
      if (ms !== undefined) return ms;
    }
  }
  return undefined;
}

/** Gemini answers a bad or expired key with 400 INVALID_ARGUMENT, not 401 (reason API_KEY_INVALID). */
function isBadKey(error: GeminiError): boolean {
  const reasons = detailsOf(error)
    .filter((detail) => detail["@type"] === ERROR_INFO)
    .map((detail) => detail.reason);
  if (reasons.includes("API_KEY_INVALID") || reasons.includes("API_KEY_EXPIRED")) return true;
  const message = messageOf(error).toLowerCase();
  return message.includes("api key not valid") || message.includes("api key expired");
}

/** "The input token count (5000) exceeds the maximum number of tokens allowed (4096)." */
function tokenLimit(message: string): { limit?: number; requested?: number } | undefined {
  const lower = message.toLowerCase();
  if (!lower.includes("exceeds the maximum number of tokens") && !lower.includes("input token count")) {
    return undefined;
  }
  const requested = /token count \((\d+)\)/i.exec(message)?.[1];
  const limit = /tokens allowed \((\d+)\)/i.exec(message)?.[1];
  return {
    ...(limit === undefined ? {} : { limit: Number(limit) }),
    ...(requested === undefined ? {} : { requested: Number(requested) }),
  };
}

/**
 * The kind of a Gemini error object. `status` is the HTTP status it came with (its `code` for one
 * inside a stream); `message` is the client-facing text (never the key).
 */
export function classifyGeminiError(
  error: GeminiError,
  status: number,
  message: string,
  headers: UpstreamHeaders,
  now: number,
): InferenceError {
  const canonical = error.status;
  if ((status === 400 || canonical === "INVALID_ARGUMENT") && isBadKey(error)) {
    // the worker re-reads the key and rebuilds the session, then tries once more
    return errors.upstreamUnauthorized(message);
  }
  switch (canonical) {
    case "INVALID_ARGUMENT":
    case "FAILED_PRECONDITION":
    case "OUT_OF_RANGE": {
      const tokens = tokenLimit(messageOf(error));
      if (tokens !== undefined) return errors.contextLengthExceeded(message, tokens.limit, tokens.requested);
      return errors.badRequest(message);
    }
    case "UNAUTHENTICATED":
    case "PERMISSION_DENIED":
      return errors.upstreamUnauthorized(message);
    case "NOT_FOUND":
      return errors.notFound(message);
    case "RESOURCE_EXHAUSTED":
      return errors.rateLimited(message, retryDelayMs(error) ?? retryAfterMs(headers, now));
    case "UNAVAILABLE":
    case "INTERNAL":
    case "DEADLINE_EXCEEDED":
      return errors.serverError(message, status >= 500 ? status : 502);
    default:
      return errorForStatus(status, message, headers, now);
  }
}

/** A non-2xx answer (status, headers, body text) → its InferenceError, `upstream <status>: <message>`. */
export function mapGeminiError(
  status: number,
  headers: UpstreamHeaders,
  body: string,
  now: number,
): InferenceError {
  let upstream: GeminiError | undefined;
  try {
    const parsed = JSON.parse(body) as GeminiErrorBody | GeminiErrorBody[];
    // some Google front ends wrap the body in a one-element array
    upstream = (Array.isArray(parsed) ? parsed[0] : parsed)?.error;
  } catch {
    upstream = undefined;
  }
  const detail = upstream?.message ?? (body.trim().slice(0, 200) || `HTTP ${status}`);
  const message = `upstream ${status}: ${detail}`;
  if (upstream === undefined || typeof upstream !== "object")
    return errorForStatus(status, message, headers, now);
  return classifyGeminiError(upstream, status, message, headers, now);
}
