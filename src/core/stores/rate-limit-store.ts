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

/** One bucket of a `tryAcquireAll` call: its key and what to take from it. */
export interface KeyedAcquireRequest extends AcquireRequest {
  readonly key: string;
}

export interface AcquireAllResult {
  /** True when every request was granted; when false nothing was taken from any bucket. */
  granted: boolean;
  /**
   * One result per request, in order. When the call was refused every result has `granted` false
   * (nothing was taken); a bucket that had room says `retryAfterMs` 0, one that did not says its wait.
   */
  results: AcquireResult[];
  /** 0 when granted; otherwise the largest `retryAfterMs` among the buckets that refused. */
  retryAfterMs: number;
}

/** A 429 penalty: the bucket refills at half its rate while a call's `now` is before `untilMs`. */
export interface Penalty {
  /** Ms since epoch, in the callers' clock. A penalty never shortens one already in place. */
  untilMs: number;
  /** The caller's time, ms since epoch; a shared store uses it only to expire the penalty. */
  now: number;
}

/**
 * Token buckets with continuous refill: tokens = min(capacity, tokens + elapsedMs × refill / 1000),
 * evaluated at each call's `now`, where refill is `refillPerSecond`, halved (× 0.5) while the key
 * is penalized (`penalize`, now < untilMs). All methods are async so Redis can implement them; each
 * call is atomic over all the keys it names. The penalty is store state, not an argument, so every
 * node of a cluster sees the same one.
 */
export interface RateLimitStore {
  /**
   * Takes `amount` tokens if the bucket holds them; otherwise takes nothing and says how long to
   * wait. Rejects with a RangeError on a negative or non-finite argument. (RateLimiterActor admits
   * through `tryAcquireAll`; this is the one-bucket form, for callers with a single limit.)
   */
  tryAcquire(key: string, request: AcquireRequest): Promise<AcquireResult>;

  /**
   * RateLimiterActor calls this at admission of each upstream attempt, with the request permit
   * (`|rpm`, amount 1) and the estimated tokens (`|tpm`) of its key in one call. All or nothing: if
   * any bucket cannot grant its amount, nothing is taken from any (each keeps its refill up to
   * `now`, as after a refused `tryAcquire`, so a one-request call equals `tryAcquire`). An empty list
   * is granted. Rejects with a RangeError, taking nothing, on a negative or non-finite
   * argument or a key named twice.
   */
  tryAcquireAll(requests: ReadonlyArray<KeyedAcquireRequest>): Promise<AcquireAllResult>;

  /**
   * RateLimiterActor calls this when a request finishes to settle its token reservation with the
   * real usage, and to give back the request slot and tokens of an attempt that never reached the
   * upstream: a positive delta refunds (never past capacity), a negative one charges the
   * under-estimate and may leave the bucket below zero (debt that later refill pays off).
   * Resolves with the tokens in the bucket afterwards.
   */
  adjust(key: string, delta: number, limits: BucketLimits): Promise<number>;

  /**
   * RateLimiterActor calls this when the upstream answers 429, for each bucket of the rate-limited
   * key: from now on every call on `key` (on any node) refills at half rate until `untilMs`. A
   * penalty that ends sooner than the one in place changes nothing. Changes no tokens. Resolves with
   * the end of the penalty in place afterwards; rejects with a RangeError on a non-finite argument.
   */
  penalize(key: string, penalty: Penalty): Promise<number>;

  /**
   * Metrics (rate-limit utilisation) and the admin API call this to read the bucket without
   * changing it. Resolves with the tokens the bucket would hold at `now`; capacity for an unknown key.
   */
  peek(key: string, limits: BucketLimits): Promise<number>;
}
