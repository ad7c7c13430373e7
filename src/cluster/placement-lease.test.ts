// The placement lease on a real redis-server (docs/cluster.md, "Placement"): two nodes on their
// own connections, one holder at a time, renewal, release, and takeover once the holder goes quiet.

import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { PlacementLease } from "./placement-lease.js";

const redis = useRedis();

/** Two nodes' leases on one fresh prefix, each on its own connection. */
function twoNodes(ttlMs = 10_000): [PlacementLease, PlacementLease, string] {
  const prefix = redis.prefix();
  return [
    new PlacementLease({ client: redis.client, prefix, nodeId: "node-a", ttlMs }),
    new PlacementLease({ client: redis.connect(), prefix, nodeId: "node-b", ttlMs }),
    prefix,
  ];
}

/** Renews `lease` every 20 ms until it holds the lease; fails after `limitMs`. */
async function renewUntilHeld(lease: PlacementLease, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await lease.renew())) {
    if (Date.now() > deadline) throw new Error(`lease not taken within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("PlacementLease on Redis", () => {
  it("the first renew takes the lease, the other node's renew gets false", async () => {
    const [a, b, prefix] = twoNodes();
    expect(await a.holder()).toBeUndefined();
    expect(await a.renew()).toBe(true);
    expect(await b.renew()).toBe(false);
    expect(await b.holder()).toBe("node-a");
    expect(await redis.client.get(`${prefix}placement-lease`)).toBe("node-a");
  });

  it("of renews racing on two connections exactly one node wins", async () => {
    const [a, b] = twoNodes();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).renew()));
    const winners = new Set(
      results.map((held, i) => (held ? i % 2 : undefined)).filter((w) => w !== undefined),
    );
    expect(winners.size).toBe(1);
    expect(await a.holder()).toBe(winners.has(0) ? "node-a" : "node-b");
  });

  it("the holder's renew keeps the lease and extends its expiry", async () => {
    const [a, b, prefix] = twoNodes(5_000);
    expect(await a.renew()).toBe(true);
    await redis.client.pexpire(`${prefix}placement-lease`, 1_000);
    expect(await a.renew()).toBe(true);
    expect(await redis.client.pttl(`${prefix}placement-lease`)).toBeGreaterThan(4_000);
    expect(await b.renew()).toBe(false);
    expect(await a.holder()).toBe("node-a");
  });

  it("a non-holder's renew does not extend the holder's lease", async () => {
    const [a, b, prefix] = twoNodes(5_000);
    expect(await a.renew()).toBe(true);
    await redis.client.pexpire(`${prefix}placement-lease`, 1_000);
    expect(await b.renew()).toBe(false);
    expect(await redis.client.pttl(`${prefix}placement-lease`)).toBeLessThanOrEqual(1_000);
  });

  it("release by a non-holder changes nothing", async () => {
    const [a, b, prefix] = twoNodes();
    expect(await a.renew()).toBe(true);
    const ttlBefore = await redis.client.pttl(`${prefix}placement-lease`);
    await b.release();
    expect(await a.holder()).toBe("node-a");
    expect(await redis.client.pttl(`${prefix}placement-lease`)).toBeLessThanOrEqual(ttlBefore);
    expect(await redis.client.pttl(`${prefix}placement-lease`)).toBeGreaterThan(0);
    expect(await b.renew()).toBe(false);
    expect(await a.renew()).toBe(true);
  });

  it("release with nobody holding the lease is harmless", async () => {
    const [a] = twoNodes();
    await a.release();
    expect(await a.holder()).toBeUndefined();
  });

  it("release by the holder lets the other node take the lease at its next renew", async () => {
    const [a, b] = twoNodes();
    expect(await a.renew()).toBe(true);
    await a.release();
    expect(await a.holder()).toBeUndefined();
    expect(await b.renew()).toBe(true);
    expect(await a.renew()).toBe(false);
    expect(await a.holder()).toBe("node-b");
  });

  it("once the holder stops renewing, the other node takes over after the ttl", async () => {
    const ttlMs = 200;
    const [a, b] = twoNodes(ttlMs);
    expect(await a.renew()).toBe(true);
    const lastRenewal = Date.now();
    expect(await a.renew()).toBe(true);
    expect(await b.renew()).toBe(false);
    await renewUntilHeld(b, 2_000);
    // The key expires on Redis's clock ttlMs after the last renewal ran (after lastRenewal).
    expect(Date.now() - lastRenewal).toBeGreaterThanOrEqual(ttlMs - 5);
    expect(await a.holder()).toBe("node-b");
    expect(await a.renew()).toBe(false);
  });

  it("a holder that keeps renewing keeps the lease past its ttl", async () => {
    const ttlMs = 400;
    const [a, b] = twoNodes(ttlMs);
    expect(await a.renew()).toBe(true);
    const until = Date.now() + 2 * ttlMs;
    while (Date.now() < until) {
      expect(await a.renew()).toBe(true);
      expect(await b.renew()).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, ttlMs / 10));
    }
    expect(await b.holder()).toBe("node-a");
  });

  it("rejects a ttl that is not a positive number", () => {
    for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(
        () => new PlacementLease({ client: redis.client, prefix: redis.prefix(), nodeId: "n", ttlMs }),
      ).toThrow(RangeError);
  });
});
