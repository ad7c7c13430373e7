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

  it("60 concurrent admissions from three connections grant exactly 30 and take both buckets together", async () => {
    const prefix = redis.prefix();
    const nodes = [redis.client, redis.connect(), redis.connect()].map(
      (client) => new RedisRateLimitStore({ client, prefix }),
    );
    const rpm = { capacity: 30, refillPerSecond: 0.5, now: 0 };
    const tpm = { capacity: 3_000, refillPerSecond: 50, now: 0 };
    const admission = [
      { key: "k|rpm", ...rpm, amount: 1 },
      { key: "k|tpm", ...tpm, amount: 100 },
    ];
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => nodes[i % 3]!.tryAcquireAll(admission)),
    );
    const granted = answers.filter((a) => a.granted);
    expect(granted).toHaveLength(30);
    expect(await nodes[1]!.peek("k|rpm", rpm)).toBe(0);
    expect(await nodes[2]!.peek("k|tpm", tpm)).toBe(3_000 - 100 * granted.length);
    // Each grant saw the buckets as the one before it left them: one slot and 100 tokens apart.
    const left = granted
      .map((a) => [a.results[0]!.remaining, a.results[1]!.remaining])
      .sort((a, b) => a[0]! - b[0]!);
    expect(left).toEqual(Array.from({ length: 30 }, (_, i) => [i, i * 100]));
  });

  it("when the token bucket runs out first, refused admissions keep no request slot", async () => {
    const prefix = redis.prefix();
    const nodes = [redis.client, redis.connect(), redis.connect()].map(
      (client) => new RedisRateLimitStore({ client, prefix }),
    );
    const rpm = { capacity: 30, refillPerSecond: 0.5, now: 0 };
    const tpm = { capacity: 2_000, refillPerSecond: 0, now: 0 };
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        nodes[i % 3]!.tryAcquireAll([
          { key: "k|rpm", ...rpm, amount: 1 },
          { key: "k|tpm", ...tpm, amount: 100 },
        ]),
      ),
    );
    expect(answers.filter((a) => a.granted)).toHaveLength(20);
    expect(await nodes[0]!.peek("k|rpm", rpm)).toBe(10);
    expect(await nodes[0]!.peek("k|tpm", tpm)).toBe(0);
  });

  it("a penalty set through one connection halves the refill another connection sees", async () => {
    const prefix = redis.prefix();
    const nodeA = new RedisRateLimitStore({ client: redis.client, prefix });
    const nodeB = new RedisRateLimitStore({ client: redis.connect(), prefix });
    const limits = { capacity: 60, refillPerSecond: 1, now: 0 };
    await nodeA.tryAcquire("k", { ...limits, amount: 60 });
    await nodeA.penalize("k", { untilMs: 60_000, now: 0 });
    expect(await nodeB.peek("k", { ...limits, now: 10_000 })).toBe(5);
    expect((await nodeB.tryAcquireAll([{ key: "k", ...limits, now: 10_000, amount: 6 }])).retryAfterMs).toBe(
      2_000,
    );
  });

  it("a penalty expires after its end and keeps a stored bucket at least as long", async () => {
    const prefix = redis.prefix();
    const store = new RedisRateLimitStore({ client: redis.client, prefix });
    await store.tryAcquire("k", { capacity: 60, refillPerSecond: 1, now: 0, amount: 6 });
    await store.penalize("k", { untilMs: 120_000, now: 0 });
    const penaltyTtl = await redis.client.pttl(`${prefix}penalty:k`);
    expect(penaltyTtl).toBeGreaterThan(120_000);
    expect(penaltyTtl).toBeLessThanOrEqual(121_000);
    expect(await redis.client.pttl(`${prefix}bucket:k`)).toBeGreaterThan(120_000);
    await store.penalize("unknown", { untilMs: 120_000, now: 0 });
    expect(await redis.client.exists(`${prefix}bucket:unknown`)).toBe(0);
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
