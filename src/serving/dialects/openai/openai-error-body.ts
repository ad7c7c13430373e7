// The OpenAI error body every OpenAI-dialect answer carries (docs/api.md, "Errors"): the message,
// a type named after the HTTP status, and our error kind as `code`. Unary errors and the error
// event that ends a stream failing after commit share it.

import type { InferenceError, InferenceErrorKind } from "../../../core/inference-error.js";

export interface OpenAiErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly code: InferenceErrorKind };
}

const typeByStatus: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  429: "rate_limit_error",
  500: "server_error",
  502: "upstream_error",
  503: "service_unavailable",
  504: "timeout_error",
};

/** `status` is the error kind's own status (src/core/http-error.ts), whatever status the answer overrides it with. */
export function openAiErrorBody(error: InferenceError, status: number): OpenAiErrorBody {
  return {
    error: { message: error.message, type: typeByStatus[status] ?? "server_error", code: error.kind },
  };
}
