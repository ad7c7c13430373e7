// One upstream attempt: POST the streaming request through the session's pool, check that the answer
// is an event stream in an encoding we can decode (gzip, br, deflate or none), read SSE events, and
// hand each decoded chunk on. The first-byte and inter-chunk read timeouts run on the injected clock
// and abort the undici request through an AbortSignal. The body helpers (content codings, error
// bodies) are shared with the unary calls of upstream-unary-call.ts.

import { pipeline, type Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { createParser } from "eventsource-parser";
import type { Dispatcher } from "undici";
import type { Clock } from "../actor/index.js";
import type { ExecuteBatch } from "../core/batch.js";
import { ChannelClosedError } from "../core/channel.js";
import { errors, InferenceError } from "../core/inference-error.js";
import type { TokenChunk } from "../core/token-chunk.js";
import type { ProviderAdapter, UpstreamRequest } from "./provider.js";
import type { TimeoutSettings } from "./remote-config.js";

export type AttemptResult =
  | { readonly type: "completed"; readonly final: TokenChunk; readonly status: number }
  | { readonly type: "failed"; readonly error: InferenceError; readonly status: number | undefined }
  | { readonly type: "cancelled"; readonly status: number | undefined };

export interface UpstreamCall {
  readonly dispatcher: Dispatcher;
  readonly adapter: ProviderAdapter;
  readonly request: UpstreamRequest;
  /** The request `request` was built from (the decoder reads what it asked for). */
  readonly batch: ExecuteBatch;
  readonly clock: Clock;
  readonly timeouts: TimeoutSettings;
  /** The client's cancel (or the request deadline). */
  readonly signal: AbortSignal;
  /** Receives every chunk in order; awaiting it is backpressure (the read timeout pauses meanwhile). */
  readonly onChunk: (chunk: TokenChunk) => void | Promise<void>;
}

/** Runs one attempt; never throws (every outcome is a value). */
export async function callUpstream(call: UpstreamCall): Promise<AttemptResult> {
  const { clock, timeouts, signal } = call;
  const controller = new AbortController();
  const onCancel = () => controller.abort(signal.reason);
  if (signal.aborted) return { type: "cancelled", status: undefined };
  signal.addEventListener("abort", onCancel, { once: true });
  let timedOut: "first_byte" | "read" | undefined;
  // One timer at a time; activity only moves a deadline, and the timer re-arms itself for what is
  // left when it fires early (no clearTimeout/setTimeout pair per upstream chunk).
  let phase: "first_byte" | "read" = "first_byte";
  let deadline = 0;
  let cancelTimer = () => {};
  let armed = false;
  let armedDue = 0;
  const fire = () => {
    armed = false;
    if (deadline === Number.POSITIVE_INFINITY) return; // paused; arm() starts it again
    const left = deadline - clock.now();
    if (left > 0) {
      armTimer(left);
      return;
    }
    timedOut = phase;
    controller.abort(new Error(`${phase} timeout`));
  };
  const armTimer = (ms: number) => {
    armed = true;
    armedDue = clock.now() + ms;
    cancelTimer = clock.setTimer(ms, fire);
  };
  const arm = (next: "first_byte" | "read", ms: number) => {
    phase = next;
    deadline = clock.now() + ms;
    if (armed && deadline >= armedDue) return; // the armed timer fires first and re-arms for the rest
    cancelTimer();
    armTimer(ms);
  };
  const disarm = () => {
    cancelTimer();
    armed = false;
  };
  const pause = () => {
    deadline = Number.POSITIVE_INFINITY;
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
    if (status < 200 || status >= 300) {
      const body = await errorBodyText(response);
      disarm();
      return { type: "failed", error: call.adapter.mapError(status, response.headers, body), status };
    }
    const refusal = refuseStream(response.headers, status);
    if (refusal !== undefined) {
      // drained (up to undici's dump limit) so the connection can be reused; the first-byte timer
      // still bounds a body that never ends
      await response.body.dump().catch(() => undefined);
      disarm();
      if (signal.aborted) return { type: "cancelled", status };
      return { type: "failed", error: refusal, status };
    }
    decoded = decodeBody(response.body, contentCodings(response.headers));
    const decoder = call.adapter.createDecoder(call.batch);
    const text = new TextDecoder();
    const events: string[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event.data) });
    for await (const bytes of decoded.stream) {
      // while the client applies backpressure the read timeout does not run
      pause();
      parser.feed(text.decode(bytes as Uint8Array, { stream: true }));
      for (const data of events.splice(0)) {
        for (const chunk of decoder.onData(data)) {
          const pending = call.onChunk(chunk);
          if (pending !== undefined) await pending;
        }
      }
      arm("read", timeouts.readTimeoutMs);
    }
    disarm();
    parser.feed(text.decode());
    for (const data of events.splice(0)) {
      for (const chunk of decoder.onData(data)) await call.onChunk(chunk);
    }
    return { type: "completed", final: decoder.finish(), status };
  } catch (error) {
    disarm();
    if (signal.aborted || error instanceof ChannelClosedError) return { type: "cancelled", status };
    return {
      type: "failed",
      error: failureOf(error, { timedOut, timeouts, decoded, status, what: "stream" }),
      status,
    };
  } finally {
    signal.removeEventListener("abort", onCancel);
    disarm();
  }
}

