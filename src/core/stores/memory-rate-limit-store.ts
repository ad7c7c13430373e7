// In-process RateLimitStore: the token buckets of a single-node system (and of tests).
// RateLimiterActor uses it when no cluster store is configured; the Redis store gives the same
// answers (both run rate-limit-store.contract.ts).

import type { AcquireRequest, AcquireResult, BucketLimits, RateLimitStore } from "./rate-limit-store.js";

/**
 * Refill arithmetic is floating point (rpm / 60 is rarely exact); a shortfall smaller than this
 * counts as none, so a bucket refilled for exactly the right time grants exactly the right amount.
 */
const TOKEN_EPSILON = 1e-9;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class MemoryRateLimitStore implements RateLimitStore {
  readonly #buckets = new Map<string, Bucket>();

  async tryAcquire(key: string, request: AcquireRequest): Promise<AcquireResult> {
    checkLimits(request);
    checkNonNegative("amount", request.amount);
    const bucket = this.#refilled(key, request);
    this.#buckets.set(key, bucket);
    const shortfall = request.amount - bucket.tokens;
    if (shortfall <= TOKEN_EPSILON) {
      bucket.tokens = Math.max(0, bucket.tokens - request.amount);
      return { granted: true, remaining: bucket.tokens, retryAfterMs: 0 };
    }
    return { granted: false, remaining: bucket.tokens, retryAfterMs: retryAfterMs(shortfall, request) };
  }

  async adjust(key: string, delta: number, limits: BucketLimits): Promise<number> {
    checkLimits(limits);
    checkFinite("delta", delta);
    const bucket = this.#refilled(key, limits);
    bucket.tokens = Math.min(limits.capacity, bucket.tokens + delta);
    this.#buckets.set(key, bucket);
    return bucket.tokens;
  }

  async peek(key: string, limits: BucketLimits): Promise<number> {
    checkLimits(limits);
    return this.#refilled(key, limits).tokens;
  }

  /** The bucket as it stands at `limits.now` (a new object; the caller decides whether to store it). */
  #refilled(key: string, limits: BucketLimits): Bucket {
    const stored = this.#buckets.get(key);
    if (stored === undefined) return { tokens: limits.capacity, updatedAt: limits.now };
    const elapsedMs = Math.max(0, limits.now - stored.updatedAt);
    const refilled = stored.tokens + (elapsedMs * limits.refillPerSecond) / 1000;
    // A bucket already above a lowered capacity drops to it; refill never lifts it past capacity.
    return { tokens: Math.min(limits.capacity, refilled), updatedAt: Math.max(stored.updatedAt, limits.now) };
  }
}

function retryAfterMs(shortfall: number, request: AcquireRequest): number {
  if (request.amount > request.capacity || request.refillPerSecond === 0) return Number.POSITIVE_INFINITY;
  // Subtracting the epsilon keeps 300.00000000000006 ms from rounding up to 301.
  return Math.max(1, Math.ceil((shortfall * 1000) / request.refillPerSecond - TOKEN_EPSILON));
}

function checkLimits(limits: BucketLimits): void {
  checkNonNegative("capacity", limits.capacity);
  checkNonNegative("refillPerSecond", limits.refillPerSecond);
  checkFinite("now", limits.now);
}

function checkNonNegative(field: string, value: number): void {
  checkFinite(field, value);
  if (value < 0) throw new RangeError(`${field} must be at least 0, got ${value}`);
}

function checkFinite(field: string, value: number): void {
  if (!Number.isFinite(value)) throw new RangeError(`${field} must be a finite number, got ${value}`);
}
