// Runs the RateLimitStore contract against RedisRateLimitStore on a real redis-server, plus what
// only a shared store can get wrong: two connections racing for one bucket, keys and expiries.

import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { rateLimitStoreContract } from "../core/stores/rate-limit-store.contract.js";
import { RedisRateLimitStore } from "./redis-rate-limit-store.js";

const redis = useRedis();

rateLimitStoreContract(
  "RedisRateLimitStore",
  () => new RedisRateLimitStore({ client: redis.client, prefix: redis.prefix() }),
);

describe("RedisRateLimitStore on Redis", () => {
  it("50 concurrent acquires from two connections at a capacity-10 bucket grant exactly 10", async () => {
    const prefix = redis.prefix();
    const nodeA = new RedisRateLimitStore({ client: redis.client, prefix });
    const nodeB = new RedisRateLimitStore({ client: redis.connect(), prefix });
    const limits = { capacity: 10, refillPerSecond: 0, now: 0, amount: 1 };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? nodeA : nodeB).tryAcquire("k", limits)),
    );
    expect(results.filter((r) => r.granted)).toHaveLength(10);
    expect(await nodeB.peek("k", limits)).toBe(0);
  });

  it("keeps fractional tokens exact across the Lua boundary", async () => {
    const store = new RedisRateLimitStore({ client: redis.client, prefix: redis.prefix() });
    const limits = { capacity: 1, refillPerSecond: 1 / 60, now: 0 };
    await store.tryAcquire("k", { ...limits, amount: 1 });
    expect(await store.peek("k", { ...limits, now: 7 })).toBe((7 * (1 / 60)) / 1000);
    expect(await store.adjust("k", 0.1, { ...limits, now: 7 })).toBe((7 * (1 / 60)) / 1000 + 0.1);
  });

  it("stores a bucket under the prefix and lets it expire once it would be full again", async () => {
    const prefix = redis.prefix();
    const store = new RedisRateLimitStore({ client: redis.client, prefix });
    await store.tryAcquire("openai|k1|gpt-4o|rpm", { capacity: 60, refillPerSecond: 1, now: 0, amount: 6 });
    const ttl = await redis.client.pttl(`${prefix}bucket:openai|k1|gpt-4o|rpm`);
    expect(ttl).toBeGreaterThan(6_000);
    expect(ttl).toBeLessThanOrEqual(7_000);
  });

  it("a bucket that never refills expires after the idle TTL", async () => {
    const prefix = redis.prefix();
    const store = new RedisRateLimitStore({ client: redis.client, prefix, idleTtlMs: 60_000 });
    await store.tryAcquire("k", { capacity: 5, refillPerSecond: 0, now: 0, amount: 1 });
    const ttl = await redis.client.pttl(`${prefix}bucket:k`);
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("peek writes nothing", async () => {
    const prefix = redis.prefix();
    const store = new RedisRateLimitStore({ client: redis.client, prefix });
    expect(await store.peek("k", { capacity: 5, refillPerSecond: 1, now: 0 })).toBe(5);
    expect(await redis.client.exists(`${prefix}bucket:k`)).toBe(0);
  });
});

describe("RedisRateLimitStore with a clock that has fractions of a ms", () => {
  it("refills and expires at a fractional now", async () => {
    const store = new RedisRateLimitStore({ client: redis.client, prefix: redis.prefix() });
    const limits = { capacity: 3, refillPerSecond: 0.7, now: 0.25 };
    await store.tryAcquire("k", { ...limits, amount: 3 });
    expect(await store.peek("k", { ...limits, now: 1_000.25 })).toBeCloseTo(0.7, 12);
  });
});
