// The placement record on a real redis-server (docs/cluster.md, "Placement"): plans written with a
// version check, nodes' replica reports that replace each other and expire, the snapshot's order,
// corrupted keys failing loudly, and the placement channel's notices between two connections.

import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { silentLogger } from "../actor/index.js";
import { redisNoticeChannel } from "./redis-notice-channel.js";
import { RedisPlacementStore, type StoredPlacement } from "./redis-placement-store.js";

const redis = useRedis();

/** Two nodes' stores on one fresh prefix, each on its own connection. */
function twoNodes(): [RedisPlacementStore, RedisPlacementStore, string] {
  const prefix = redis.prefix();
  return [
    new RedisPlacementStore({ client: redis.client, prefix }),
    new RedisPlacementStore({ client: redis.connect(), prefix }),
    prefix,
  ];
}

/** Polls `check` every 20 ms until it passes; fails with its last error after `limitMs`. */
async function eventually(check: () => Promise<void>, limitMs = 2_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

const plan: StoredPlacement[] = [
  { deployment: "llama", index: 1, nodeId: "node-a" },
  { deployment: "chat", index: 0, nodeId: "node-b" },
  { deployment: "llama", index: 0, nodeId: "node-b" },
];
const sortedPlan = [plan[1], plan[2], plan[0]];

describe("RedisPlacementStore plans", () => {
  it("reads version 0 and nothing before the first plan", async () => {
    const [store] = twoNodes();
    expect(await store.snapshot()).toEqual({ version: 0, placements: [], unplaced: [], reports: [] });
  });

  it("a plan written on one connection reads back on another, sorted by deployment and index", async () => {
    const [a, b] = twoNodes();
    expect(await a.writePlan(plan, 0)).toBe(true);
    expect(await b.snapshot()).toEqual({ version: 1, placements: sortedPlan, unplaced: [], reports: [] });
  });

  it("versions increase with every plan written, an empty plan included", async () => {
    const [store] = twoNodes();
    expect(await store.writePlan(plan, 0)).toBe(true);
    expect((await store.snapshot()).version).toBe(1);
    expect(await store.writePlan(plan.slice(1), 1)).toBe(true);
    expect((await store.snapshot()).version).toBe(2);
    expect(await store.writePlan([], 2)).toBe(true);
    expect(await store.snapshot()).toEqual({ version: 3, placements: [], unplaced: [], reports: [] });
  });

  it("a plan from a stale or unknown version is refused and changes nothing", async () => {
    const [a, b] = twoNodes();
    expect(await a.writePlan(plan, 0)).toBe(true);
    expect(await a.writePlan(plan.slice(0, 1), 1)).toBe(true);
    const before = await a.snapshot();
    expect(await b.writePlan([], 0)).toBe(false);
    expect(await b.writePlan([], 1)).toBe(false);
    expect(await b.writePlan([], 3)).toBe(false);
    expect(await a.snapshot()).toEqual(before);
    expect(before).toEqual({ version: 2, placements: [plan[0]], unplaced: [], reports: [] });
  });

  it("of writers racing from one version on two connections exactly one wins", async () => {
    const [a, b] = twoNodes();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).writePlan([{ deployment: "chat", index: 0, nodeId: `node-${i}` }], 0),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(await a.snapshot()).toEqual({
      version: 1,
      placements: [{ deployment: "chat", index: 0, nodeId: `node-${winner}` }],
      unplaced: [],
      reports: [],
    });
  });

  it("keeps the replicas the plan could not place with the plan, sorted, and replaces them with the next", async () => {
    const [a, b] = twoNodes();
    const left = [
      { deployment: "llama", index: 2, reason: "no live node has a free model slot" },
      { deployment: "chat", index: 1, reason: "no live node can read models/x.gguf" },
    ];
    expect(await a.writePlan(plan, 0, left)).toBe(true);
    expect((await b.snapshot()).unplaced).toEqual([left[1], left[0]]);
    expect(await a.writePlan(plan, 1)).toBe(true);
    expect((await b.snapshot()).unplaced).toEqual([]);
    await expect(
      a.writePlan(plan, 2, [{ deployment: "chat", index: 0, reason: 3 as unknown as string }]),
    ).rejects.toThrow(/no reason/);
  });

  it("the plan does not expire", async () => {
    const [store, , prefix] = twoNodes();
    await store.writePlan(plan, 0);
    expect(await redis.client.pttl(`${prefix}placement-plan`)).toBe(-1);
  });

  it("rejects a plan it could not read back before asking Redis", async () => {
    const [store] = twoNodes();
    await expect(store.writePlan(plan, -1)).rejects.toThrow(RangeError);
    await expect(store.writePlan(plan, 1.5)).rejects.toThrow(RangeError);
    await expect(store.writePlan([plan[0]!, { ...plan[0]!, nodeId: "node-c" }], 0)).rejects.toThrow(
      /llama\[1\] twice/,
    );
    await expect(store.writePlan([{ deployment: "chat", index: -1, nodeId: "a" }], 0)).rejects.toThrow(
      /index/,
    );
    await expect(store.writePlan([{ deployment: "", index: 0, nodeId: "a" }], 0)).rejects.toThrow(
      /deployment/,
    );
    await expect(store.writePlan([{ deployment: "chat", index: 0, nodeId: "" }], 0)).rejects.toThrow(
      /nodeId/,
    );
    expect((await store.snapshot()).version).toBe(0);
  });
});

