// The sink an engine writes one attempt's chunks into: it forwards them straight to the client's
// channel (no second queue, no hop per token), holds empty chunks back until the first one with
// content (the commit point, docs/architecture.md, request rules), and keeps what the RequestActor needs at the end:
// usage, content chunks, inter-token gaps. It tells the actor only the commit and the end.

import { type Channel, ChannelClosedError, type ChunkSink } from "../../core/channel.js";
import { commitsResponse, type TokenChunk, type TokenUsage } from "../../core/token-chunk.js";

export interface AttemptEvents {
  /** The first chunk with content reached the client, at `at` (clock ms). */
  committed(at: number): void;
  /** The engine closed (`error` undefined) or failed the attempt, or the client left. */
  ended(end: { readonly error?: unknown }): void;
}

export class AttemptSink implements ChunkSink<TokenChunk> {
  usage: TokenUsage | undefined;
  contentChunks = 0;
  /** A chunk with a finish reason went out. */
  finished = false;
  readonly interTokenMs: number[] = [];
  readonly #client: Channel<TokenChunk>;
  readonly #now: () => number;
  readonly #events: AttemptEvents;
  #committed: boolean;
  #abandoned = false;
  #ended = false;
  #lastAt = 0;

  constructor(
    client: Channel<TokenChunk>,
    now: () => number,
    alreadyCommitted: boolean,
    events: AttemptEvents,
  ) {
    this.#client = client;
    this.#now = now;
    this.#committed = alreadyCommitted;
    this.#events = events;
  }

  /** The RequestActor moved on (a fallback, or the end): the engine's next write stops it. */
  abandon(): void {
    this.#abandoned = true;
  }

  offer(chunk: TokenChunk): boolean {
    if (this.#abandoned || this.#ended) throw new ChannelClosedError();
    if (this.#holdBack(chunk)) return true;
    let taken: boolean;
    try {
      taken = this.#client.offer(chunk);
    } catch (error) {
      this.#clientGone(error);
      throw error;
    }
    if (taken) this.#record(chunk);
    return taken;
  }

  async push(chunk: TokenChunk): Promise<void> {
    if (this.#abandoned || this.#ended) throw new ChannelClosedError();
    if (this.#holdBack(chunk)) return;
    try {
      await this.#client.push(chunk);
    } catch (error) {
      this.#clientGone(error);
      throw error;
    }
    this.#record(chunk);
  }

  close(): void {
    this.#end(undefined);
  }

  fail(error: unknown): void {
    this.#end(error ?? new Error("attempt failed"));
  }

  #end(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#events.ended(error === undefined ? {} : { error });
  }

  #clientGone(error: unknown): void {
    if (error instanceof ChannelClosedError) this.#end(error);
  }

  /** Before commit, chunks with nothing to show (a role-only first delta) are not sent. */
  #holdBack(chunk: TokenChunk): boolean {
    if (this.#committed || commitsResponse(chunk) || chunk.finishReason) return false;
    if (chunk.usage) this.usage = chunk.usage;
    return true;
  }

  #record(chunk: TokenChunk): void {
    if (chunk.usage) this.usage = chunk.usage;
    if (chunk.finishReason) this.finished = true;
    const content = commitsResponse(chunk);
    if (!this.#committed) {
      this.#committed = true;
      this.#lastAt = this.#now();
      this.#events.committed(this.#lastAt);
    } else if (content) {
      const now = this.#now();
      this.interTokenMs.push(now - this.#lastAt);
      this.#lastAt = now;
    }
    if (content) this.contentChunks++;
  }
}
