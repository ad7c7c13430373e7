// Turns generated tokens into text deltas without splitting a UTF-8 character: byte-level
// tokens (<0xE2> <0x82> <0xAC>) decode to U+FFFD until the sequence completes, so such tokens
// wait (up to `maxPending`, for models that really emit invalid bytes) and go out together.

export type Detokenize = (tokens: readonly number[], lastTokens: readonly number[]) => string;

export class IncrementalDetokenizer {
  readonly #detokenize: Detokenize;
  readonly #maxPending: number;
  readonly #history: number[] = [];
  #pending: number[] = [];

  constructor(detokenize: Detokenize, maxPending = 4) {
    this.#detokenize = detokenize;
    this.#maxPending = maxPending;
  }

  /** Text ready to emit after this token ("" while an incomplete character waits). */
  push(token: number): string {
    this.#pending.push(token);
    const text = this.#decode();
    if (text.endsWith("\uFFFD") && this.#pending.length < this.#maxPending) return "";
    this.#commit();
    return text;
  }

  /** Whatever still waits, at the end of generation. */
  flush(): string {
    if (this.#pending.length === 0) return "";
    const text = this.#decode();
    this.#commit();
    return text;
  }

  #decode(): string {
    // the preceding tokens let SentencePiece-style tokenizers place a leading space correctly
    return this.#detokenize(this.#pending, this.#history.slice(-4));
  }

  #commit(): void {
    this.#history.push(...this.#pending);
    if (this.#history.length > 16) this.#history.splice(0, this.#history.length - 16);
    this.#pending = [];
  }
}
