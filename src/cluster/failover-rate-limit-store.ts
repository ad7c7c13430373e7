// RateLimitStore of a cluster node that outlives a Redis outage (docs/cluster.md, "When Redis is
// unavailable"): the Redis buckets while the store is available; while it is not, memory buckets
// holding this node's share of each limit (capacity and refill × 1 / live nodes, starting from that
// share of the tokens Redis last said were left). On reconnect the tokens this node took meanwhile
// are charged to the Redis buckets, so the cluster's limits see them.

import { MemoryRateLimitStore } from "../core/stores/memory-rate-limit-store.js";
import type {
  AcquireAllResult,
  AcquireRequest,
  AcquireResult,
  BucketLimits,
  KeyedAcquireRequest,
  Penalty,
  RateLimitStore,
} from "../core/stores/rate-limit-store.js";
import type { StoreFailover } from "./store-failover.js";

/** A bucket as Redis last answered for it. */
interface KnownBucket {
  readonly tokens: number;
  readonly at: number;
}

/** A bucket this node used from memory during the outage. */
interface LocalBucket {
  /** The real (cluster-wide) limits of its last call, for the write-back. */
  limits: BucketLimits;
  readonly share: number;
  /** The share of the Redis bucket's debt it started with (not this node's use), and when. */
  readonly seededDeficit: number;
  readonly seededAt: number;
}

export class FailoverRateLimitStore implements RateLimitStore {
  readonly #shared: RateLimitStore;
  readonly #failover: StoreFailover;
  readonly #known = new Map<string, KnownBucket>();
  #local = new MemoryRateLimitStore();
  #localBuckets = new Map<string, LocalBucket>();
  #writingBack: Promise<void> = Promise.resolve();

  /** The cluster node wraps its RedisRateLimitStore in one; RateLimiterActor uses it as any store. */
  constructor(shared: RateLimitStore, failover: StoreFailover) {
    this.#shared = shared;
    this.#failover = failover;
    failover.availability.onChange((state) => {
      if (state === "available") this.#writingBack = this.#writingBack.then(() => this.#writeBack());
    });
  }

  /** Resolves once the write-back started by the last reconnect has ended (tests wait on it). */
  flushed(): Promise<void> {
    return this.#writingBack;
  }

  tryAcquire(key: string, request: AcquireRequest): Promise<AcquireResult> {
    return this.#failover.admit(
      "rate_limit.try_acquire",
      async () => {
        const result = await this.#shared.tryAcquire(key, request);
        this.#known.set(key, { tokens: result.remaining, at: request.now });
        return result;
      },
      async () => this.#local.tryAcquire(key, await this.#localRequest(key, request)),
    );
  }

  tryAcquireAll(requests: ReadonlyArray<KeyedAcquireRequest>): Promise<AcquireAllResult> {
    return this.#failover.admit(
      "rate_limit.try_acquire_all",
      async () => {
        const answer = await this.#shared.tryAcquireAll(requests);
        requests.forEach((request, i) => {
          const result = answer.results[i];
          if (result) this.#known.set(request.key, { tokens: result.remaining, at: request.now });
        });
        return answer;
      },
      async () => {
        const local: KeyedAcquireRequest[] = [];
        for (const request of requests) {
          const scaled = await this.#localRequest(request.key, request);
          // as RateLimiterActor caps a reservation at the whole bucket: one larger than the share waits for a full one
          local.push({ ...scaled, key: request.key, amount: Math.min(request.amount, scaled.capacity) });
        }
        return this.#local.tryAcquireAll(local);
      },
    );
  }

  adjust(key: string, delta: number, limits: BucketLimits): Promise<number> {
    return this.#failover.serve(
      "rate_limit.adjust",
      async () => {
        const tokens = await this.#shared.adjust(key, delta, limits);
        this.#known.set(key, { tokens, at: limits.now });
        return tokens;
      },
      async () => {
        // tokens are tokens: only the bucket's capacity and refill are this node's share
        return this.#local.adjust(key, delta, await this.#localRequest(key, limits));
      },
    );
  }

  penalize(key: string, penalty: Penalty): Promise<number> {
    // a penalty during the outage stays on this node: the Redis one may be gone after a restart
    return this.#failover.serve(
      "rate_limit.penalize",
      () => this.#shared.penalize(key, penalty),
      () => this.#local.penalize(key, penalty),
    );
  }

  peek(key: string, limits: BucketLimits): Promise<number> {
    return this.#failover.serve(
      "rate_limit.peek",
      async () => {
        const tokens = await this.#shared.peek(key, limits);
        this.#known.set(key, { tokens, at: limits.now });
        return tokens;
      },
      // this node's share, read back as a share of the whole bucket
      async () => {
        const local = await this.#localRequest(key, limits);
        return (await this.#local.peek(key, local)) / local.share;
      },
    );
  }

  /**
   * The limits of a memory bucket: this node's share of the real ones. A key's first use in an
   * outage starts it at the share of what Redis last said was left (refilled up to now).
   */
  async #localRequest<T extends BucketLimits>(key: string, limits: T): Promise<T & { share: number }> {
    let bucket = this.#localBuckets.get(key);
    if (bucket === undefined) {
      const share = this.#failover.share();
      const scaled = scale(limits, share);
      const known = this.#known.get(key);
      const knownTokens =
        known === undefined
          ? limits.capacity
          : Math.min(
              limits.capacity,
              known.tokens + (Math.max(0, limits.now - known.at) * limits.refillPerSecond) / 1000,
            );
      const seededDeficit = Math.max(0, (limits.capacity - knownTokens) * share);
      // recorded before the await: a concurrent first use of the key must not seed it again
      bucket = { limits, share, seededDeficit, seededAt: limits.now };
      this.#localBuckets.set(key, bucket);
      if (seededDeficit > 0) await this.#local.adjust(key, -seededDeficit, scaled);
    }
    bucket.limits = { capacity: limits.capacity, refillPerSecond: limits.refillPerSecond, now: limits.now };
    return { ...limits, ...scale(limits, bucket.share), share: bucket.share };
  }

  /**
   * On reconnect: each memory bucket's debt, less what it started with (and what refill has paid of
   * that since), is what this node took during the outage; it is charged to the Redis bucket.
   */
  async #writeBack(): Promise<void> {
    const buckets = this.#localBuckets;
    const local = this.#local;
    this.#localBuckets = new Map();
    this.#local = new MemoryRateLimitStore();
    const now = this.#failover.clock.now();
    for (const [key, bucket] of buckets) {
      const limits = { ...bucket.limits, now: Math.max(now, bucket.limits.now) };
      const scaled = scale(limits, bucket.share);
      const deficit = scaled.capacity - (await local.peek(key, scaled));
      const seedLeft = Math.max(
        0,
        bucket.seededDeficit - ((limits.now - bucket.seededAt) * scaled.refillPerSecond) / 1000,
      );
      const used = deficit - seedLeft;
      if (used > 0) await this.#failover.writeBack(() => this.#shared.adjust(key, -used, limits));
    }
  }
}

function scale<T extends BucketLimits>(limits: T, share: number): T {
  return { ...limits, capacity: limits.capacity * share, refillPerSecond: limits.refillPerSecond * share };
}
