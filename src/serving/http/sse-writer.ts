// Server-sent events onto a node:http response: the streaming end of the request path. Writes the
// events a dialect framed (src/core/dialect.ts) with backpressure, and ends the response with the
// dialect's last events: its terminator after a finished stream, its error event after a failure
// past commit (docs/architecture.md, "Request rules"). Either way the response ends cleanly, so a
// keep-alive connection stays usable.

import type { ServerResponse } from "node:http";

export class SseWriter {
  readonly #response: ServerResponse;
  /** Events written in one turn of the event loop leave in one socket write (cork until nextTick). */
  #corked = false;

  constructor(response: ServerResponse) {
    this.#response = response;
  }

  /** False once the response ended or the connection is gone (the client left). */
  get open(): boolean {
    const response = this.#response;
    return !response.writableEnded && !response.destroyed;
  }

  /** Sends the 200 event-stream headers; called by the gateway with the first committed chunk. */
  begin(headers: Readonly<Record<string, string>>): void {
    const response = this.#response;
    response.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      // A server that is draining has already asked for `connection: close`; keep that.
      connection: response.hasHeader("connection") ? String(response.getHeader("connection")) : "keep-alive",
    });
  }

  /**
   * Writes framed events. `true` (synchronously, the common case) or a promise of it when the
   * caller may write the next ones (after `drain` when the socket buffer was full); false when the
   * client left.
   */
  events(text: string): boolean | Promise<boolean> {
    return this.#write(text);
  }

  /**
   * Ends the stream with its last events: a finished stream's terminator, or the error event of a
   * failed one, after which no success terminator follows, so no client mistakes it for a finished
   * stream. The HTTP response itself ends cleanly: the headers promised keep-alive, so a pooled
   * client sends its next request on this connection, and closing it under that request would
   * lose the answer.
   */
  end(text: string): void {
    if (!this.open) return;
    this.#response.end(text);
  }

  #write(text: string): boolean | Promise<boolean> {
    if (!this.open) return false;
    const response = this.#response;
    if (!this.#corked) {
      this.#corked = true;
      response.cork();
      process.nextTick(() => {
        this.#corked = false;
        response.uncork();
      });
    }
    if (response.write(text)) return true;
    return this.#drained();
  }

  #drained(): Promise<boolean> {
    const response = this.#response;
    return new Promise((resolve) => {
      const settle = (writable: boolean) => {
        response.off("drain", onDrain);
        response.off("close", onClose);
        resolve(writable);
      };
      const onDrain = () => settle(true);
      const onClose = () => settle(false);
      response.on("drain", onDrain);
      response.on("close", onClose);
    });
  }
}
