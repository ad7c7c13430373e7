// RoutingSync over a shared memory table and an in-memory notice bus (two or three nodes in one
// process), then over a real redis-server with RedisRoutingTable and the pub/sub channel.

import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { type Logger, silentLogger } from "../actor/index.js";
import {
  type LoadReport,
  MemoryRoutingTable,
  type RoutingTable,
  type RoutingTarget,
} from "../core/stores/index.js";
import type { EngineTargetLoad } from "../protocol/target-load.js";
import { flushMicrotasks, ManualClock } from "../testkit/index.js";
import { redisNoticeChannel } from "./redis-notice-channel.js";
import { RedisRoutingTable } from "./redis-routing-table.js";
import { type RoutingChannel, RoutingSync } from "./routing-sync.js";

const redis = useRedis();

/** The notices of one test: every node's channel publishes to every subscriber. */
function noticeBus() {
  const subscribers = new Set<() => void>();
  let published = 0;
  return {
    get published() {
      return published;
    },
    channel(): RoutingChannel {
      let mine: (() => void) | undefined;
      return {
        publish: async () => {
          published++;
          for (const onChange of [...subscribers]) onChange();
        },
        subscribe: async (onChange) => {
          mine = onChange;
          subscribers.add(onChange);
        },
        close: async () => {
          if (mine) subscribers.delete(mine);
        },
      };
    },
  };
}

type Bus = ReturnType<typeof noticeBus>;

/** A node's sync, recording every set of peers it was handed. */
async function node(
  table: RoutingTable,
  bus: Bus,
  nodeId: string,
  clock: ManualClock,
  logger: Logger = silentLogger,
) {
  const handed: RoutingTarget[][] = [];
  const sync = new RoutingSync({
    table,
    channel: bus.channel(),
    nodeId,
    clock,
    logger,
    onPeers: (targets) => handed.push([...targets]),
  });
  await sync.start();
  return { sync, handed, peers: () => handed.at(-1) ?? [] };
}

function local(
  deployment: string,
  targetId: string,
  fields: Partial<EngineTargetLoad> = {},
): EngineTargetLoad {
  return { deployment, targetId, maxConcurrent: 4, running: 0, waiting: 0, draining: false, ...fields };
}

/** The (deployment, targetId, nodeId) of each target, in order. */
const ids = (targets: readonly RoutingTarget[]) =>
  targets.map((t) => `${t.deployment}/${t.targetId}@${t.nodeId}`);

const both = new Set(["node-a", "node-b"]);
const T0 = Date.UTC(2026, 0, 1);

/** A table whose every method rejects while `down`; `inner` can be swapped (Redis restarted empty). */
class FlakyTable implements RoutingTable {
  inner = new MemoryRoutingTable();
  down = false;

  #call<T>(call: () => Promise<T>): Promise<T> {
    return this.down ? Promise.reject(new Error("redis down")) : call();
  }

  register(target: RoutingTarget) {
    return this.#call(() => this.inner.register(target));
  }
  deregister(deployment: string, targetId: string) {
    return this.#call(() => this.inner.deregister(deployment, targetId));
  }
  reportLoad(deployment: string, targetId: string, report: LoadReport) {
    return this.#call(() => this.inner.reportLoad(deployment, targetId, report));
  }
  setDraining(deployment: string, targetId: string, draining: boolean) {
    return this.#call(() => this.inner.setDraining(deployment, targetId, draining));
  }
  list(deployment: string) {
    return this.#call(() => this.inner.list(deployment));
  }
  deployments() {
    return this.#call(() => this.inner.deployments());
  }
  removeStale(olderThan: number) {
    return this.#call(() => this.inner.removeStale(olderThan));
  }
  removeNode(nodeId: string) {
    return this.#call(() => this.inner.removeNode(nodeId));
  }
}

function recordingLogger() {
  const debug: Array<{ object: object; message: string }> = [];
  const logger: Logger = { ...silentLogger, debug: (object, message) => debug.push({ object, message }) };
  return { logger, debug };
}

