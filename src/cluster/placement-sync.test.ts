// PlacementSync's hand-out of this node's share, over an in-memory store (the plan is read, never
// planned here: this node does not hold the lease). A moved or unplaced replica leaves the share;
// a deployment the plan no longer places at all (removed from the catalog, which this node's copy
// has not caught up with yet) keeps its replicas here until this node's own catalog removes it.

import { describe, expect, it } from "vitest";
import { silentLogger } from "../actor/index.js";
import type { PlacementLease } from "./placement-lease.js";
import { type Assignments, PlacementSync } from "./placement-sync.js";
import type { NoticeChannel } from "./redis-notice-channel.js";
import type { PlacementSnapshot, RedisPlacementStore } from "./redis-placement-store.js";

function sync() {
  let snapshot: PlacementSnapshot = { version: 0, placements: [], unplaced: [], reports: [] };
  const shares: string[] = [];
  const store = {
    snapshot: async () => snapshot,
    report: async () => {},
    writePlan: async () => false,
  } as unknown as RedisPlacementStore;
  const channel: NoticeChannel = {
    publish: async () => {},
    subscribe: async () => {},
    close: async () => {},
  };
  const lease = { renew: async () => false, release: async () => {} } as unknown as PlacementLease;
  const placement = new PlacementSync({
    nodeId: "node-c",
    lease,
    store,
    channel,
    logger: silentLogger,
    reportTtlMs: 3_000,
    demands: async () => [{ deployment: "tiny", model: "models/tiny.gguf", replicas: 2 }],
    reports: async () => [],
    onAssignments: (assignments: Assignments) =>
      shares.push(JSON.stringify([...assignments].map(([name, indexes]) => [name, [...indexes]]))),
    routedElsewhere: () => true,
  });
  return {
    shares,
    async read(next: Omit<PlacementSnapshot, "reports">) {
      snapshot = { ...next, reports: [] };
      await placement.tick([]);
    },
  };
}

const at = (index: number, nodeId: string) => ({ deployment: "tiny", index, nodeId });

describe("PlacementSync", () => {
  it("hands this node the indexes placed on it, and takes a moved or unplaced one away", async () => {
    const node = sync();
    await node.read({ version: 1, placements: [at(0, "node-c"), at(1, "node-a")], unplaced: [] });
    await node.read({ version: 2, placements: [at(0, "node-b"), at(1, "node-a")], unplaced: [] });
    await node.read({ version: 3, placements: [at(0, "node-c")], unplaced: [] });
    await node.read({
      version: 4,
      placements: [at(1, "node-a")],
      unplaced: [{ deployment: "tiny", index: 0, reason: "no live node has a free model slot" }],
    });
    expect(node.shares).toEqual(['[["tiny",[0]]]', '[["tiny",[]]]', '[["tiny",[0]]]', '[["tiny",[]]]']);
  });

  it("keeps its replicas of a deployment the plan no longer places at all while its catalog still has it", async () => {
    const node = sync();
    await node.read({ version: 1, placements: [at(0, "node-c"), at(1, "node-a")], unplaced: [] });
    // the holder's catalog dropped it; this node's demands (its catalog copy) still list it
    await node.read({ version: 2, placements: [], unplaced: [] });
    expect(node.shares).toEqual(['[["tiny",[0]]]']);
  });
});
