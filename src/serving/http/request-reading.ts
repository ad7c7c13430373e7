// Reading what a client sends, below the gateway's routes: a request body bounded in size, and the
// answer to a request node:http could not parse or did not receive in time (docs/api.md, "Limits").

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { httpStatusOf } from "../../core/http-error.js";
import { errors } from "../../core/inference-error.js";
import type { BodyResult } from "../../core/internal-routes.js";
import { openAiErrorBody } from "../dialects/openai/openai-error-body.js";

/**
 * A request node:http could not parse or did not receive in time never reaches the handler; it
 * still gets a well-formed answer with the error body, and the connection closes: 408 when the
 * headers did not arrive within body_timeout_ms, 431 for oversize headers, else 400.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // a response already under way on this connection (a pipelined request after it was malformed)
  // must not get an answer written into its middle: the connection just closes, as node's own does
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const [status, reason, failure] =
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "Request Timeout", errors.timeout("request headers not received within body_timeout_ms")]
      : error.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", errors.badRequest("request headers are too large")]
        : [400, "Bad Request", errors.badRequest(`malformed HTTP request (${error.code ?? "parse error"})`)];
  const body = JSON.stringify(openAiErrorBody(failure, httpStatusOf(failure.kind)));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * Reads a request body up to `limit` bytes. Past the limit it stops keeping bytes (the rest is
 * discarded as it arrives) and reports `too_large`; a declared Content-Length over it is refused
 * before reading anything.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume();
    return Promise.resolve({ kind: "too_large" });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (result: BodyResult) => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onAbort);
      request.off("close", onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        settle({ kind: "too_large" });
        request.resume();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle({ kind: "ok", bytes: Buffer.concat(chunks, size) });
    const onAbort = () => settle({ kind: "aborted" });
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onAbort);
    request.on("close", onAbort);
  });
}
