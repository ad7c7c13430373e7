// PeerEngineActor: the engine target that stands for another node's engines (docs/cluster.md,
// "Forwarding"). The coordinator routes to it like to any engine; it sends the request over HTTP
// to the owning node's internal endpoint (authenticated with node_key) and writes the chunks that
// come back into the request's output, token by token. The entry node's RequestActor keeps
// owning the request: deadline (the time left travels with it), fallbacks, budget, metrics and
// its one terminal outcome; a client that leaves aborts the call, which frees the owner's slot.
// Embedding requests and token counts travel the same way and come back as their one frame.

import { type Dispatcher, Pool } from "undici";
import type { Actor, Clock, Logger } from "../actor/index.js";
import { errors, InferenceError } from "../core/inference-error.js";
import type { EngineCommand, EngineRequest, ResultSink } from "../protocol/engine-messages.js";
import { PEER_EXECUTE_PATH, PEER_NODE_KEY_HEADER } from "./peer-endpoint.js";
import {
  decodeErrorBody,
  decodeFrame,
  encodePeerEmbedRequest,
  encodePeerRequest,
  type PeerFrame,
} from "./peer-wire.js";

export interface PeerEngineOptions {
  /** The owning node: its id (for errors and logs) and advertise URL. */
  readonly nodeId: string;
  readonly url: string;
  /** `[cluster] node_key`, revealed: sent with every call. */
  readonly nodeKey: string;
  readonly clock: Pick<Clock, "now">;
  readonly logger: Logger;
  /** Default: a keep-alive pool to `url`, closed when the actor stops. */
  readonly dispatcher?: Dispatcher;
}

export class PeerEngineActor implements Actor<EngineCommand> {
  readonly #options: PeerEngineOptions;
  readonly #dispatcher: Dispatcher;
  readonly #owned: Pool | undefined;

  constructor(options: PeerEngineOptions) {
    this.#options = options;
    this.#owned = options.dispatcher ? undefined : new Pool(options.url, { keepAliveTimeout: 30_000 });
    this.#dispatcher = options.dispatcher ?? (this.#owned as Pool);
  }

  receive(message: EngineCommand): void {
    // drains, throttles, forced circuits and rebuilds are for the engines a node owns, never sent here
    if (message.type === "add-request") void this.#forward(message.request);
    else if (message.type === "embed") {
      const { batch, output } = message.request;
      void this.#forwardUnary(
        encodePeerEmbedRequest(batch, this.#options.clock.now()),
        batch.signal,
        output,
        (frame) => (frame.type === "embeddings" ? frame.embeddings : undefined),
      );
    } else if (message.type === "count-tokens") {
      const { batch, output } = message.request;
      void this.#forwardUnary(
        encodePeerRequest(batch, this.#options.clock.now(), "count-tokens"),
        batch.signal,
        output,
        (frame) => (frame.type === "token-count" ? frame.count : undefined),
      );
    }
  }

  async postStop(): Promise<void> {
    await this.#owned?.close().catch(() => {});
  }

  async #forward({ batch, output }: EngineRequest): Promise<void> {
    if (batch.signal.aborted) return;
    const { nodeId } = this.#options;
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#dispatcher.request({
        path: PEER_EXECUTE_PATH,
        method: "POST",
        headers: {
          "content-type": "application/json",
          [PEER_NODE_KEY_HEADER]: this.#options.nodeKey,
        },
        body: encodePeerRequest(batch, this.#options.clock.now()),
        signal: batch.signal,
      });
    } catch (error) {
      if (batch.signal.aborted) return;
      output.fail(errors.unavailable(`node ${nodeId} is unreachable: ${messageOf(error)}`));
      return;
    }
    if (response.statusCode !== 200) {
      const body = await response.body.text().catch(() => "");
      if (batch.signal.aborted) return;
      output.fail(
        decodeErrorBody(body) ?? errors.internal(`node ${nodeId} answered HTTP ${response.statusCode}`),
      );
      return;
    }
    let ended = false;
    try {
      let pending = "";
      const text = new TextDecoder();
      for await (const bytes of response.body) {
        pending += text.decode(bytes as Uint8Array, { stream: true });
        let newline = pending.indexOf("\n");
        while (newline >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          newline = pending.indexOf("\n");
          if (line.length === 0) continue;
          const frame = decodeFrame(line);
          if (frame.type === "chunk") {
            if (!output.offer(frame.chunk)) await output.push(frame.chunk);
            continue;
          }
          ended = true;
          if (frame.type === "end") output.close();
          else if (frame.type === "error") output.fail(frame.error);
          else
            output.fail(errors.networkError(`node ${nodeId} answered a ${frame.type} frame to a generation`));
          return;
        }
      }
      if (!batch.signal.aborted)
        output.fail(errors.networkError(`node ${nodeId} ended the stream before the request ended`));
    } catch (error) {
      if (batch.signal.aborted || ended) return;
      if (error instanceof InferenceError) {
        output.fail(error);
        return;
      }
      // the reader left (ChannelClosedError), the node died mid-stream, or a frame was malformed
      output.fail(errors.networkError(`node ${nodeId} stopped answering: ${messageOf(error)}`, error));
    } finally {
      if (!ended) response.body.destroy();
    }
  }

  /**
   * Forwards an embedding request or a token count: its body, then its one frame (`pick` takes the
   * answer out of the frame it expects) or an error, into `output`.
   */
  async #forwardUnary<T>(
    body: string,
    signal: AbortSignal,
    output: ResultSink<T>,
    pick: (frame: PeerFrame) => T | undefined,
  ): Promise<void> {
    if (signal.aborted) return;
    const { nodeId } = this.#options;
    let text: string;
    let status: number;
    try {
      const response = await this.#dispatcher.request({
        path: PEER_EXECUTE_PATH,
        method: "POST",
        headers: { "content-type": "application/json", [PEER_NODE_KEY_HEADER]: this.#options.nodeKey },
        body,
        signal,
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      if (signal.aborted) return;
      output.fail(errors.unavailable(`node ${nodeId} is unreachable: ${messageOf(error)}`));
      return;
    }
    if (signal.aborted) return;
    if (status !== 200) {
      output.fail(decodeErrorBody(text) ?? errors.internal(`node ${nodeId} answered HTTP ${status}`));
      return;
    }
    const line = text.endsWith("\n") ? text.slice(0, -1) : text;
    let frame: PeerFrame;
    try {
      frame = decodeFrame(line);
    } catch (error) {
      output.fail(
        errors.networkError(`node ${nodeId} answered an unreadable frame: ${messageOf(error)}`, error),
      );
      return;
    }
    if (frame.type === "error") {
      output.fail(frame.error);
      return;
    }
    const answer = pick(frame);
    if (answer === undefined)
      output.fail(errors.networkError(`node ${nodeId} answered an unexpected ${frame.type} frame`));
    else output.resolve(answer);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
