// In-process RateLimitStore: the token buckets of a single-node system (and of tests).
// RateLimiterActor uses it when no cluster store is configured; the Redis store gives the same
// answers (both run rate-limit-store.contract.ts).

import type {
  AcquireAllResult,
  AcquireRequest,
  AcquireResult,
  BucketLimits,
  KeyedAcquireRequest,
  Penalty,
  RateLimitStore,
} from "./rate-limit-store.js";

/**
 * Refill arithmetic is floating point (rpm / 60 is rarely exact); a shortfall smaller than this
 * counts as none, so a bucket refilled for exactly the right time grants exactly the right amount.
 */
const TOKEN_EPSILON = 1e-9;

/** The refill factor while a key is penalized after an upstream 429. */
const PENALTY_REFILL_FACTOR = 0.5;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class MemoryRateLimitStore implements RateLimitStore {
  readonly #buckets = new Map<string, Bucket>();
  /** Per key, the end of its 429 penalty (kept apart from the bucket: penalizing creates none). */
  readonly #penaltyUntil = new Map<string, number>();

  async tryAcquire(key: string, request: AcquireRequest): Promise<AcquireResult> {
    checkLimits(request);
    checkNonNegative("amount", request.amount);
    const refill = this.#refillPerSecond(key, request);
    const bucket = this.#refilled(key, request, refill);
    this.#buckets.set(key, bucket);
    const shortfall = request.amount - bucket.tokens;
    if (shortfall <= TOKEN_EPSILON) {
      bucket.tokens = Math.max(0, bucket.tokens - request.amount);
      return { granted: true, remaining: bucket.tokens, retryAfterMs: 0 };
    }
    return {
      granted: false,
      remaining: bucket.tokens,
      retryAfterMs: retryAfterMs(shortfall, request, refill),
    };
  }

  async tryAcquireAll(requests: ReadonlyArray<KeyedAcquireRequest>): Promise<AcquireAllResult> {
    checkDistinctKeys(requests);
    for (const request of requests) {
      checkLimits(request);
      checkNonNegative("amount", request.amount);
    }
    const buckets = requests.map((request) => {
      const refill = this.#refillPerSecond(request.key, request);
      const bucket = this.#refilled(request.key, request, refill);
      const shortfall = request.amount - bucket.tokens;
      const wait = shortfall <= TOKEN_EPSILON ? 0 : retryAfterMs(shortfall, request, refill);
      return { bucket, wait };
    });
    const refusedAfterMs = Math.max(0, ...buckets.map(({ wait }) => wait));
    const granted = buckets.every(({ wait }) => wait === 0);
    // Refused or not, each bucket keeps its refill up to now, as a refused tryAcquire does.
    const results = requests.map((request, i): AcquireResult => {
      const { bucket, wait } = buckets[i]!;
      if (granted) bucket.tokens = Math.max(0, bucket.tokens - request.amount);
      this.#buckets.set(request.key, bucket);
      return { granted, remaining: bucket.tokens, retryAfterMs: wait };
    });
    return { granted, results, retryAfterMs: refusedAfterMs };
  }

  async adjust(key: string, delta: number, limits: BucketLimits): Promise<number> {
    checkLimits(limits);
    checkFinite("delta", delta);
    const bucket = this.#refilled(key, limits, this.#refillPerSecond(key, limits));
    bucket.tokens = Math.min(limits.capacity, bucket.tokens + delta);
    this.#buckets.set(key, bucket);
    return bucket.tokens;
  }

  async penalize(key: string, penalty: Penalty): Promise<number> {
    checkFinite("untilMs", penalty.untilMs);
    checkFinite("now", penalty.now);
    const until = Math.max(this.#penaltyUntil.get(key) ?? Number.NEGATIVE_INFINITY, penalty.untilMs);
    this.#penaltyUntil.set(key, until);
    return until;
  }

  async peek(key: string, limits: BucketLimits): Promise<number> {
    checkLimits(limits);
    return this.#refilled(key, limits, this.#refillPerSecond(key, limits)).tokens;
  }

  /** The refill rate at `limits.now`: halved while the key's 429 penalty lasts. */
  #refillPerSecond(key: string, limits: BucketLimits): number {
    const penalized = limits.now < (this.#penaltyUntil.get(key) ?? Number.NEGATIVE_INFINITY);
    return penalized ? limits.refillPerSecond * PENALTY_REFILL_FACTOR : limits.refillPerSecond;
  }

  /** The bucket as it stands at `limits.now` (a new object; the caller decides whether to store it). */
  #refilled(key: string, limits: BucketLimits, refillPerSecond: number): Bucket {
    const stored = this.#buckets.get(key);
    if (stored === undefined) return { tokens: limits.capacity, updatedAt: limits.now };
    const elapsedMs = Math.max(0, limits.now - stored.updatedAt);
    const refilled = stored.tokens + (elapsedMs * refillPerSecond) / 1000;
    // A bucket already above a lowered capacity drops to it; refill never lifts it past capacity.
    return { tokens: Math.min(limits.capacity, refilled), updatedAt: Math.max(stored.updatedAt, limits.now) };
  }
}

function retryAfterMs(shortfall: number, request: AcquireRequest, refillPerSecond: number): number {
  if (request.amount > request.capacity || refillPerSecond === 0) return Number.POSITIVE_INFINITY;
  // Subtracting the epsilon keeps 300.00000000000006 ms from rounding up to 301.
  return Math.max(1, Math.ceil((shortfall * 1000) / refillPerSecond - TOKEN_EPSILON));
}

function checkDistinctKeys(requests: ReadonlyArray<KeyedAcquireRequest>): void {
  const keys = new Set<string>();
  for (const { key } of requests) {
    if (keys.has(key)) throw new RangeError(`key ${key} is named twice`);
    keys.add(key);
  }
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
