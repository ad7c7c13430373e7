// The behaviour every RoutingTable must have, as one vitest suite each implementation runs:
// memory-routing-table.test.ts today, the Redis routing table with the cluster work.
// Call it with a factory that returns a fresh, empty table for each test.

import { describe, expect, it } from "vitest";
import type { RoutingTable, RoutingTarget } from "./routing-table.js";

function target(overrides: Partial<RoutingTarget> & Pick<RoutingTarget, "targetId">): RoutingTarget {
  return {
    deployment: "chat",
    nodeId: "node-a",
    maxConcurrent: 8,
    running: 0,
    waiting: 0,
    draining: false,
    reportedAt: 1_000,
    ...overrides,
  };
}

const ids = (targets: RoutingTarget[]): string[] => targets.map((t) => `${t.deployment}/${t.targetId}`);

export function routingTableContract(name: string, create: () => Promise<RoutingTable> | RoutingTable): void {
  describe(`${name} (RoutingTable contract)`, () => {
    it("lists nothing for a deployment that was never registered", async () => {
      const table = await create();
      expect(await table.list("chat")).toEqual([]);
      expect(await table.deployments()).toEqual([]);
    });

    it("lists registered targets with every field as registered", async () => {
      const table = await create();
      const registered = target({
        targetId: "e1",
        nodeId: "node-b",
        maxConcurrent: 4,
        running: 2,
        waiting: 1,
      });
      await table.register(registered);
      expect(await table.list("chat")).toEqual([registered]);
    });

    it("lists targets in registration order", async () => {
      const table = await create();
      for (const targetId of ["e3", "e1", "e2"]) await table.register(target({ targetId }));
      expect((await table.list("chat")).map((t) => t.targetId)).toEqual(["e3", "e1", "e2"]);
    });

    it("re-registering a target replaces its fields and keeps its place", async () => {
      const table = await create();
      await table.register(target({ targetId: "e1" }));
      await table.register(target({ targetId: "e2" }));
      await table.register(target({ targetId: "e1", maxConcurrent: 16, nodeId: "node-b" }));
      const listed = await table.list("chat");
      expect(listed.map((t) => t.targetId)).toEqual(["e1", "e2"]);
      expect(listed[0]).toMatchObject({ maxConcurrent: 16, nodeId: "node-b" });
    });

    it("a target registered again after deregistration goes to the end", async () => {
      const table = await create();
      await table.register(target({ targetId: "e1" }));
      await table.register(target({ targetId: "e2" }));
      await table.deregister("chat", "e1");
      await table.register(target({ targetId: "e1" }));
      expect((await table.list("chat")).map((t) => t.targetId)).toEqual(["e2", "e1"]);
    });

    it("keeps deployments apart", async () => {
      const table = await create();
      await table.register(target({ deployment: "chat", targetId: "e1" }));
      await table.register(target({ deployment: "embed", targetId: "e1", maxConcurrent: 2 }));
      expect(ids(await table.list("chat"))).toEqual(["chat/e1"]);
      expect(await table.list("embed")).toEqual([
        target({ deployment: "embed", targetId: "e1", maxConcurrent: 2 }),
      ]);
    });

    it("lists deployments that have targets, sorted by name", async () => {
      const table = await create();
      await table.register(target({ deployment: "zeta", targetId: "e1" }));
      await table.register(target({ deployment: "alpha", targetId: "e1" }));
      await table.register(target({ deployment: "mid", targetId: "e1" }));
      expect(await table.deployments()).toEqual(["alpha", "mid", "zeta"]);
    });

    it("deregister removes the target and reports whether it was there", async () => {
      const table = await create();
      await table.register(target({ targetId: "e1" }));
      await table.register(target({ targetId: "e2" }));
      expect(await table.deregister("chat", "e1")).toBe(true);
      expect(await table.deregister("chat", "e1")).toBe(false);
      expect(await table.deregister("other", "e2")).toBe(false);
      expect((await table.list("chat")).map((t) => t.targetId)).toEqual(["e2"]);
    });

    it("a deployment whose last target is deregistered disappears from deployments()", async () => {
      const table = await create();
      await table.register(target({ deployment: "chat", targetId: "e1" }));
      await table.register(target({ deployment: "embed", targetId: "e1" }));
      await table.deregister("chat", "e1");
      expect(await table.deployments()).toEqual(["embed"]);
    });

    it("reportLoad updates running, waiting and reportedAt and leaves draining alone when omitted", async () => {
      const table = await create();
      await table.register(target({ targetId: "e1", draining: true }));
      expect(await table.reportLoad("chat", "e1", { running: 5, waiting: 3, reportedAt: 2_000 })).toBe(true);
      expect(await table.list("chat")).toEqual([
        target({ targetId: "e1", running: 5, waiting: 3, reportedAt: 2_000, draining: true }),
      ]);
    });

    it("reportLoad sets draining when the report carries it", async () => {
      const table = await create();
      await table.register(target({ targetId: "e1" }));
      await table.reportLoad("chat", "e1", { running: 1, waiting: 0, draining: true, reportedAt: 2_000 });
      expect((await table.list("chat"))[0]?.draining).toBe(true);
      await table.reportLoad("chat", "e1", { running: 1, waiting: 0, draining: false, reportedAt: 3_000 });
      expect((await table.list("chat"))[0]?.draining).toBe(false);
    });

    it("reportLoad for an unknown target returns false and registers nothing", async () => {
      const table = await create();
      await table.register(target({ targetId: "e1" }));
      expect(await table.reportLoad("chat", "ghost", { running: 1, waiting: 1, reportedAt: 2_000 })).toBe(
        false,
      );
      expect(await table.reportLoad("other", "e1", { running: 1, waiting: 1, reportedAt: 2_000 })).toBe(
        false,
      );
      expect(ids(await table.list("chat"))).toEqual(["chat/e1"]);
      expect(await table.list("other")).toEqual([]);
      expect(await table.deployments()).toEqual(["chat"]);
    });

    it("setDraining flips the flag of a known target and returns false for an unknown one", async () => {
      const table = await create();
      await table.register(target({ targetId: "e1" }));
      await table.register(target({ targetId: "e2" }));
      expect(await table.setDraining("chat", "e2", true)).toBe(true);
      expect((await table.list("chat")).map((t) => t.draining)).toEqual([false, true]);
      expect(await table.setDraining("chat", "e2", false)).toBe(true);
      expect((await table.list("chat")).map((t) => t.draining)).toEqual([false, false]);
      expect(await table.setDraining("chat", "ghost", true)).toBe(false);
      expect(await table.list("chat")).toHaveLength(2);
    });

    it("removeStale removes only targets reported strictly before the cut-off and returns them", async () => {
      const table = await create();
      await table.register(target({ deployment: "chat", targetId: "old", reportedAt: 1_000 }));
      await table.register(target({ deployment: "chat", targetId: "edge", reportedAt: 5_000 }));
      await table.register(target({ deployment: "chat", targetId: "fresh", reportedAt: 9_000 }));
      await table.register(target({ deployment: "embed", targetId: "old", reportedAt: 4_999 }));
      const removed = await table.removeStale(5_000);
      expect(ids(removed)).toEqual(["chat/old", "embed/old"]);
      expect(removed[0]).toEqual(target({ deployment: "chat", targetId: "old", reportedAt: 1_000 }));
      expect((await table.list("chat")).map((t) => t.targetId)).toEqual(["edge", "fresh"]);
      expect(await table.deployments()).toEqual(["chat"]);
    });

    it("a load report keeps a target from going stale", async () => {
      const table = await create();
      await table.register(target({ targetId: "e1", reportedAt: 1_000 }));
      await table.register(target({ targetId: "e2", reportedAt: 1_000 }));
      await table.reportLoad("chat", "e2", { running: 0, waiting: 0, reportedAt: 10_000 });
      expect(ids(await table.removeStale(5_000))).toEqual(["chat/e1"]);
      expect(ids(await table.list("chat"))).toEqual(["chat/e2"]);
    });

    it("removeStale with nothing stale removes nothing", async () => {
      const table = await create();
      await table.register(target({ targetId: "e1", reportedAt: 1_000 }));
      expect(await table.removeStale(1_000)).toEqual([]);
      expect(await table.list("chat")).toHaveLength(1);
    });

    it("removeNode removes every target the node owns across deployments and returns them", async () => {
      const table = await create();
      await table.register(target({ deployment: "embed", targetId: "e1", nodeId: "node-a" }));
      await table.register(target({ deployment: "chat", targetId: "e1", nodeId: "node-a" }));
      await table.register(target({ deployment: "chat", targetId: "e2", nodeId: "node-b" }));
      await table.register(target({ deployment: "chat", targetId: "e3", nodeId: "node-a" }));
      const removed = await table.removeNode("node-a");
      expect(ids(removed)).toEqual(["chat/e1", "chat/e3", "embed/e1"]);
      expect(removed.every((t) => t.nodeId === "node-a")).toBe(true);
      expect(ids(await table.list("chat"))).toEqual(["chat/e2"]);
      expect(await table.deployments()).toEqual(["chat"]);
      expect(await table.removeNode("node-a")).toEqual([]);
    });

    it("changing a listed or registered object does not change the table", async () => {
      const table = await create();
      const registered = target({ targetId: "e1" });
      await table.register(registered);
      registered.running = 99;
      const listed = await table.list("chat");
      listed[0]!.waiting = 42;
      listed.pop();
      expect(await table.list("chat")).toEqual([target({ targetId: "e1" })]);
    });
  });
}