describe("RedisPlacementStore reports", () => {
  it("reports of two nodes read back sorted by deployment, index and node", async () => {
    const [a, b] = twoNodes();
    await a.report(
      "node-b",
      [
        { deployment: "llama", index: 0, state: "ready", reportedAt: 10 },
        { deployment: "chat", index: 1, state: "failed", reason: "out of memory", reportedAt: 11 },
      ],
      10_000,
    );
    await b.report(
      "node-a",
      [
        { deployment: "llama", index: 0, state: "starting", reportedAt: 12 },
        { deployment: "chat", index: 0, state: "ready", reportedAt: 13 },
      ],
      10_000,
    );
    expect((await a.snapshot()).reports).toEqual([
      { deployment: "chat", index: 0, nodeId: "node-a", state: "ready", reportedAt: 13 },
      {
        deployment: "chat",
        index: 1,
        nodeId: "node-b",
        state: "failed",
        reason: "out of memory",
        reportedAt: 11,
      },
      { deployment: "llama", index: 0, nodeId: "node-a", state: "starting", reportedAt: 12 },
      { deployment: "llama", index: 0, nodeId: "node-b", state: "ready", reportedAt: 10 },
    ]);
  });

  it("a node's second report replaces its first, leaving the other node's", async () => {
    const [a, b] = twoNodes();
    await a.report("node-a", [{ deployment: "chat", index: 0, state: "starting", reportedAt: 1 }], 10_000);
    await b.report("node-b", [{ deployment: "chat", index: 1, state: "ready", reportedAt: 2 }], 10_000);
    await a.report("node-a", [{ deployment: "llama", index: 0, state: "ready", reportedAt: 3 }], 10_000);
    expect((await b.snapshot()).reports).toEqual([
      { deployment: "chat", index: 1, nodeId: "node-b", state: "ready", reportedAt: 2 },
      { deployment: "llama", index: 0, nodeId: "node-a", state: "ready", reportedAt: 3 },
    ]);
    await a.report("node-a", [], 10_000);
    expect((await b.snapshot()).reports).toEqual([
      { deployment: "chat", index: 1, nodeId: "node-b", state: "ready", reportedAt: 2 },
    ]);
  });

  it("a node's reports vanish once their ttl passed without a new report", async () => {
    const [a, b, prefix] = twoNodes();
    await a.writePlan(plan, 0);
    await a.report("node-a", [{ deployment: "llama", index: 1, state: "ready", reportedAt: 1 }], 200);
    await b.report("node-b", [{ deployment: "chat", index: 0, state: "ready", reportedAt: 2 }], 60_000);
    expect((await a.snapshot()).reports.map((r) => r.nodeId)).toEqual(["node-b", "node-a"]);
    await eventually(async () => {
      expect((await b.snapshot()).reports.map((r) => r.nodeId)).toEqual(["node-b"]);
    });
    // the expired node leaves the reporter set; the plan stays
    expect(await redis.client.smembers(`${prefix}placement-reporters`)).toEqual(["node-b"]);
    expect((await b.snapshot()).placements).toEqual(sortedPlan);
  });

  it("rejects a report it could not read back before asking Redis", async () => {
    const [store] = twoNodes();
    const ready = { deployment: "chat", index: 0, state: "ready", reportedAt: 1 } as const;
    await expect(store.report("", [ready], 1_000)).rejects.toThrow(RangeError);
    await expect(store.report("node-a", [ready], 0)).rejects.toThrow(RangeError);
    await expect(store.report("node-a", [ready, ready], 1_000)).rejects.toThrow(/chat\[0\] twice/);
    await expect(store.report("node-a", [{ ...ready, state: "running" as "ready" }], 1_000)).rejects.toThrow(
      /state/,
    );
    await expect(store.report("node-a", [{ ...ready, reportedAt: Number.NaN }], 1_000)).rejects.toThrow(
      /reportedAt/,
    );
    expect((await store.snapshot()).reports).toEqual([]);
  });
});

