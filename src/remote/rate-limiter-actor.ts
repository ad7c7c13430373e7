// RateLimiterActor: token buckets per (provider, key hash, model) in the RateLimitStore: requests
// per minute (capacity rpm, refilled at rpm/60 per second) and tokens per minute likewise. A
// request reserves its estimated tokens at admission; the reservation is settled with the real
// usage. A 429 halves the refill rate for max(Retry-After, 60 s). Admission is one atomic store call
// over both buckets, and the buckets and the penalty live in the store, so every replica (and, with
// the Redis store, every node) shares them.

import type { Actor, ActorContext, ActorRef } from "../actor/index.js";
import { type InferenceError, storeFailure } from "../core/inference-error.js";
import type { BucketLimits, KeyedAcquireRequest, RateLimitStore } from "../core/stores/index.js";
import type { RateLimitSettings } from "./remote-config.js";

export type Permit =
  | {
      readonly granted: true;
      readonly reservedTokens: number /** share of the rpm bucket in use */;
      readonly utilization: number;
    }
  | { readonly granted: false; readonly retryAfterMs: number }
  /** The store refused to decide (a cluster store that is unavailable, on_store_unavailable = "closed"). */
  | { readonly granted: false; readonly error: InferenceError };

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

  constructor(context: ActorContext<RateLimiterMessage>, store: RateLimitStore) {
    this.#context = context;
    this.#store = store;
  }

  /**
   * Each message's store call runs concurrently with the others: every store operation is atomic
   * by itself, so the actor never holds its mailbox while a (Redis) round trip is in flight.
   */
  receive(message: RateLimiterMessage): void {
    this.#handle(message).catch((error: unknown) =>
      this.#context.log.error(
        { type: message.type, key: message.key, error: (error as Error).message },
        "rate limiter store call failed",
      ),
    );
  }

  async #handle(message: RateLimiterMessage): Promise<void> {
    const now = this.#context.clock.now();
    switch (message.type) {
      case "acquire": {
        let permit: Permit;
        try {
          permit = await this.#acquire(message.key, message.limits, message.tokens, now);
        } catch (error) {
          // the worker fails the request with it rather than waiting for an answer that never comes
          permit = { granted: false, error: storeFailure(error) };
        }
        message.replyTo.tell(permit);
        return;
      }
      case "settle": {
        const tpm = bucketLimits(message.limits.tokensPerMinute, now);
        if (tpm && message.reserved !== message.actual) {
          await this.#store.adjust(`${message.key}|tpm`, message.reserved - message.actual, tpm);
        }
        return;
      }
      case "refund": {
        const rpm = bucketLimits(message.limits.requestsPerMinute, now);
        const tpm = bucketLimits(message.limits.tokensPerMinute, now);
        await Promise.all([
          rpm && this.#store.adjust(`${message.key}|rpm`, 1, rpm),
          tpm &&
            message.reservedTokens > 0 &&
            this.#store.adjust(`${message.key}|tpm`, message.reservedTokens, tpm),
        ]);
        return;
      }
      case "penalize": {
        // The message carries no limits, so both buckets are penalized; an unused one costs nothing.
        const penalty = { untilMs: now + Math.max(message.retryAfterMs ?? 0, MINUTE_MS), now };
        await Promise.all(BUCKETS.map((bucket) => this.#store.penalize(`${message.key}|${bucket}`, penalty)));
        return;
      }
      case "utilization": {
        const rpm = bucketLimits(message.limits.requestsPerMinute, now);
        if (!rpm) {
          message.replyTo.tell(0);
          return;
        }
        const left = await this.#store.peek(`${message.key}|rpm`, rpm);
        message.replyTo.tell(utilization(left, rpm));
        return;
      }
    }
  }

  /** One atomic store call takes the request slot and the token reservation, or neither. */
  async #acquire(key: string, limits: RateLimitSettings, tokens: number, now: number): Promise<Permit> {
    const rpm = bucketLimits(limits.requestsPerMinute, now);
    const tpm = bucketLimits(limits.tokensPerMinute, now);
    // a single request larger than the whole budget waits for a full bucket rather than forever
    const reservedTokens = tpm ? Math.min(tokens, tpm.capacity) : 0;
    const requests: KeyedAcquireRequest[] = [];
    if (rpm) requests.push({ key: `${key}|rpm`, ...rpm, amount: 1 });
    if (tpm) requests.push({ key: `${key}|tpm`, ...tpm, amount: reservedTokens });
    if (requests.length === 0) return { granted: true, reservedTokens: 0, utilization: 0 };
    const answer = await this.#store.tryAcquireAll(requests);
    if (!answer.granted) return { granted: false, retryAfterMs: answer.retryAfterMs };
    return {
      granted: true,
      reservedTokens,
      utilization: rpm ? utilization(answer.results[0]!.remaining, rpm) : 0,
    };
  }
}

const BUCKETS = ["rpm", "tpm"] as const;

/** Bucket limits for a per-minute budget; the store halves the refill while a 429 penalty lasts. */
function bucketLimits(perMinute: number | undefined, now: number): BucketLimits | undefined {
  if (perMinute === undefined) return undefined;
  return { capacity: perMinute, refillPerSecond: perMinute / 60, now };
}

/** The share of the request bucket in use, 0 (full) to 1 (empty or in debt). */
function utilization(left: number, rpm: BucketLimits): number {
  return Math.min(1, Math.max(0, 1 - left / rpm.capacity));
}
