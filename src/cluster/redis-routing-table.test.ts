// Runs the RoutingTable contract against RedisRoutingTable on a real redis-server, plus what only a
// shared table can get wrong: two nodes registering at once, key spelling, expiry of idle targets.

import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import type { RoutingTarget } from "../core/stores/index.js";
import { routingTableContract } from "../core/stores/routing-table.contract.js";
import { RedisRoutingTable } from "./redis-routing-table.js";

const redis = useRedis();

routingTableContract(
  "RedisRoutingTable",
  () => new RedisRoutingTable({ client: redis.client, prefix: redis.prefix() }),
);

const target = (deployment: string, targetId: string, nodeId = "node-a"): RoutingTarget => ({
  deployment,
  targetId,
  nodeId,
  maxConcurrent: 8,
  running: 0,
  waiting: 0,
  draining: false,
  reportedAt: 1_000,
});

describe("RedisRoutingTable on Redis", () => {
  it("targets registered from two nodes at once are all listed, each once", async () => {
    const prefix = redis.prefix();
    const nodeA = new RedisRoutingTable({ client: redis.client, prefix });
    const nodeB = new RedisRoutingTable({ client: redis.connect(), prefix });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? nodeA.register(target("chat", `a${i}`, "node-a"))
          : nodeB.register(target("chat", `b${i}`, "node-b")),
      ),
    );
    const listed = await nodeA.list("chat");
    expect(listed).toHaveLength(20);
    expect(await nodeB.list("chat")).toEqual(listed);
    expect((await nodeB.removeNode("node-a")).map((t) => t.targetId).sort()).toEqual(
      listed
        .filter((t) => t.nodeId === "node-a")
        .map((t) => t.targetId)
        .sort(),
    );
  });

  it("deployment and target names that share a spelling stay apart", async () => {
    const table = new RedisRoutingTable({ client: redis.client, prefix: redis.prefix() });
    await table.register(target("a:b", "c"));
    await table.register(target("a", "b:c"));
    await table.register(target("é", "x"));
    expect((await table.list("a:b")).map((t) => t.targetId)).toEqual(["c"]);
    expect((await table.list("a")).map((t) => t.targetId)).toEqual(["b:c"]);
    expect(await table.deregister("a", "b:c")).toBe(true);
    expect((await table.list("a:b")).map((t) => t.targetId)).toEqual(["c"]);
    expect(await table.deployments()).toEqual(["a:b", "é"]);
  });

  it("fractional load and times read back exactly", async () => {
    const table = new RedisRoutingTable({ client: redis.client, prefix: redis.prefix() });
    await table.register({ ...target("chat", "e1"), reportedAt: 1_712_345_678_901.123 });
    expect((await table.list("chat"))[0]?.reportedAt).toBe(1_712_345_678_901.123);
    expect(await table.removeStale(1_712_345_678_901.123)).toEqual([]);
    expect(await table.removeStale(1_712_345_678_901.124)).toHaveLength(1);
  });

  it("a target whose keys expired is gone from list and deployments", async () => {
    const prefix = redis.prefix();
    const table = new RedisRoutingTable({ client: redis.client, prefix, targetTtlMs: 60_000 });
    await table.register(target("chat", "e1"));
    await table.register(target("chat", "e2"));
    const key = `${prefix}route:4:chat:e1`;
    const ttl = await redis.client.pttl(key);
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await redis.client.del(key);
    expect((await table.list("chat")).map((t) => t.targetId)).toEqual(["e2"]);
    expect(await table.deregister("chat", "e1")).toBe(false);
    await redis.client.del(`${prefix}route:4:chat:e2`);
    expect(await table.deployments()).toEqual([]);
  });
});
