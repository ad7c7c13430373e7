// One upstream attempt: POST the streaming request through the session's pool, read SSE events,
// and hand each decoded chunk on. The first-byte and inter-chunk read timeouts run on the
// injected clock and abort the undici request through an AbortSignal.

import { createParser } from "eventsource-parser";
import type { Dispatcher } from "undici";
import type { Clock } from "../actor/index.js";
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
      const body = await response.body.text();
      disarm();
      return { type: "failed", error: call.adapter.mapError(status, response.headers, body), status };
    }
    const decoder = call.adapter.createDecoder();
    const text = new TextDecoder();
    const events: string[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event.data) });
    for await (const bytes of response.body) {
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
    if (timedOut === "first_byte") {
      return {
        type: "failed",
        error: errors.timeout(
          `upstream sent no first byte within ${timeouts.firstByteTimeoutMs} ms`,
          "first_byte",
        ),
        status,
      };
    }
    if (timedOut === "read") {
      return {
        type: "failed",
        error: errors.timeout(`upstream stream stalled for ${timeouts.readTimeoutMs} ms`, "read"),
        status,
      };
    }
    if (error instanceof InferenceError) return { type: "failed", error, status };
    return {
      type: "failed",
      error: errors.networkError(
        `upstream connection failed: ${(error as Error).message ?? String(error)}`,
        error,
      ),
      status,
    };
  } finally {
    signal.removeEventListener("abort", onCancel);
    disarm();
  }
}
