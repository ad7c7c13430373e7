// Stop strings over a token stream: a runner pushes each token's text and emits only what the
// matcher releases. Text that might be the start of a stop string is held back until the next
// token shows whether it is; a stop string and everything after it are never released.

export interface StopPush {
  /** Text safe to send to the client now (may be empty). */
  readonly emit: string;
  /** True once a stop string has matched; the generation should end. */
  readonly stopped: boolean;
}

/**
 * Streaming matcher for `sampling.stop`. Stop strings match across token boundaries. When
 * several could match, the one that completes first (earliest end in the text) wins, and of
 * those completing at the same character the one starting earliest; the result does not depend
 * on how the text is split into pushes. Empty stop strings are ignored; with none left, `push`
 * passes text straight through without buffering.
 */
export class StopMatcher {
  readonly #stops: readonly string[];
  #pending = "";
  #stopped = false;

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((stop) => stop.length > 0);
  }

  /** True once a stop string has matched. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Called by a runner with each generated token's text; returns what may be emitted now. */
  push(text: string): StopPush {
    if (this.#stopped) return { emit: "", stopped: true };
    if (this.#stops.length === 0) return { emit: text, stopped: false };

    const pending = this.#pending + text;
    const match = this.#firstMatch(pending);
    if (match !== undefined) {
      this.#pending = "";
      this.#stopped = true;
      return { emit: pending.slice(0, match), stopped: true };
    }
    const held = this.#heldLength(pending);
    this.#pending = pending.slice(pending.length - held);
    return { emit: pending.slice(0, pending.length - held), stopped: false };
  }

  /** Called by a runner when generation ends without a stop match: releases held-back text. */
  flush(): string {
    const rest = this.#stopped ? "" : this.#pending;
    this.#pending = "";
    return rest;
  }

  /** Start index of the winning match in `text`, if any stop string occurs in it. */
  #firstMatch(text: string): number | undefined {
    let bestStart: number | undefined;
    let bestEnd = Number.POSITIVE_INFINITY;
    for (const stop of this.#stops) {
      const start = text.indexOf(stop);
      if (start < 0) continue;
      const end = start + stop.length;
      if (end < bestEnd || (end === bestEnd && bestStart !== undefined && start < bestStart)) {
        bestStart = start;
        bestEnd = end;
      }
    }
    return bestStart;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  #heldLength(text: string): number {
    let held = 0;
    for (const stop of this.#stops) {
      for (let length = Math.min(stop.length - 1, text.length); length > held; length--) {
        if (text.endsWith(stop.slice(0, length))) {
          held = length;
          break;
        }
      }
    }
    return held;
  }
}
