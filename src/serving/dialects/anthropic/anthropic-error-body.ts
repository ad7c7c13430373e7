// The Anthropic error body every answer of `/v1/messages` and `/v1/messages/count_tokens` carries
// (docs/api.md, "Errors"): `{"type": "error", "error": {"type", "message"}}`, the type named after
// the gateway's own status (src/core/http-error.ts), never the upstream's. Unary errors and the
// `event: error` that ends a stream failing after commit share it.

import type { InferenceError } from "../../../core/inference-error.js";

export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

export interface AnthropicErrorBody {
  readonly type: "error";
  readonly error: { readonly type: AnthropicErrorType; readonly message: string };
}

const typeByStatus: Readonly<Record<number, AnthropicErrorType>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  429: "rate_limit_error",
  500: "api_error",
  502: "api_error",
  503: "overloaded_error",
  504: "api_error",
};

/** The error type for `status`: 4xx without a type of their own are invalid requests, the rest api_error. */
export function anthropicErrorType(status: number): AnthropicErrorType {
  return typeByStatus[status] ?? (status >= 400 && status < 500 ? "invalid_request_error" : "api_error");
}

/** `status` is the error kind's own status (src/core/http-error.ts). */
export function anthropicErrorBody(error: InferenceError, status: number): AnthropicErrorBody {
  return { type: "error", error: { type: anthropicErrorType(status), message: error.message } };
}
