// The node's Redis connection across an outage, on a real redis-server that the test kills and
// restarts: a call while Redis is gone rejects promptly instead of hanging, and the same client
// serves again (scripts reloaded) once Redis is back. Also the reconnect backoff as pure numbers.

import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { reconnectDelayMs } from "./redis-connection.js";
import { RedisRateLimitStore } from "./redis-rate-limit-store.js";

const redis = useRedis();

describe("reconnectDelayMs", () => {
  it("doubles from the base delay and stops at the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10].map((attempt) => reconnectDelayMs(attempt))).toEqual([
      50, 100, 200, 400, 800, 1_600, 2_000, 2_000,
    ]);
    expect(reconnectDelayMs(3, 10, 25)).toBe(25);
  });
});

describe("createRedisConnection across an outage", () => {
  it("rejects while Redis is down and serves again after it restarts", async ({ skip }) => {
    if (redis.server.external) skip("REDIS_URL names a server this test cannot kill");
    const client = redis.connect();
    const store = new RedisRateLimitStore({ client, prefix: redis.prefix() });
    const limits = { capacity: 5, refillPerSecond: 0, now: 0, amount: 1 };
    expect((await store.tryAcquire("k", limits)).granted).toBe(true);

    await redis.server.kill();
    const startedAt = Date.now();
    await expect(store.tryAcquire("k", limits)).rejects.toThrow();
    expect(Date.now() - startedAt).toBeLessThan(5_000);

    await redis.server.restart();
    // The restarted server is empty and knows no scripts: EVALSHA falls back to EVAL.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        expect(await store.tryAcquire("k", limits)).toEqual({ granted: true, remaining: 4, retryAfterMs: 0 });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });
});
