// Runs the ResponseStore contract against RedisResponseStore on a real redis-server, plus what only
// a shared store can get wrong: records written on one node read on another, Redis's own expiry of
// each key, and ownership decided inside Redis.

import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { responseStoreContract, sampleResponse } from "../core/stores/response-store.contract.js";
import { RedisResponseStore } from "./redis-response-store.js";

const redis = useRedis();

responseStoreContract(
  "RedisResponseStore",
  () => new RedisResponseStore({ client: redis.client, prefix: redis.prefix() }),
);

const T0 = Date.UTC(2026, 11, 2, 10, 0);

describe("RedisResponseStore on Redis", () => {
  it("a record written on one node is read and deleted on another", async () => {
    const prefix = redis.prefix();
    const nodeA = new RedisResponseStore({ client: redis.client, prefix });
    const nodeB = new RedisResponseStore({ client: redis.connect(), prefix });
    await nodeA.put(sampleResponse("resp_x", "client-1"), 60_000, T0);
    expect(await nodeB.get("resp_x", "client-1", T0)).toEqual(sampleResponse("resp_x", "client-1"));
    expect(await nodeB.delete("resp_x", "client-1", T0)).toBe(true);
    expect(await nodeA.get("resp_x", "client-1", T0)).toBeUndefined();
  });

  it("each response is one key that Redis expires after the TTL", async () => {
    const prefix = redis.prefix();
    const store = new RedisResponseStore({ client: redis.client, prefix });
    await store.put(sampleResponse("resp_ttl", "c"), 90_000, T0);
    const ttl = await redis.client.pttl(`${prefix}response:resp_ttl`);
    expect(ttl).toBeGreaterThan(89_000);
    expect(ttl).toBeLessThanOrEqual(90_000);
    expect((await redis.client.keys(`${prefix}response:*`)).sort()).toEqual([`${prefix}response:resp_ttl`]);
  });

  it("past maxStored the records that expire first are dropped, their keys too", async () => {
    const prefix = redis.prefix();
    const store = new RedisResponseStore({ client: redis.client, prefix, maxStored: 2 });
    await store.put(sampleResponse("resp_1", "c"), 60_000, T0);
    await store.put(sampleResponse("resp_2", "c"), 60_000, T0 + 1);
    await store.put(sampleResponse("resp_3", "c"), 60_000, T0 + 2);
    expect(await store.get("resp_1", "c", T0 + 3)).toBeUndefined();
    expect(await redis.client.exists(`${prefix}response:resp_1`)).toBe(0);
    expect((await store.get("resp_2", "c", T0 + 3))?.id).toBe("resp_2");
    expect((await store.get("resp_3", "c", T0 + 3))?.id).toBe("resp_3");
    expect(await redis.client.zcard(`${prefix}response-index`)).toBe(2);
    // a record that expired takes no room: it leaves the index on the next put
    await store.put(sampleResponse("resp_4", "c"), 60_000, T0 + 60_002);
    expect(await redis.client.zrange(`${prefix}response-index`, "0", "-1")).toEqual([
      `${prefix}response:resp_4`,
    ]);
  });

  it("another client's get or delete changes nothing in Redis", async () => {
    const prefix = redis.prefix();
    const store = new RedisResponseStore({ client: redis.client, prefix });
    await store.put(sampleResponse("resp_own", "owner"), 60_000, T0);
    expect(await store.delete("resp_own", "intruder", T0)).toBe(false);
    expect(await redis.client.exists(`${prefix}response:resp_own`)).toBe(1);
    expect(await redis.client.hget(`${prefix}response:resp_own`, "owner")).toBe("owner");
  });

  it("a key that is not a stored response fails loudly", async () => {
    const prefix = redis.prefix();
    const store = new RedisResponseStore({ client: redis.client, prefix });
    await redis.client.hset(`${prefix}response:resp_bad`, {
      owner: "c",
      expires: String(T0 + 60_000),
      record: '{"id":"resp_other"}',
    });
    await expect(store.get("resp_bad", "c", T0)).rejects.toBeInstanceOf(TypeError);
  });
});
