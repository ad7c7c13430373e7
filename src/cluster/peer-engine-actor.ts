// PeerEngineActor: the engine target that stands for another node's engines (docs/cluster.md,
// "Forwarding"). The coordinator routes to it like to any engine; it sends the request over HTTP
// to the owning node's internal endpoint (authenticated with node_key) and writes the chunks that
// come back into the request's output, token by token. The entry node's RequestActor keeps
// owning the request: deadline (the time left travels with it), fallbacks, budget, metrics and
// its one terminal outcome; a client that leaves aborts the call, which frees the owner's slot.

import { type Dispatcher, Pool } from "undici";
import type { Actor, Clock, Logger } from "../actor/index.js";
import { errors, InferenceError } from "../core/inference-error.js";
import type { EngineCommand, EngineRequest } from "../protocol/engine-messages.js";
import { PEER_EXECUTE_PATH, PEER_NODE_KEY_HEADER } from "./peer-endpoint.js";
import { decodeErrorBody, decodeFrame, encodePeerRequest } from "./peer-wire.js";

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
          else output.fail(frame.error);
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
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
