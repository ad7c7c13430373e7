// Dead letters: where every message that could not be delivered ends, with the reason.
// Observable by subscription (tests, metrics, logs); `tell` never throws instead.

export type DeadLetterReason =
  | "stopped" // the recipient had stopped or was stopping
  | "mailbox-full" // the recipient's bounded mailbox was full
  | "failed" // handling the message threw and the actor was restarted, resumed or stopped
  | "ask-completed"; // a reply reached an ask that had already resolved or timed out

export interface DeadLetter {
  readonly message: unknown;
  readonly recipient: string;
  readonly reason: DeadLetterReason;
}

export type DeadLetterListener = (letter: DeadLetter) => void;

export class DeadLetters {
  #listeners = new Set<DeadLetterListener>();
  #count = 0;

  /** Number of dead letters published since the system started. */
  get count(): number {
    return this.#count;
  }

  /** Called by the kernel for each undeliverable message. Listener errors are swallowed. */
  publish(letter: DeadLetter): void {
    this.#count++;
    for (const listener of this.#listeners) {
      try {
        listener(letter);
      } catch {
        // a faulty listener must not break delivery for the others
      }
    }
  }

  /** Returns an unsubscribe function. */
  subscribe(listener: DeadLetterListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
