// The Responses API's stream framing (docs/api.md, "Responses API"): each event is
// `event: <type>` and `data: <json>` with a `sequence_number` counted from 0, the events the openai
// SDK's `responses.stream()` helper consumes. A stream failing after commit ends with an `error`
// event (its fields flat, as the SDK's types say, and nested under `error`, so the openai SDK
// raises it as an APIError) and then `response.failed`; never with `response.completed`.

import type { InferenceError } from "../../../core/inference-error.js";
import { openAiErrorBody } from "../openai/openai-error-body.js";
import type { OutputEvent } from "./responses-output.js";
import type { ResponseErrorCode, ResponseJson } from "./responses-wire.js";

/** An event whose payload is a whole Response. */
export type ResponseLifecycleEvent = {
  readonly type:
    | "response.created"
    | "response.in_progress"
    | "response.completed"
    | "response.incomplete"
    | "response.failed";
  readonly response: ResponseJson;
};

/** The `error` event: OpenAI's flat fields and the error body beside them. */
export type ErrorEvent = {
  readonly type: "error";
  readonly code: string;
  readonly message: string;
  readonly param: string | null;
  readonly error: {
    readonly type: string;
    readonly code: string;
    readonly message: string;
    readonly param: string | null;
  };
};

export type StreamEvent = OutputEvent | ResponseLifecycleEvent | ErrorEvent;

/** Numbers and frames the events of one stream. */
export class EventFramer {
  #sequence = 0;

  /** The exact bytes of `events`, in order. */
  frame(events: readonly StreamEvent[]): string {
    let text = "";
    for (const event of events) {
      text += `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: this.#sequence++ })}\n\n`;
    }
    return text;
  }
}

/** The `error` event of a stream failing after commit; `status` is the error kind's own status. */
export function errorEvent(error: InferenceError, status: number): ErrorEvent {
  const body = openAiErrorBody(error, status).error;
  const param = error.details.kind === "bad_request" ? (error.details.field ?? null) : null;
  return {
    type: "error",
    code: body.code,
    message: body.message,
    param,
    error: { type: body.type, code: body.code, message: body.message, param },
  };
}

/** The `code` of a failed Response's `error`, in OpenAI's terms. */
export function failedCodeOf(error: InferenceError): ResponseErrorCode {
  switch (error.kind) {
    case "rate_limited":
    case "backpressure":
    case "budget_exceeded":
      return "rate_limit_exceeded";
    default:
      return "server_error";
  }
}
