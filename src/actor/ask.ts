// Request-reply over tell: a one-shot reply ref that settles a promise, with a timeout on the clock.

import type { ActorRef, AskOptions, OfferResult } from "./actor-ref.js";
import type { Clock } from "./clock.js";
import type { DeadLetters } from "./dead-letters.js";
import { AskTimeoutError } from "./errors.js";

const delivered: OfferResult<never> = { ok: true };
let askCounter = 0;

export interface AskServices {
  readonly clock: Clock;
  readonly deadLetters: DeadLetters;
}

class ReplyRef<R> implements ActorRef<R> {
  readonly path: string;
  readonly #services: AskServices;
  #settle: ((value: R) => void) | undefined;

  constructor(path: string, services: AskServices, settle: (value: R) => void) {
    this.path = path;
    this.#services = services;
    this.#settle = settle;
  }

  tell(message: R): void {
    const settle = this.#settle;
    if (settle === undefined) {
      this.#services.deadLetters.publish({ message, recipient: this.path, reason: "ask-completed" });
      return;
    }
    this.#settle = undefined;
    settle(message);
  }

  offer(message: R): OfferResult<R> {
    this.tell(message);
    return delivered;
  }

  ask<R2>(build: (replyTo: ActorRef<R2>) => R, options: AskOptions): Promise<R2> {
    return ask(this, this.#services, build, options);
  }

  /** Called on timeout: later replies go to dead letters. */
  close(): void {
    this.#settle = undefined;
  }
}

export function ask<M, R>(
  target: ActorRef<M>,
  services: AskServices,
  build: (replyTo: ActorRef<R>) => M,
  options: AskOptions,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let cancelTimer: (() => void) | undefined;
    const replyTo = new ReplyRef<R>(
      `${target.path}/$ask-${(askCounter++).toString(36)}`,
      services,
      (value) => {
        cancelTimer?.();
        resolve(value);
      },
    );
    cancelTimer = services.clock.setTimer(options.timeoutMs, () => {
      replyTo.close();
      reject(new AskTimeoutError(target.path, options.timeoutMs));
    });
    let message: M;
    try {
      message = build(replyTo);
    } catch (error) {
      cancelTimer();
      replyTo.close();
      reject(error);
      return;
    }
    const sent = target.offer(message);
    if (!sent.ok) {
      cancelTimer();
      replyTo.close();
      reject(sent.error);
    }
  });
}
