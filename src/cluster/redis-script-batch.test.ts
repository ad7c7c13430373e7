// The script batcher on a real redis-server: the calls of one turn, and those made while a batch
// is in flight, leave as one EVALSHA each; every caller gets its own reply or its own error, in
// the order the calls were made; a server that forgot the script gets it whole.

import { describe, expect, it, vi } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { ScriptBatcher } from "./redis-script-batch.js";
import { registerScript } from "./redis-scripts.js";

const redis = useRedis();

const incr = { name: "testIncr", lua: "return redis.call('INCR', KEYS[1])" };
const echo = { name: "testEcho", lua: "return {ARGV[1], ARGV[2] or false, #KEYS}" };

/** A fresh connection and batcher, with the EVALSHA calls it sends counted. */
function setUp() {
  const client = redis.connect();
  const batcher = new ScriptBatcher(client);
  const sent = vi.spyOn(client, "evalsha");
  return { client, batcher, sent, prefix: redis.prefix() };
}

describe("ScriptBatcher", () => {
  it("sends the calls of one turn as one command and answers each caller in call order", async () => {
    const { batcher, sent, prefix } = setUp();
    const increment = batcher.register(incr);
    const echoed = batcher.register(echo);
    const replies = await Promise.all([
      increment([`${prefix}n`], []),
      echoed([`${prefix}a`, `${prefix}b`], ["x", "y"]),
      increment([`${prefix}n`], []),
      echoed([], ["only"]),
      increment([`${prefix}n`], []),
    ]);
    expect(replies).toEqual([1, ["x", "y", 2], 2, ["only", null, 0], 3]);
    expect(sent).toHaveBeenCalledTimes(1);
  });

  it("sends a lone call at the end of its turn, without waiting for company", async () => {
    const { batcher, sent, prefix } = setUp();
    const increment = batcher.register(incr);
    expect(await increment([`${prefix}n`], [])).toBe(1);
    expect(await increment([`${prefix}n`], [])).toBe(2);
    expect(sent).toHaveBeenCalledTimes(2);
  });

  it("gathers the calls made while a batch is in flight into the next one", async () => {
    const { batcher, sent, prefix } = setUp();
    const increment = batcher.register(incr);
    const first = increment([`${prefix}n`], []);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toHaveBeenCalledTimes(1);
    const later: Array<Promise<unknown>> = [];
    for (let i = 0; i < 5; i++) {
      later.push(increment([`${prefix}n`], []));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3, 4, 5, 6]);
    // the five later calls were made in five turns, but left together behind the first
    expect(sent.mock.calls.length).toBeLessThan(6);
  });

  it("while the node is busy, calls made over several turns wait for company and leave together", async () => {
    const { batcher, sent, prefix } = setUp();
    // a long hold, so the four turns below surely fall within it on a loaded machine
    batcher.holdWhen(() => true, 500);
    const increment = batcher.register(incr);
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < 4; i++) {
      calls.push(increment([`${prefix}n`], []));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(sent).toHaveBeenCalledTimes(0);
    expect(await Promise.all(calls)).toEqual([1, 2, 3, 4]);
    expect(sent).toHaveBeenCalledTimes(1);
  });

  it("fails only the call whose script failed", async () => {
    const { client, batcher, prefix } = setUp();
    await client.hset(`${prefix}hash`, "field", "1");
    const increment = batcher.register(incr);
    const results = await Promise.allSettled([
      increment([`${prefix}n`], []),
      increment([`${prefix}hash`], []),
      increment([`${prefix}n`], []),
    ]);
    expect(results[0]).toEqual({ status: "fulfilled", value: 1 });
    expect(results[1]!.status).toBe("rejected");
    expect(String((results[1] as PromiseRejectedResult).reason.message)).toMatch(/WRONGTYPE/);
    expect(results[2]).toEqual({ status: "fulfilled", value: 2 });
  });

  it("sends the whole script once when the server has forgotten it", async () => {
    const { client, batcher, prefix } = setUp();
    const increment = batcher.register(incr);
    expect(await increment([`${prefix}n`], [])).toBe(1);
    await client.script("FLUSH");
    const evaluated = vi.spyOn(client, "eval");
    expect(await increment([`${prefix}n`], [])).toBe(2);
    expect(evaluated).toHaveBeenCalledTimes(1);
    expect(await increment([`${prefix}n`], [])).toBe(3);
    expect(evaluated).toHaveBeenCalledTimes(1);
  });

  it("rebuilds its script when a store registers one after the first batch", async () => {
    const { batcher, prefix } = setUp();
    const increment = batcher.register(incr);
    expect(await increment([`${prefix}n`], [])).toBe(1);
    const echoed = batcher.register(echo);
    expect(await echoed([], ["late"])).toEqual(["late", null, 0]);
    expect(batcher.register(incr)).toBeTypeOf("function");
    expect(() => batcher.register({ name: "testIncr", lua: "return 0" })).toThrow(
      "Redis script testIncr is registered twice with different Lua",
    );
  });

  it("rejects every call of a batch that cannot reach Redis", async () => {
    const { client, batcher, prefix } = setUp();
    const increment = batcher.register(incr);
    client.disconnect();
    const results = await Promise.allSettled([increment([`${prefix}n`], []), increment([`${prefix}n`], [])]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
  });
});

describe("registerScript", () => {
  it("refuses a call with the wrong number of keys before Redis is asked", async () => {
    const client = redis.connect();
    const call = registerScript(client, { ...incr, name: "testIncrChecked", numberOfKeys: 1 });
    await expect(call([], [])).rejects.toThrow("testIncrChecked takes 1 keys, got 0");
    expect(await call([`${redis.prefix()}n`], [])).toBe(1);
  });
});
