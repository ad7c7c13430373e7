// Non-2xx answers of OpenAI-style servers → InferenceError kinds, keeping the provider's message;
// what the body does not decide, the status does (src/remote/upstream-errors.ts).
// The remote worker decides retries, the circuit and fallbacks from the kind (docs/providers.md).

import { errors, type InferenceError } from "../../../core/inference-error.js";
import { errorForStatus, retryAfterMs, type UpstreamHeaders } from "../../upstream-errors.js";
import type { OpenAiErrorBody } from "./openai-wire.js";

/** The Retry-After a client gets for an exhausted upstream quota when the upstream gave none. */
const QUOTA_RETRY_HINT_MS = 60_000;

/**
 * OpenAI's 429 "You exceeded your current quota" (`insufficient_quota` as code or type): the
 * account is out of credit, which no retry or wait fixes, unlike a rate limit.
 */
function isQuotaExhausted(upstream: OpenAiErrorBody["error"]): boolean {
  return upstream?.code === "insufficient_quota" || upstream?.type === "insufficient_quota";
}

export function mapOpenAiError(
  status: number,
  headers: UpstreamHeaders,
  body: string,
  now: number,
): InferenceError {
  let parsed: OpenAiErrorBody | undefined;
  try {
    parsed = JSON.parse(body) as OpenAiErrorBody;
  } catch {
    parsed = undefined;
  }
  const upstream = parsed?.error;
  const detail = upstream?.message ?? (body.trim().slice(0, 200) || `HTTP ${status}`);
  const code = String(upstream?.code ?? "");
  const message = `upstream ${status}: ${detail}`;
  const lower = detail.toLowerCase();
  if (isQuotaExhausted(upstream)) {
    // budget_exceeded: not retried and never waited on, neutral for the circuit and the rate
    // limiter; falls back only when the deployment's fallback_on lists budget_exceeded. Its
    // retryAfterMs is only the hint the client gets: the upstream's, or one minute.
    return errors.budgetExceeded(
      `upstream ${status}: the upstream account's quota is exhausted: ${detail}`,
      retryAfterMs(headers, now) ?? QUOTA_RETRY_HINT_MS,
    );
  }
  if (status === 429) return errorForStatus(status, message, headers, now);
  if (
    code === "context_length_exceeded" ||
    ((status === 400 || status === 413 || status === 422) && lower.includes("context length"))
  ) {
    return errors.contextLengthExceeded(message);
  }
  if (
    code === "content_filter" ||
    code === "content_policy_violation" ||
    lower.includes("content management policy")
  ) {
    return errors.contentFiltered(message);
  }
  return errorForStatus(status, message, headers, now);
}
