// Token buckets keyed by string, the state behind RateLimiterActor (remote worker step: acquire a
// permit for requests and estimated tokens before calling the provider, settle with real usage
// after). Keys are e.g. (provider, key hash, model, "rpm" | "tpm"); in a cluster the buckets live in
// Redis so a limit is exact across nodes.

/** The shape of one bucket, passed on every call so a limit can change without a migration. */
export interface BucketLimits {
  /** The most tokens the bucket holds; a new bucket starts full. Finite, at least 0. */
  capacity: number;
  /** Tokens added per second, continuously (an RPM limit refills at rpm / 60). Finite, at least 0. */
  refillPerSecond: number;
  /** The caller's time, ms since epoch. A time earlier than the bucket's last update refills nothing. */
  now: number;
}

export interface AcquireRequest extends BucketLimits {
  /** Tokens to take (1 for a request permit, the estimate for a TPM reservation). Finite, at least 0. */
  amount: number;
}

export interface AcquireResult {
  /** True when `amount` tokens were taken; when false nothing was taken. */
  granted: boolean;
  /** Tokens left in the bucket after this call (may be negative while the bucket is in debt). */
  remaining: number;
  /**
   * 0 when granted. Otherwise whole ms (rounded up) until `amount` tokens would be there if nobody
   * else took any; `Number.POSITIVE_INFINITY` when it never can be (amount > capacity, or no refill).
   */
  retryAfterMs: number;
}

/**
 * Token buckets with continuous refill: tokens = min(capacity, tokens + elapsedMs × refillPerSecond
 * / 1000), evaluated at each call's `now`. All methods are async so Redis can implement them; each
 * call is atomic per key.
 */
export interface RateLimitStore {
  /**
   * RateLimiterActor calls this at admission of each upstream attempt: once for the request permit
   * and once for the estimated tokens. Takes `amount` tokens if the bucket holds them; otherwise
   * takes nothing and says how long to wait. Rejects with a RangeError on a negative or non-finite
   * argument.
   */
  tryAcquire(key: string, request: AcquireRequest): Promise<AcquireResult>;

  /**
   * RateLimiterActor calls this when a request finishes to settle its token reservation with the
   * real usage: a positive delta refunds over-estimated tokens (never past capacity), a negative one
   * charges the under-estimate and may leave the bucket below zero (debt that later refill pays off).
   * Resolves with the tokens in the bucket afterwards.
   */
  adjust(key: string, delta: number, limits: BucketLimits): Promise<number>;

  /**
   * Metrics (rate-limit utilisation) and the admin API call this to read the bucket without
   * changing it. Resolves with the tokens the bucket would hold at `now`; capacity for an unknown key.
   */
  peek(key: string, limits: BucketLimits): Promise<number>;
}
