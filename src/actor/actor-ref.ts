// ActorRef: the only handle other code holds on an actor. Sending never throws.

import type { ActorStoppedError, MailboxFullError } from "./errors.js";

export type OfferResult<M> =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: MailboxFullError<M> | ActorStoppedError<M> };

export interface AskOptions {
  /** Reject with AskTimeoutError when no reply arrives within this many ms (on the system clock). */
  readonly timeoutMs: number;
}

export interface ActorRef<M> {
  /** Full path, e.g. `/user/gateway/request-42`. */
  readonly path: string;
  /**
   * Fire-and-forget. Never throws: a message to a stopped actor or a full mailbox
   * goes to dead letters with the reason.
   */
  tell(message: M): void;
  /** Like tell, but reports backpressure: a full mailbox hands the message back in the error. */
  offer(message: M): OfferResult<M>;
  /**
   * Request-reply. `build` receives a one-shot reply ref and returns the message to send.
   * Rejects with AskTimeoutError after `timeoutMs`, or at once with the offer error when the
   * target cannot take the message. A reply after the timeout goes to dead letters.
   */
  ask<R>(build: (replyTo: ActorRef<R>) => M, options: AskOptions): Promise<R>;
}

/**
 * A ref that accepts only part of an actor's protocol (e.g. an engine that may only send
 * `load-reported` to the coordinator). Sound for tell/offer: every narrow message is a wide one.
 */
export function narrowRef<Narrow extends Wide, Wide>(ref: ActorRef<Wide>): ActorRef<Narrow> {
  return ref as unknown as ActorRef<Narrow>;
}

/**
 * A ref whose every message runs `onMessage` (outside any mailbox): for replies that must be
 * handled even after the asker stopped (e.g. releasing a late budget grant). `ask` is not supported.
 */
export function callbackRef<M>(path: string, onMessage: (message: M) => void): ActorRef<M> {
  return {
    path,
    tell: (message) => onMessage(message),
    offer: (message) => {
      onMessage(message);
      return { ok: true };
    },
    ask: () => Promise.reject(new Error(`${path} cannot be asked`)),
  };
}