describe("RoutingSync", () => {
  it("a node's synced targets reach the other node with their load, at its refresh and on the notice", async () => {
    const table = new MemoryRoutingTable();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const a = await node(table, bus, "node-a", clock);
    const b = await node(table, bus, "node-b", clock);
    await a.sync.sync([local("chat", "t1", { running: 2, waiting: 1 }), local("chat", "t2")], both);
    expect(bus.published).toBe(1);
    await flushMicrotasks();
    expect(b.peers()).toEqual([
      {
        deployment: "chat",
        targetId: "t1",
        nodeId: "node-a",
        maxConcurrent: 4,
        running: 2,
        waiting: 1,
        draining: false,
        reportedAt: T0,
      },
      { ...b.peers()[1], targetId: "t2", running: 0, waiting: 0 },
    ]);
    expect(ids(b.peers())).toEqual(["chat/t1@node-a", "chat/t2@node-a"]);
    const seen = b.handed.length;
    await b.sync.refresh();
    expect(b.handed).toHaveLength(seen + 1);
    expect(ids(b.peers())).toEqual(["chat/t1@node-a", "chat/t2@node-a"]);
  });

  it("a changed load is in the table after the next sync, without a notice", async () => {
    const table = new MemoryRoutingTable();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const a = await node(table, bus, "node-a", clock);
    const b = await node(table, bus, "node-b", clock);
    await a.sync.sync([local("chat", "t1")], both);
    await clock.advance(1_000);
    await a.sync.sync([local("chat", "t1", { running: 3, waiting: 5 })], both);
    expect(bus.published).toBe(1);
    await b.sync.refresh();
    expect(b.peers()).toMatchObject([{ targetId: "t1", running: 3, waiting: 5, reportedAt: T0 + 1_000 }]);
  });

  it("a target gone here is deregistered, and the notice drops it from the peer's copy", async () => {
    const table = new MemoryRoutingTable();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const a = await node(table, bus, "node-a", clock);
    const b = await node(table, bus, "node-b", clock);
    await a.sync.sync([local("chat", "t1"), local("chat", "t2")], both);
    await flushMicrotasks();
    expect(ids(b.peers())).toEqual(["chat/t1@node-a", "chat/t2@node-a"]);
    await a.sync.sync([local("chat", "t2")], both);
    expect(bus.published).toBe(2);
    await flushMicrotasks();
    expect(ids(b.peers())).toEqual(["chat/t2@node-a"]);
    expect(ids(await table.list("chat"))).toEqual(["chat/t2@node-a"]);
  });

  it("a draining flag reaches the peer on the notice, and so does its clearing", async () => {
    const table = new MemoryRoutingTable();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const a = await node(table, bus, "node-a", clock);
    const b = await node(table, bus, "node-b", clock);
    await a.sync.sync([local("chat", "t1")], both);
    await a.sync.sync([local("chat", "t1", { draining: true, running: 1 })], both);
    expect(bus.published).toBe(2);
    await flushMicrotasks();
    expect(b.peers()).toMatchObject([{ targetId: "t1", draining: true, running: 1 }]);
    await a.sync.sync([local("chat", "t1", { draining: false })], both);
    expect(bus.published).toBe(3);
    await flushMicrotasks();
    expect(b.peers()).toMatchObject([{ targetId: "t1", draining: false }]);
  });

  it("a changed maxConcurrent registers the target again, keeping its place", async () => {
    const table = new MemoryRoutingTable();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const a = await node(table, bus, "node-a", clock);
    const b = await node(table, bus, "node-b", clock);
    await a.sync.sync([local("chat", "t1"), local("chat", "t2")], both);
    await a.sync.sync([local("chat", "t1", { maxConcurrent: 8 }), local("chat", "t2")], both);
    expect(bus.published).toBe(2);
    await flushMicrotasks();
    expect(b.peers().map((t) => [t.targetId, t.maxConcurrent])).toEqual([
      ["t1", 8],
      ["t2", 4],
    ]);
  });

  it("hands over only other nodes' targets, by deployment name, then registration order", async () => {
    const table = new MemoryRoutingTable();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const a = await node(table, bus, "node-a", clock);
    const b = await node(table, bus, "node-b", clock);
    await b.sync.sync([local("zeta", "b1"), local("alpha", "b2"), local("alpha", "b1")], both);
    await a.sync.sync([local("alpha", "a1")], both);
    await flushMicrotasks();
    expect(ids(a.peers())).toEqual(["alpha/b2@node-b", "alpha/b1@node-b", "zeta/b1@node-b"]);
    expect(ids(b.peers())).toEqual(["alpha/a1@node-a"]);
    expect(a.handed.flat().some((t) => t.nodeId === "node-a")).toBe(false);
    expect(b.handed.flat().some((t) => t.nodeId === "node-b")).toBe(false);
  });

  it("before its first sync a node hands over every other node's targets as read", async () => {
    const table = new MemoryRoutingTable();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const a = await node(table, bus, "node-a", clock);
    const c = await node(table, bus, "node-c", clock);
    const b = await node(table, bus, "node-b", clock);
    await a.sync.sync([local("chat", "a1")], both);
    await c.sync.sync([local("chat", "c1")], new Set(["node-a", "node-b", "node-c"]));
    await b.sync.refresh();
    expect(ids(b.peers())).toEqual(["chat/a1@node-a", "chat/c1@node-c"]);
  });

  it("a node missing from the live set loses its targets from the table and is never handed over", async () => {
    const table = new MemoryRoutingTable();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const all = new Set(["node-a", "node-b", "node-c"]);
    const a = await node(table, bus, "node-a", clock);
    const b = await node(table, bus, "node-b", clock);
    const c = await node(table, bus, "node-c", clock);
    await a.sync.sync([local("chat", "a1")], both);
    // node-c joined after node-a's last heartbeat: its notice's refresh leaves its targets in the table
    await c.sync.sync([local("chat", "c1")], all);
    await flushMicrotasks();
    expect(ids(a.peers())).toEqual([]);
    expect(ids(await table.list("chat"))).toEqual(["chat/a1@node-a", "chat/c1@node-c"]);
    // node-b's heartbeat no longer sees node-c: its sync removes node-c's targets
    const fromSync = b.handed.length;
    await b.sync.sync([], both);
    expect(ids(b.peers())).toEqual(["chat/a1@node-a"]);
    expect(ids(await table.list("chat"))).toEqual(["chat/a1@node-a"]);
    expect(a.handed.flat().some((t) => t.nodeId === "node-c")).toBe(false);
    expect(
      b.handed
        .slice(fromSync)
        .flat()
        .some((t) => t.nodeId === "node-c"),
    ).toBe(false);
    // node-c, alive after all, registers its targets again at its next sync (its report was refused)
    await c.sync.sync([local("chat", "c1", { running: 1 })], all);
    expect(await table.list("chat")).toMatchObject([{ targetId: "a1" }, { targetId: "c1", running: 1 }]);
    await b.sync.sync([], all);
    expect(ids(b.peers())).toEqual(["chat/a1@node-a", "chat/c1@node-c"]);
  });

  it("a first sync before membership read the live nodes (undefined) judges nobody dead", async () => {
    const table = new MemoryRoutingTable();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const a = await node(table, bus, "node-a", clock);
    const b = await node(table, bus, "node-b", clock);
    await a.sync.sync([local("chat", "a1")], both);
    // node-b just started: its first heartbeat has not returned the node list yet
    await b.sync.sync([local("chat", "b1")], undefined);
    expect(ids(await table.list("chat"))).toEqual(["chat/a1@node-a", "chat/b1@node-b"]);
    expect(ids(b.peers())).toEqual(["chat/a1@node-a"]);
  });

  it("on store failures sync and refresh resolve, keep the last copy, log once, and write it all later", async () => {
    const table = new FlakyTable();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const { logger, debug } = recordingLogger();
    const a = await node(table, bus, "node-a", clock, logger);
    const b = await node(table, bus, "node-b", clock);
    await b.sync.sync([local("chat", "b1")], both);
    await a.sync.sync([local("chat", "a1"), local("chat", "a2")], both);
    await flushMicrotasks();
    const copy = a.peers();
    expect(ids(copy)).toEqual(["chat/b1@node-b"]);

    table.down = true;
    await clock.advance(1_000);
    await expect(a.sync.sync([local("chat", "a1", { running: 7 }), local("chat", "a3")], both)).resolves.toBe(
      undefined,
    );
    await expect(a.sync.refresh()).resolves.toBe(undefined);
    await a.sync.sync([local("chat", "a1", { running: 7 }), local("chat", "a3")], both);
    await b.sync.refresh();
    expect(a.peers()).toEqual(copy);
    expect(ids(b.peers())).toEqual(["chat/a1@node-a", "chat/a2@node-a"]);
    const failures = debug.filter((entry) => JSON.stringify(entry.object).includes("redis down"));
    expect(failures).toHaveLength(1);

    // back with its data: the target added meanwhile is registered, the vanished one deregistered
    table.down = false;
    await a.sync.sync([local("chat", "a1", { running: 7 }), local("chat", "a3")], both);
    await flushMicrotasks();
    expect(await table.list("chat")).toMatchObject([
      { targetId: "b1" },
      { targetId: "a1", running: 7, reportedAt: T0 + 1_000 },
      { targetId: "a3" },
    ]);
    expect(ids(b.peers())).toEqual(["chat/a1@node-a", "chat/a3@node-a"]);

    // back empty (Redis restarted): the next sync registers every target again
    table.down = true;
    await a.sync.sync([local("chat", "a1"), local("chat", "a3")], both);
    expect(debug.filter((entry) => JSON.stringify(entry.object).includes("redis down"))).toHaveLength(2);
    table.inner = new MemoryRoutingTable();
    table.down = false;
    await a.sync.sync([local("chat", "a1"), local("chat", "a3", { waiting: 2 })], both);
    expect(ids(await table.list("chat"))).toEqual(["chat/a1@node-a", "chat/a3@node-a"]);
    expect((await table.list("chat"))[1]).toMatchObject({ waiting: 2 });
  });

  it("a table down from the start: nothing handed over, everything registered once it answers", async () => {
    const table = new FlakyTable();
    table.down = true;
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const a = await node(table, bus, "node-a", clock);
    const b = await node(table, bus, "node-b", clock);
    await a.sync.sync([local("chat", "a1"), local("embed", "a1")], both);
    await b.sync.refresh();
    expect(b.peers()).toEqual([]);
    table.down = false;
    await a.sync.sync([local("chat", "a1"), local("embed", "a1")], both);
    await flushMicrotasks();
    expect(ids(b.peers())).toEqual(["chat/a1@node-a", "embed/a1@node-a"]);
  });

  it("notices while a read is in flight coalesce into one more read", async () => {
    let reads = 0;
    let release = () => {};
    let gate: Promise<void> | undefined = new Promise<void>((resolve) => {
      release = resolve;
    });
    const table = new (class extends MemoryRoutingTable {
      override async deployments(): Promise<string[]> {
        reads++;
        await gate;
        return super.deployments();
      }
    })();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const b = await node(table, bus, "node-b", clock);
    const notifier = bus.channel();
    for (let i = 0; i < 5; i++) await notifier.publish();
    await flushMicrotasks();
    expect(reads).toBe(1);
    const refreshed = b.sync.refresh();
    gate = undefined;
    release();
    await refreshed;
    await flushMicrotasks();
    expect(reads).toBe(2);
    expect(b.handed).toHaveLength(2);
  });

  it("stop deregisters this node's targets, tells the peers, unsubscribes, and is safe twice", async () => {
    const table = new MemoryRoutingTable();
    const bus = noticeBus();
    const clock = new ManualClock(T0);
    const a = await node(table, bus, "node-a", clock);
    const b = await node(table, bus, "node-b", clock);
    await a.sync.sync([local("chat", "a1"), local("chat", "a2")], both);
    await flushMicrotasks();
    expect(ids(b.peers())).toHaveLength(2);
    await Promise.all([a.sync.stop(), a.sync.stop()]);
    await a.sync.stop();
    await flushMicrotasks();
    expect(await table.deployments()).toEqual([]);
    expect(b.peers()).toEqual([]);
    const handedToA = a.handed.length;
    await a.sync.sync([local("chat", "a1")], both);
    await b.sync.sync([local("chat", "b1")], both);
    await flushMicrotasks();
    expect(ids(await table.list("chat"))).toEqual(["chat/b1@node-b"]);
    expect(a.handed).toHaveLength(handedToA);
  });
});

