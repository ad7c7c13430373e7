// Runs the CircuitStateStore contract against RedisCircuitStateStore on a real redis-server, plus
// what only a shared store can get wrong: updates from two nodes racing, expiry of idle circuits.

import { describe, expect, it, vi } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { circuitStateStoreContract } from "../core/stores/circuit-state-store.contract.js";
import { type CircuitRecord, closedCircuit } from "../core/stores/index.js";
import { StoreConflictError } from "./errors.js";
import { RedisCircuitStateStore } from "./redis-circuit-state-store.js";

const redis = useRedis();

circuitStateStoreContract(
  "RedisCircuitStateStore",
  () => new RedisCircuitStateStore({ client: redis.client, prefix: redis.prefix() }),
);

const countFailure = (current: CircuitRecord): CircuitRecord => ({
  ...current,
  consecutiveFailures: current.consecutiveFailures + 1,
});

describe("RedisCircuitStateStore on Redis", () => {
  it("checks that change nothing run side by side: sixteen concurrent ones share one Redis command", async () => {
    const client = redis.connect();
    const store = new RedisCircuitStateStore({ client, prefix: redis.prefix() });
    await store.update("e1", countFailure);
    const sent = vi.spyOn(client, "evalsha");
    const checks = await Promise.all(
      Array.from({ length: 16 }, () => store.update("e1", (current) => current)),
    );
    expect(checks.every((record) => record.consecutiveFailures === 1)).toBe(true);
    expect(sent).toHaveBeenCalledTimes(1);
  });

  it("a write that follows concurrent checks still lands once, in the endpoint's queue", async () => {
    const store = new RedisCircuitStateStore({ client: redis.client, prefix: redis.prefix() });
    await Promise.all([
      store.update("e1", (current) => current),
      store.update("e1", countFailure),
      store.update("e1", (current) => current),
      store.update("e1", countFailure),
    ]);
    expect((await store.get("e1")).consecutiveFailures).toBe(2);
  });

  it("updates racing from two connections are each applied once", async () => {
    const prefix = redis.prefix();
    const nodeA = new RedisCircuitStateStore({ client: redis.client, prefix });
    const nodeB = new RedisCircuitStateStore({ client: redis.connect(), prefix });
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? nodeA : nodeB).update("e1", countFailure)),
    );
    expect((await nodeA.get("e1")).consecutiveFailures).toBe(60);
  });

  it("a decision that loses the compare-and-set is made again from the other writer's record", async () => {
    const prefix = redis.prefix();
    const store = new RedisCircuitStateStore({ client: redis.client, prefix });
    // A second store on the same connection: its write is sent after our read and before our
    // compare-and-set, so it always lands in between (one connection is first in, first out).
    const otherNode = new RedisCircuitStateStore({ client: redis.client, prefix });
    const seen: number[] = [];
    const result = await store.update("e1", (current) => {
      seen.push(current.consecutiveFailures);
      if (seen.length === 1) void otherNode.set("e1", { ...closedCircuit(), consecutiveFailures: 10 });
      return countFailure(current);
    });
    expect(seen).toEqual([0, 10]);
    expect(result.consecutiveFailures).toBe(11);
    expect(await store.get("e1")).toEqual(result);
  });

  it("gives up with a StoreConflictError after maxAttempts lost compare-and-sets", async () => {
    const prefix = redis.prefix();
    const store = new RedisCircuitStateStore({ client: redis.client, prefix, maxAttempts: 3 });
    const otherNode = new RedisCircuitStateStore({ client: redis.client, prefix });
    let calls = 0;
    const error = await store
      .update("e1", (current) => {
        calls++;
        void otherNode.set("e1", { ...current, consecutiveFailures: current.consecutiveFailures + 100 });
        return countFailure(current);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreConflictError);
    expect(calls).toBe(3);
    expect((await store.get("e1")).consecutiveFailures).toBe(300);
  });

  it("an idle circuit expires and a forced one does not", async () => {
    const prefix = redis.prefix();
    const store = new RedisCircuitStateStore({ client: redis.client, prefix, idleTtlMs: 60_000 });
    await store.update("auto", countFailure);
    await store.set("forced", { ...closedCircuit(), state: "open", forced: "open" });
    const autoTtl = await redis.client.pttl(`${prefix}circuit:auto`);
    expect(autoTtl).toBeGreaterThan(59_000);
    expect(autoTtl).toBeLessThanOrEqual(60_000);
    expect(await redis.client.pttl(`${prefix}circuit:forced`)).toBe(-1);
    await store.set("forced", closedCircuit());
    expect(await redis.client.pttl(`${prefix}circuit:forced`)).toBeGreaterThan(59_000);
  });

  it("list skips and forgets circuits that expired", async () => {
    const prefix = redis.prefix();
    const store = new RedisCircuitStateStore({ client: redis.client, prefix });
    await store.update("e1", countFailure);
    await store.update("e2", countFailure);
    await redis.client.del(`${prefix}circuit:e1`);
    expect((await store.list()).map(([endpoint]) => endpoint)).toEqual(["e2"]);
    expect(await redis.client.smembers(`${prefix}circuits`)).toEqual(["e2"]);
  });
});
