// The soak run's HTTP client: one request over a keep-alive undici Pool or a fresh node:http
// connection, the whole answer recorded as seen (status, headers, body text), with the client's
// own abort at a planned point and a hang deadline after which the request is given up.

import http from "node:http";
import { Pool, request as undiciRequest } from "undici";

/** A keep-alive pool of `connections` to `origin` (requests queue on it beyond that). */
export function keepAlivePool(origin, connections) {
  return new Pool(origin, { connections, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 30_000 });
}

/** What the client saw of one request. */
function observation() {
  return {
    status: undefined,
    headers: {},
    body: "",
    /** The body ended normally (the response is complete). */
    complete: false,
    /** Our planned abort fired before the response was complete. */
    aborted: false,
    /** No complete answer within the hang deadline: given up. */
    hung: false,
    /** A connection error that was neither our abort nor the hang deadline: { code, message }. */
    connectionError: undefined,
    elapsedMs: 0,
  };
}

/** Over the keep-alive pool: status, headers and the body as an async iterable of Buffers. */
async function openPooled(pool, target, signal) {
  const response = await undiciRequest(target.url, {
    dispatcher: pool,
    method: "POST",
    headers: target.headers,
    body: target.body,
    signal,
  });
  return { status: response.statusCode, headers: response.headers, body: response.body };
}

/** On a fresh connection (node:http, no agent: `connection: close`), the same shape as openPooled. */
function openFresh(target, signal) {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(target.url, {
      method: "POST",
      headers: target.headers,
      agent: false,
      signal,
    });
    outgoing.on("error", reject); // every error, not just the first: a second one must not go uncaught
    outgoing.once("response", (response) => {
      signal.addEventListener("abort", () => response.destroy(signal.reason), { once: true });
      resolve({ status: response.statusCode, headers: response.headers, body: response });
    });
    outgoing.end(target.body);
  });
}

/**
 * Sends `target` ({ url, headers, body }) over `pool` (keep-alive) or, without one, a fresh
 * connection. `abort`: { afterMs } or { afterEvents } (SSE events received), the client's own
 * cancel; `hangAfterMs`: the request is given up (and counted hung) when it has no complete
 * answer by then. Never rejects.
 */
export async function send(target, { pool, abort, hangAfterMs }) {
  const seen = observation();
  const controller = new AbortController();
  const startedAt = performance.now();
  const abortNow = () => {
    if (seen.complete || controller.signal.aborted) return;
    seen.aborted = true;
    controller.abort(new Error("soak client abort"));
  };
  const hangTimer = setTimeout(() => {
    if (seen.complete || controller.signal.aborted) return;
    seen.hung = true;
    controller.abort(new Error("soak hang deadline"));
  }, hangAfterMs);
  const abortTimer = abort?.afterMs === undefined ? undefined : setTimeout(abortNow, abort.afterMs);
  try {
    const response = pool
      ? await openPooled(pool, target, controller.signal)
      : await openFresh(target, controller.signal);
    seen.status = response.status;
    seen.headers = response.headers;
    const decoder = new TextDecoder();
    let events = 0;
    for await (const chunk of response.body) {
      const text = decoder.decode(chunk, { stream: true });
      seen.body += text;
      if (abort?.afterEvents !== undefined) {
        events += text.split("\n\n").length - 1;
        if (events >= abort.afterEvents) abortNow();
      }
    }
    seen.body += decoder.decode();
    // An abort can land after the last byte arrived but before the iteration saw the end.
    if (!seen.aborted && !seen.hung) seen.complete = true;
  } catch (error) {
    if (!seen.aborted && !seen.hung) {
      seen.connectionError = {
        code: error?.code ?? error?.name ?? "unknown",
        message: String(error?.message ?? error),
      };
    }
  } finally {
    clearTimeout(hangTimer);
    clearTimeout(abortTimer);
    seen.elapsedMs = performance.now() - startedAt;
  }
  return seen;
}