/**
 * The typed error of an attempt that threw (neither cancelled nor answered): a timeout of the
 * phase that ran out, an InferenceError as it is, a body that did not decode, else a network error.
 * The SSE attempt above and the unary one (upstream-unary-call.ts) share it.
 */
export function failureOf(
  error: unknown,
  attempt: {
    readonly timedOut: "first_byte" | "read" | undefined;
    readonly timeouts: TimeoutSettings;
    readonly decoded: DecodedBody | undefined;
    readonly status: number | undefined;
    /** What stalls: "stream" (SSE) or "answer" (unary). */
    readonly what: "stream" | "answer";
  },
): InferenceError {
  const { timedOut, timeouts, decoded, status } = attempt;
  if (timedOut === "first_byte") {
    return errors.timeout(
      `upstream sent no first byte within ${timeouts.firstByteTimeoutMs} ms`,
      "first_byte",
    );
  }
  if (timedOut === "read") {
    return errors.timeout(`upstream ${attempt.what} stalled for ${timeouts.readTimeoutMs} ms`, "read");
  }
  if (error instanceof InferenceError) return error;
  const decodeFailure = decoded?.failure();
  if (decoded !== undefined && decodeFailure !== undefined && status !== undefined) {
    return undecodable(decoded.codings, decodeFailure, status);
  }
  return errors.networkError(
    `upstream connection failed: ${(error as Error).message ?? String(error)}`,
    error,
  );
}

// ---- what the upstream answered: content type and content encoding ----------------------------

/** The content codings this gateway decodes, as streaming decompressors. */
const decompressors = {
  gzip: createGunzip,
  br: createBrotliDecompress,
  deflate: createInflate,
} as const;

type ContentCoding = keyof typeof decompressors;

/** Header values quoted in an error message are cut to this many characters. */
const QUOTED_HEADER_CHARS = 100;

type Headers = Dispatcher.ResponseData["headers"];

export function headerValue(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

export function quoted(value: string): string {
  return value.length <= QUOTED_HEADER_CHARS ? value : `${value.slice(0, QUOTED_HEADER_CHARS)}…`;
}

export function isDecodable(coding: string): coding is ContentCoding {
  return Object.hasOwn(decompressors, coding);
}

/** The codings of `content-encoding` in the order they were applied; `identity` dropped, `x-gzip` is gzip. */
export function contentCodings(headers: Headers): string[] {
  const value = headerValue(headers, "content-encoding") ?? "";
  return value
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity")
    .map((coding) => (coding === "x-gzip" ? "gzip" : coding));
}

/** Why a 2xx answer cannot be read as an event stream, or undefined when it can. */
function refuseStream(headers: Headers, status: number): InferenceError | undefined {
  const contentType = headerValue(headers, "content-type");
  const mediaType = contentType?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "text/event-stream") {
    const answered = contentType === undefined ? "no content-type" : `content-type ${quoted(contentType)}`;
    return errors.serverError(`upstream answered ${answered}, not an event stream`, status);
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

export interface DecodedBody {
  /** The decoded bytes; iterating it reads (and backpressures) the upstream body. */
  readonly stream: Readable;
  readonly codings: readonly string[];
  /** The decompressor's own error, once one failed (not an error passed on from the upstream body). */
  failure(): Error | undefined;
}

/** Streams `body` through one decompressor per coding, last applied first; `codings` are all decodable. */
export function decodeBody(body: Readable, codings: readonly string[]): DecodedBody {
  let upstreamFailed = false;
  let failure: Error | undefined;
  body.once("error", () => {
    upstreamFailed = true;
  });
  let stream = body;
  for (const coding of [...codings].reverse()) {
    if (!isDecodable(coding)) throw errors.internal(`content-encoding ${coding} has no decoder`);
    const stage = decompressors[coding]();
    stage.once("error", (error) => {
      if (!upstreamFailed) failure ??= error;
    });
    // errors reach the reader through the last stage; destroying it destroys the upstream body
    pipeline(stream, stage, () => {});
    stream = stage;
  }
  return { stream, codings, failure: () => failure };
}

export function undecodable(codings: readonly string[], failure: Error, status: number): InferenceError {
  return errors.serverError(
    `upstream answered a ${codings.join(", ")} body that does not decode: ${failure.message}`,
    status,
  );
}

/** A non-2xx answer's body as text, decoded when it is gzip, br or deflate ("" when it does not decode). */
export async function errorBodyText(response: Dispatcher.ResponseData): Promise<string> {
  const codings = contentCodings(response.headers);
  if (codings.length === 0) return response.body.text();
  if (!codings.every(isDecodable)) {
    await response.body.dump();
    return "";
  }
  const decoded = decodeBody(response.body, codings);
  const pieces: Buffer[] = [];
  try {
    for await (const piece of decoded.stream) pieces.push(piece as Buffer);
  } catch (error) {
    if (decoded.failure() !== undefined) return "";
    throw error;
  }
  return Buffer.concat(pieces).toString("utf8");
}
