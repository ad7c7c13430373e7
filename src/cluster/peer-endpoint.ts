// The owning node's side of forwarding (docs/cluster.md, "Forwarding"): `POST /internal/v1/execute`
// runs a request another node forwarded on one of this node's own engines and streams its chunks
// back as NDJSON frames (peer-wire.ts); an embedding request or a token count is answered by its
// one frame. Nothing else happens here: no second route, no fallback,
// no budget, no request metrics; the entry node owns all of that. Refused without the cluster's
// node_key (compared in constant time), and never served on the public API's paths.

import type { ServerResponse } from "node:http";
import type { Logger } from "../actor/index.js";
import { ChannelClosedError, type ChunkSink } from "../core/channel.js";
import { errors, InferenceError } from "../core/inference-error.js";
import type { InternalRoutes } from "../core/internal-routes.js";
import type { Secret } from "../core/secret.js";
import type { TokenChunk } from "../core/token-chunk.js";
import type { EngineWork, ResultSink } from "../protocol/engine-messages.js";
import {
  decodePeerRequest,
  encodeChunkFrame,
  encodeEmbeddingsFrame,
  encodeEndFrame,
  encodeErrorBody,
  encodeErrorFrame,
  encodeTokenCountFrame,
} from "./peer-wire.js";

export const PEER_EXECUTE_PATH = "/internal/v1/execute";
/** Carries `[cluster] node_key` on every node-to-node call. */
export const PEER_NODE_KEY_HEADER = "x-rakka-node-key";

export interface PeerEndpointOptions {
  readonly nodeKey: Secret;
  /** Runs the request on one of this node's engines (never forwarded again), or fails its output. */
  readonly execute: (work: EngineWork) => void;
  readonly clock: { now(): number };
  readonly logger: Logger;
}

/** The gateway hands every `/internal/` request to the returned handler. */
export function createPeerRoutes(options: PeerEndpointOptions): InternalRoutes {
  return async (request, response, path, io) => {
    if (path !== PEER_EXECUTE_PATH) {
      refuse(response, 404, errors.notFound(`unknown path: ${request.method} ${path.slice(0, 64)}`));
      request.resume();
      return;
    }
    const key = request.headers[PEER_NODE_KEY_HEADER];
    if (typeof key !== "string" || !options.nodeKey.matches(key)) {
      refuse(response, 401, errors.unauthorized("node-to-node calls need the cluster's node key"));
      request.resume();
      return;
    }
    if (request.method !== "POST") {
      refuse(response, 405, errors.badRequest(`method ${request.method} is not allowed on ${path}`));
      request.resume();
      return;
    }
    const body = await io.readBody(request);
    if (body.kind === "aborted") return;
    if (body.kind === "too_large") {
      refuse(response, 413, errors.badRequest("forwarded request exceeds max_body_bytes"));
      return;
    }
    const abort = new AbortController();
    const decoded = decodePeerRequest(body.bytes.toString("utf8"), options.clock.now(), abort.signal);
    if (!decoded.ok) {
      refuse(response, 400, errors.badRequest(`forwarded request: ${decoded.problem}`));
      return;
    }
    const sink = new FrameSink(response);
    // the entry node left (its client aborted, its deadline passed, it died): stop the engine
    response.once("close", () => {
      if (!sink.ended) abort.abort(new Error("the forwarding node closed the call"));
    });
    try {
      if (decoded.kind === "embed")
        options.execute({
          type: "embed",
          request: { batch: decoded.batch, output: new ResultFrameSink(sink, encodeEmbeddingsFrame) },
        });
      else if (decoded.kind === "count-tokens")
        options.execute({
          type: "count-tokens",
          request: { batch: decoded.batch, output: new ResultFrameSink(sink, encodeTokenCountFrame) },
        });
      else options.execute({ type: "add-request", request: { batch: decoded.batch, output: sink } });
    } catch (error) {
      options.logger.error({ error: (error as Error).message }, "forwarded request could not start");
      sink.fail(errors.internal("forwarded request could not start"));
    }
  };
}

function refuse(response: ServerResponse, status: number, error: InferenceError): void {
  const body = encodeErrorBody(error);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}

/** The engine's output for a forwarded request: each chunk one NDJSON frame, with backpressure. */
class FrameSink implements ChunkSink<TokenChunk> {
  readonly #response: ServerResponse;
  #started = false;
  ended = false;

  constructor(response: ServerResponse) {
    this.#response = response;
  }

  offer(chunk: TokenChunk): boolean {
    this.#checkOpen();
    if (this.#response.writableNeedDrain) return false;
    this.#write(encodeChunkFrame(chunk));
    return true;
  }

  async push(chunk: TokenChunk): Promise<void> {
    while (!this.offer(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#response.off("drain", done);
          this.#response.off("close", done);
          resolve();
        };
        this.#response.once("drain", done);
        this.#response.once("close", done);
      });
    }
  }

  close(): void {
    this.#end(encodeEndFrame());
  }

  fail(error: unknown): void {
    const failure = error instanceof InferenceError ? error : errors.internal(String(error));
    if (!this.#started && !this.ended && !this.#response.destroyed) {
      // nothing streamed yet: a plain error answer, so the entry node sees a refused call
      this.ended = true;
      const status = failure.kind === "not_found" ? 404 : failure.kind === "bad_request" ? 400 : 503;
      refuse(this.#response, status, failure);
      return;
    }
    this.#end(encodeErrorFrame(failure));
  }

  #checkOpen(): void {
    if (this.ended || this.#response.destroyed || this.#response.writableEnded)
      throw new ChannelClosedError();
  }

  #write(frame: string): void {
    if (!this.#started) {
      this.#started = true;
      this.#response.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
    }
    this.#response.write(frame);
  }

  #end(frame: string): void {
    if (this.ended || this.#response.destroyed || this.#response.writableEnded) return;
    this.ended = true;
    this.#write(frame);
    this.#response.end();
  }

  /** A unary answer: its one frame ends the response. */
  answer(frame: string): void {
    this.#end(frame);
  }

  /** Cancelled before it answered (the entry node left): the response just ends. */
  abandon(): void {
    if (this.ended || this.#response.destroyed || this.#response.writableEnded) return;
    this.ended = true;
    this.#response.destroy();
  }
}

/** The engine's output for a forwarded embedding or token count: its one frame, or the error. */
class ResultFrameSink<T> implements ResultSink<T> {
  readonly #frames: FrameSink;
  readonly #encode: (result: T) => string;

  constructor(frames: FrameSink, encode: (result: T) => string) {
    this.#frames = frames;
    this.#encode = encode;
  }

  resolve(result: T): void {
    this.#frames.answer(this.#encode(result));
  }

  fail(error: unknown): void {
    this.#frames.fail(error);
  }

  close(): void {
    this.#frames.abandon();
  }
}
