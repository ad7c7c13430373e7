import { describe, expect, it } from "vitest";
import { isReplaceTurn, type TurnReport } from "./replace-turn.js";

const report = (nodeId: string, state: TurnReport["state"], deployment = "tiny"): TurnReport => ({
  deployment,
  nodeId,
  state,
});

describe("isReplaceTurn", () => {
  it("a node goes only once its own report says it waits (others must have seen it)", () => {
    expect(isReplaceTurn("tiny", "node-a", [report("node-b", "ready"), report("node-c", "ready")])).toBe(
      false,
    );
    expect(isReplaceTurn("tiny", "node-a", [report("node-a", "starting"), report("node-b", "ready")])).toBe(
      false,
    );
    expect(isReplaceTurn("tiny", "node-a", [report("node-a", "waiting"), report("node-b", "ready")])).toBe(
      true,
    );
  });

  it("the lowest waiting node id goes first; the others wait", () => {
    const all = [report("node-a", "waiting"), report("node-b", "waiting"), report("node-c", "waiting")];
    expect(isReplaceTurn("tiny", "node-a", all)).toBe(true);
    expect(isReplaceTurn("tiny", "node-b", all)).toBe(false);
    expect(isReplaceTurn("tiny", "node-c", all)).toBe(false);
  });

  it("nobody goes while another node's replica is starting (being replaced or loading), then the next goes", () => {
    const duringA = [report("node-a", "starting"), report("node-b", "waiting"), report("node-c", "waiting")];
    expect(isReplaceTurn("tiny", "node-b", duringA)).toBe(false);
    expect(isReplaceTurn("tiny", "node-c", duringA)).toBe(false);
    const afterA = [report("node-a", "ready"), report("node-b", "waiting"), report("node-c", "waiting")];
    expect(isReplaceTurn("tiny", "node-b", afterA)).toBe(true);
    expect(isReplaceTurn("tiny", "node-c", afterA)).toBe(false);
    // a failed replica elsewhere does not hold the update up
    const failedA = [report("node-a", "failed"), report("node-c", "waiting")];
    expect(isReplaceTurn("tiny", "node-c", failedA)).toBe(true);
  });

  it("counts only the deployment's own reports", () => {
    const mixed = [
      report("node-b", "waiting"),
      report("node-1", "starting", "big"),
      report("node-0", "waiting", "big"),
    ];
    expect(isReplaceTurn("tiny", "node-b", mixed)).toBe(true);
    expect(isReplaceTurn("big", "node-0", mixed)).toBe(false);
  });
});
