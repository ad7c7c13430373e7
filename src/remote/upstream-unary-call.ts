// One unary upstream attempt (embeddings, token counts): POST a JSON request through the session's
// pool and read one JSON answer, decoded when it is gzip, br or deflate. The first-byte timeout runs
// until the headers, the read timeout between body pieces, both on the injected clock; the client's
// signal (or the deadline) aborts the call. Like callUpstream, every outcome is a value.

import type { Dispatcher } from "undici";
import type { Clock } from "../actor/index.js";
import { errors, InferenceError } from "../core/inference-error.js";
import type { UpstreamRequest } from "./provider.js";
import type { TimeoutSettings } from "./remote-config.js";
import {
  contentCodings,
  type DecodedBody,
  decodeBody,
  errorBodyText,
  failureOf,
  headerValue,
  isDecodable,
  quoted,
} from "./upstream-call.js";
import type { UpstreamHeaders } from "./upstream-errors.js";

/** The most bytes of a unary answer read (a batch of large vectors as JSON is tens of MiB). */
export const MAX_UNARY_ANSWER_BYTES = 256 * 1024 * 1024;

export type UnaryAttemptResult<T> =
  | { readonly type: "completed"; readonly value: T; readonly status: number }
  | { readonly type: "failed"; readonly error: InferenceError; readonly status: number | undefined }
  | { readonly type: "cancelled"; readonly status: number | undefined };

export interface UnaryUpstreamCall<T> {
  readonly dispatcher: Dispatcher;
  readonly request: UpstreamRequest;
  readonly clock: Clock;
  readonly timeouts: TimeoutSettings;
  /** The client's cancel (or the request deadline). */
  readonly signal: AbortSignal;
  /** Classifies a non-2xx answer (the provider's mapError). */
  readonly mapError: (status: number, headers: UpstreamHeaders, body: string) => InferenceError;
  /** Reads a 2xx answer's body; throws an InferenceError when it cannot. */
  readonly parse: (body: string) => T;
  /** Default MAX_UNARY_ANSWER_BYTES. */
  readonly maxBytes?: number;
}

export async function callUpstreamUnary<T>(call: UnaryUpstreamCall<T>): Promise<UnaryAttemptResult<T>> {
  const { clock, timeouts, signal } = call;
  if (signal.aborted) return { type: "cancelled", status: undefined };
  const controller = new AbortController();
  const onCancel = () => controller.abort(signal.reason);
  signal.addEventListener("abort", onCancel, { once: true });
  let timedOut: "first_byte" | "read" | undefined;
  let cancelTimer = () => {};
  const arm = (phase: "first_byte" | "read", ms: number) => {
    cancelTimer();
    cancelTimer = clock.setTimer(ms, () => {
      timedOut = phase;
      controller.abort(new Error(`${phase} timeout`));
    });
  };
  let status: number | undefined;
  let decoded: DecodedBody | undefined;
  try {
    arm("first_byte", timeouts.firstByteTimeoutMs);
    const response = await call.dispatcher.request({
      path: call.request.path,
      method: "POST",
      headers: call.request.headers,
      body: call.request.body,
      signal: controller.signal,
    });
    status = response.statusCode;
    arm("read", timeouts.readTimeoutMs);
    if (status < 200 || status >= 300) {
      const body = await errorBodyText(response);
      return { type: "failed", error: call.mapError(status, response.headers, body), status };
    }
    const refusal = refuseJson(response.headers, status);
    if (refusal !== undefined) {
      await response.body.dump().catch(() => undefined);
      if (signal.aborted) return { type: "cancelled", status };
      return { type: "failed", error: refusal, status };
    }
    decoded = decodeBody(response.body, contentCodings(response.headers));
    const pieces: Buffer[] = [];
    let bytes = 0;
    const maxBytes = call.maxBytes ?? MAX_UNARY_ANSWER_BYTES;
    for await (const piece of decoded.stream) {
      const buffer = piece as Buffer;
      bytes += buffer.length;
      if (bytes > maxBytes) {
        decoded.stream.destroy();
        return {
          type: "failed",
          error: errors.serverError(`upstream answer exceeds ${maxBytes} bytes`, status),
          status,
        };
      }
      pieces.push(buffer);
      arm("read", timeouts.readTimeoutMs);
    }
    cancelTimer();
    const text = Buffer.concat(pieces).toString("utf8");
    try {
      return { type: "completed", value: call.parse(text), status };
    } catch (error) {
      if (error instanceof InferenceError) return { type: "failed", error, status };
      return {
        type: "failed",
        error: errors.serverError(`upstream answer could not be read: ${(error as Error).message}`, status),
        status,
      };
    }
  } catch (error) {
    cancelTimer();
    if (signal.aborted) return { type: "cancelled", status };
    return {
      type: "failed",
      error: failureOf(error, { timedOut, timeouts, decoded, status, what: "answer" }),
      status,
    };
  } finally {
    cancelTimer();
    signal.removeEventListener("abort", onCancel);
  }
}

/** Why a 2xx answer cannot be read as JSON, or undefined when it can. */
function refuseJson(headers: Dispatcher.ResponseData["headers"], status: number): InferenceError | undefined {
  const contentType = headerValue(headers, "content-type");
  const mediaType = contentType?.split(";")[0]?.trim().toLowerCase();
  if (mediaType === undefined || (mediaType !== "application/json" && !mediaType.endsWith("+json"))) {
    const answered = contentType === undefined ? "no content-type" : `content-type ${quoted(contentType)}`;
    return errors.serverError(`upstream answered ${answered}, not JSON`, status);
  }
  const unknown = contentCodings(headers).find((coding) => !isDecodable(coding));
  if (unknown !== undefined) {
    return errors.serverError(
      `upstream answered content-encoding ${quoted(unknown)}, which this gateway cannot decode`,
      status,
    );
  }
  return undefined;
}