describe("RoutingSync on Redis", () => {
  it("node-b's copy follows node-a's syncs through the pub/sub notice alone", async () => {
    const prefix = redis.prefix();
    const clientA = redis.client;
    const clientB = redis.connect();
    const clock = { now: () => T0 };
    const handed: RoutingTarget[][] = [];
    const a = new RoutingSync({
      table: new RedisRoutingTable({ client: clientA, prefix }),
      channel: redisNoticeChannel(clientA, prefix, "routing", silentLogger),
      nodeId: "node-a",
      clock,
      logger: silentLogger,
      onPeers: () => {},
    });
    const b = new RoutingSync({
      table: new RedisRoutingTable({ client: clientB, prefix }),
      channel: redisNoticeChannel(clientB, prefix, "routing", silentLogger),
      nodeId: "node-b",
      clock,
      logger: silentLogger,
      onPeers: (targets) => handed.push([...targets]),
    });
    await a.start();
    await b.start();
    /** Waits (at most ~2 s) for pub/sub to deliver and node-b to re-read. */
    const handedSoon = async (expected: string[]) => {
      for (let i = 0; i < 200 && JSON.stringify(ids(handed.at(-1) ?? [])) !== JSON.stringify(expected); i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(ids(handed.at(-1) ?? [])).toEqual(expected);
    };
    try {
      await a.sync([local("chat", "t1", { running: 2, waiting: 3 }), local("chat", "t2")], both);
      await handedSoon(["chat/t1@node-a", "chat/t2@node-a"]);
      expect(handed.at(-1)?.[0]).toEqual({
        deployment: "chat",
        targetId: "t1",
        nodeId: "node-a",
        maxConcurrent: 4,
        running: 2,
        waiting: 3,
        draining: false,
        reportedAt: T0,
      });
      await a.sync([local("chat", "t2", { draining: true })], both);
      await handedSoon(["chat/t2@node-a"]);
      expect(handed.at(-1)?.[0]?.draining).toBe(true);
      await a.stop();
      await handedSoon([]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
