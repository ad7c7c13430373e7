// RateLimiterActor: token buckets per (provider, key hash, model) in the RateLimitStore: requests
// per minute (capacity rpm, refilled at rpm/60 per second) and tokens per minute likewise. A
// request reserves its estimated tokens at admission; the reservation is settled with the real
// usage. A 429 halves the refill rate for max(Retry-After, 60 s). Shared by every replica.

import type { Actor, ActorContext, ActorRef } from "../actor/index.js";
import type { BucketLimits, RateLimitStore } from "../core/stores/index.js";
import type { RateLimitSettings } from "./remote-config.js";

export type Permit =
  | {
      readonly granted: true;
      readonly reservedTokens: number /** share of the rpm bucket in use */;
      readonly utilization: number;
    }
  | { readonly granted: false; readonly retryAfterMs: number };

export type RateLimiterMessage =
  | {
      readonly type: "acquire";
      readonly key: string;
      readonly limits: RateLimitSettings;
      readonly tokens: number;
      readonly replyTo: ActorRef<Permit>;
    }
  /** Settles a reservation: refunds what was not used, or charges the excess. */
  | {
      readonly type: "settle";
      readonly key: string;
      readonly limits: RateLimitSettings;
      readonly reserved: number;
      readonly actual: number;
    }
  /** The request never reached the upstream (an open circuit): give its request slot and tokens back. */
  | {
      readonly type: "refund";
      readonly key: string;
      readonly limits: RateLimitSettings;
      readonly reservedTokens: number;
    }
  /** The upstream answered 429: halve the refill rate for max(retryAfter, 60 s). */
  | { readonly type: "penalize"; readonly key: string; readonly retryAfterMs: number | undefined }
  | {
      readonly type: "utilization";
      readonly key: string;
      readonly limits: RateLimitSettings;
      readonly replyTo: ActorRef<number>;
    };

const MINUTE_MS = 60_000;

export class RateLimiterActor implements Actor<RateLimiterMessage> {
  readonly #context: ActorContext<RateLimiterMessage>;
  readonly #store: RateLimitStore;
  readonly #penaltyUntil = new Map<string, number>();

  constructor(context: ActorContext<RateLimiterMessage>, store: RateLimitStore) {
    this.#context = context;
    this.#store = store;
  }

  async receive(message: RateLimiterMessage): Promise<void> {
    const now = this.#context.clock.now();
    switch (message.type) {
      case "acquire":
        message.replyTo.tell(await this.#acquire(message.key, message.limits, message.tokens, now));
        return;
      case "settle": {
        const tpm = this.#limits(message.key, message.limits.tokensPerMinute, now);
        if (tpm && message.reserved !== message.actual) {
          await this.#store.adjust(`${message.key}|tpm`, message.reserved - message.actual, tpm);
        }
        return;
      }
      case "refund": {
        const rpm = this.#limits(message.key, message.limits.requestsPerMinute, now);
        const tpm = this.#limits(message.key, message.limits.tokensPerMinute, now);
        if (rpm) await this.#store.adjust(`${message.key}|rpm`, 1, rpm);
        if (tpm && message.reservedTokens > 0)
          await this.#store.adjust(`${message.key}|tpm`, message.reservedTokens, tpm);
        return;
      }
      case "penalize":
        this.#penaltyUntil.set(message.key, now + Math.max(message.retryAfterMs ?? 0, MINUTE_MS));
        return;
      case "utilization": {
        const rpm = this.#limits(message.key, message.limits.requestsPerMinute, now);
        if (!rpm) {
          message.replyTo.tell(0);
          return;
        }
        const left = await this.#store.peek(`${message.key}|rpm`, rpm);
        message.replyTo.tell(Math.min(1, Math.max(0, 1 - left / rpm.capacity)));
        return;
      }
    }
  }

  /** Bucket limits for a per-minute budget, with the refill halved while a 429 penalty lasts. */
  #limits(key: string, perMinute: number | undefined, now: number): BucketLimits | undefined {
    if (perMinute === undefined) return undefined;
    const penalized = (this.#penaltyUntil.get(key) ?? 0) > now;
    return { capacity: perMinute, refillPerSecond: (perMinute / 60) * (penalized ? 0.5 : 1), now };
  }

  async #acquire(key: string, limits: RateLimitSettings, tokens: number, now: number): Promise<Permit> {
    const rpm = this.#limits(key, limits.requestsPerMinute, now);
    const tpm = this.#limits(key, limits.tokensPerMinute, now);
    let utilization = 0;
    if (rpm) {
      const request = await this.#store.tryAcquire(`${key}|rpm`, { ...rpm, amount: 1 });
      if (!request.granted) return { granted: false, retryAfterMs: request.retryAfterMs };
      utilization = Math.min(1, Math.max(0, 1 - request.remaining / rpm.capacity));
    }
    if (!tpm) return { granted: true, reservedTokens: 0, utilization };
    // a single request larger than the whole budget waits for a full bucket rather than forever
    const amount = Math.min(tokens, tpm.capacity);
    const reserved = await this.#store.tryAcquire(`${key}|tpm`, { ...tpm, amount });
    if (reserved.granted) return { granted: true, reservedTokens: amount, utilization };
    if (rpm) await this.#store.adjust(`${key}|rpm`, 1, rpm); // give the request slot back
    return { granted: false, retryAfterMs: reserved.retryAfterMs };
  }
}
