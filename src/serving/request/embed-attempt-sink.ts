// The sink an engine answers one embedding attempt into: the unary counterpart of AttemptSink. It
// keeps the answer and its usage for the RequestActor (no commit point: an embedding is shown to
// the client whole, so a failure may always go to the fallbacks) and tells it the attempt's end.

import type { Embeddings } from "../../core/embedding.js";
import type { TokenUsage } from "../../core/token-chunk.js";
import type { ResultSink } from "../../protocol/engine-messages.js";
import type { AttemptEvents } from "./attempt-sink.js";

export class EmbedAttemptSink implements ResultSink<Embeddings> {
  /** The answer's usage as the RequestActor charges it (no output tokens). */
  usage: TokenUsage | undefined;
  /** Nothing streams: no content chunks, no inter-token gaps. */
  readonly contentChunks = 0;
  readonly interTokenMs: readonly number[] = [];
  /** The engine answered. */
  finished = false;
  result: Embeddings | undefined;
  readonly #events: Pick<AttemptEvents, "ended">;
  #abandoned = false;
  #ended = false;

  constructor(events: Pick<AttemptEvents, "ended">) {
    this.#events = events;
  }

  /** The RequestActor moved on (a fallback, or the end): a later answer is dropped. */
  abandon(): void {
    this.#abandoned = true;
  }

  resolve(result: Embeddings): void {
    if (this.#abandoned || this.#ended) return;
    this.#ended = true;
    this.result = result;
    this.finished = true;
    const { inputTokens, estimated } = result.usage;
    this.usage = { inputTokens, outputTokens: 0, ...(estimated === true ? { estimated } : {}) };
    this.#events.ended({});
  }

  fail(error: unknown): void {
    if (this.#abandoned || this.#ended) return;
    this.#ended = true;
    this.#events.ended({ error: error ?? new Error("attempt failed") });
  }

  close(): void {
    if (this.#abandoned || this.#ended) return;
    this.#ended = true;
    this.#events.ended({});
  }
}
