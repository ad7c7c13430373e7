// What every provider's error mapping shares (docs/providers.md, "What the client sees for each
// failure"): reading a response header, the wait an upstream asks for (Retry-After), and the kind
// an HTTP status means when the provider's body says nothing more precise. Each provider maps its
// own error bodies first (src/remote/providers/<name>/) and falls back to `errorForStatus`.

import { errors, type InferenceError } from "../core/inference-error.js";

/** Response headers as undici and node:http give them: lower-case names, repeated ones as arrays. */
export type UpstreamHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** A header's value; the first one when the header is repeated. */
export function headerValue(headers: UpstreamHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Retry-After (seconds or an HTTP date, against `now`) or OpenAI's retry-after-ms, in ms; never negative. */
export function retryAfterMs(headers: UpstreamHeaders, now: number): number | undefined {
  const ms = headerValue(headers, "retry-after-ms");
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headerValue(headers, "retry-after");
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The kind an upstream's HTTP status means by itself: 429 rate_limited (with the Retry-After),
 * 401 upstream_unauthorized, 403 forbidden, 404 not_found, 408 timeout, 5xx server_error, any
 * other bad_request. `message` is the client-facing text (never the upstream's key).
 */
export function errorForStatus(
  status: number,
  message: string,
  headers: UpstreamHeaders,
  now: number,
): InferenceError {
  if (status === 429) return errors.rateLimited(message, retryAfterMs(headers, now));
  if (status === 401) return errors.upstreamUnauthorized(message);
  if (status === 403) return errors.forbidden(message);
  if (status === 404) return errors.notFound(message);
  if (status === 408) return errors.timeout(message, "first_byte");
  if (status >= 500) return errors.serverError(message, status);
  return errors.badRequest(message);
}