describe("RedisPlacementStore on corrupted keys", () => {
  it("a plan whose placements are not valid JSON fails naming its key", async () => {
    const [store, , prefix] = twoNodes();
    await redis.client.hset(`${prefix}placement-plan`, "version", "1", "placements", "{not json");
    await expect(store.snapshot()).rejects.toThrow(`${prefix}placement-plan`);
  });

  it("a plan with a bad placement fails naming its key", async () => {
    const [store, , prefix] = twoNodes();
    const bad = JSON.stringify([{ deployment: "chat", index: "zero", nodeId: "a" }]);
    await redis.client.hset(`${prefix}placement-plan`, "version", "1", "placements", bad);
    await expect(store.snapshot()).rejects.toThrow(`${prefix}placement-plan`);
  });

  it("a plan with a corrupted version fails naming its key, on read and on write", async () => {
    const [store, , prefix] = twoNodes();
    await redis.client.hset(`${prefix}placement-plan`, "version", "many", "placements", "[]");
    await expect(store.snapshot()).rejects.toThrow(`${prefix}placement-plan`);
    await expect(store.writePlan([], 0)).rejects.toThrow(`${prefix}placement-plan`);
  });

  it("a report with an unknown state fails naming its key", async () => {
    const [store, , prefix] = twoNodes();
    await store.report("node-a", [{ deployment: "chat", index: 0, state: "ready", reportedAt: 1 }], 10_000);
    await redis.client.set(
      `${prefix}placement-report:node-a`,
      JSON.stringify([{ deployment: "chat", index: 0, state: "dancing", reportedAt: 1 }]),
      "PX",
      10_000,
    );
    await expect(store.snapshot()).rejects.toThrow(`${prefix}placement-report:node-a`);
  });
});

describe("redisNoticeChannel (placement)", () => {
  it("delivers a published notice to a node on another connection", async () => {
    const prefix = redis.prefix();
    const publisher = redisNoticeChannel(redis.client, prefix, "placement", silentLogger);
    const listener = redisNoticeChannel(redis.connect(), prefix, "placement", silentLogger);
    const other = redisNoticeChannel(redis.connect(), redis.prefix(), "placement", silentLogger);
    let notices = 0;
    let otherNotices = 0;
    try {
      await listener.subscribe(() => notices++);
      await other.subscribe(() => otherNotices++);
      await publisher.publish();
      await eventually(async () => {
        expect(notices).toBe(1);
      });
      expect(otherNotices).toBe(0);
    } finally {
      await Promise.all([listener.close(), other.close(), publisher.close()]);
    }
  });
});
