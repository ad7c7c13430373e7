// DeploymentPlacementActor on one node: local replicas take model slots, and replicas whose
// deployment sets `gpus` take that many of the GPUs node-llama-cpp found, which are counted once,
// only when the first such replica is placed (a node without GPU replicas never asks).

import { describe, expect, it } from "vitest";
import { callbackRef } from "../../actor/index.js";
import {
  DeploymentPlacementActor,
  type PlacementOptions,
  type PlacementResult,
} from "./deployment-placement-actor.js";

function placementActor(modelSlots: number, options: PlacementOptions = {}) {
  const actor = new DeploymentPlacementActor([{ nodeId: "local", modelSlots, egress: true }], options);
  return {
    place: (replicaId: string, gpus: number, transport: "local" | "remote" = "local") =>
      new Promise<PlacementResult>((resolve) => {
        void actor.receive({
          type: "place",
          replicaId,
          transport,
          deployment: replicaId.split("#")[0] as string,
          runtime: transport === "local" ? "llama" : "openai",
          index: 0,
          gpus,
          replyTo: callbackRef<PlacementResult>("test", resolve),
        });
      }),
    release: (replicaId: string) => actor.receive({ type: "release", replicaId }),
  };
}

describe("DeploymentPlacementActor", () => {
  it("places local replicas up to the node's model slots", async () => {
    const placement = placementActor(1);
    expect(await placement.place("a#1.0", 0)).toEqual({ type: "placed", nodeId: "local" });
    expect(await placement.place("b#1.0", 0)).toEqual({
      type: "no-capacity",
      reason: "no node has a free model slot",
    });
    await placement.release("a#1.0");
    expect((await placement.place("b#1.0", 0)).type).toBe("placed");
  });

  it("never counts GPUs while no replica needs one", async () => {
    let asked = 0;
    const placement = placementActor(4, { detectGpus: async () => ++asked });
    expect((await placement.place("a#1.0", 0)).type).toBe("placed");
    expect((await placement.place("r#1.0", 0, "remote")).type).toBe("placed");
    expect(asked).toBe(0);
  });

  it("gives replicas that need GPUs the ones found, counted once, and frees them on release", async () => {
    let asked = 0;
    const placement = placementActor(4, {
      detectGpus: async () => {
        asked++;
        return 2;
      },
    });
    expect((await placement.place("big#1.0", 2)).type).toBe("placed");
    expect(await placement.place("one#1.0", 1)).toEqual({
      type: "no-capacity",
      reason: "the replica needs 1 GPU and this node has 0 free (2 found by node-llama-cpp)",
    });
    // a replica that needs none still takes a slot beside them
    expect((await placement.place("cpu#1.0", 0)).type).toBe("placed");
    await placement.release("big#1.0");
    expect((await placement.place("one#1.0", 1)).type).toBe("placed");
    expect((await placement.place("two#1.0", 1)).type).toBe("placed");
    expect(asked).toBe(1);
  });

  it("refuses a GPU replica on a node where node-llama-cpp finds none, naming the shortfall", async () => {
    const placement = placementActor(4, { detectGpus: async () => 0 });
    expect(await placement.place("big#1.0", 2)).toEqual({
      type: "no-capacity",
      reason: "the replica needs 2 GPUs and this node has 0 free (0 found by node-llama-cpp)",
    });
  });

  it("in a cluster: an assigned replica takes a free model slot, else replaces in place when it is its turn", async () => {
    let turn = false;
    const asked: string[] = [];
    const actor = new DeploymentPlacementActor(
      [{ nodeId: "node-a", modelSlots: Number.POSITIVE_INFINITY, egress: true }],
      {
        clustered: true,
        placedRuntimes: ["llama"],
        placedSlots: 1,
        replaceTurn: (request) => {
          asked.push(request.replicaId);
          return turn;
        },
      },
    );
    const place = (replicaId: string, index: number) =>
      new Promise<PlacementResult>((resolve) => {
        void actor.receive({
          type: "place",
          replicaId,
          transport: "local",
          deployment: "tiny",
          runtime: "llama",
          index,
          gpus: 0,
          replyTo: callbackRef<PlacementResult>("test", resolve),
        });
      });
    await actor.receive({ type: "assignments", assignments: new Map([["tiny", new Set([0])]]) });
    expect(await place("tiny#1.1", 1)).toMatchObject({ type: "elsewhere" });
    expect(await place("tiny#1.0", 0)).toEqual({ type: "placed", nodeId: "node-a" });
    // the next generation: the one slot is taken by the old replica
    expect(await place("tiny#2.0", 0)).toEqual({
      type: "wait",
      reason: "no free model slot here: replaced once the other replicas of tiny serve",
    });
    turn = true;
    expect(await place("tiny#2.0", 0)).toEqual({ type: "replace" });
    expect(asked).toEqual(["tiny#2.0", "tiny#2.0"]);
    // the old replica went: the slot is free again, and a free slot asks nobody's turn
    await actor.receive({ type: "release", replicaId: "tiny#1.0" });
    expect(await place("tiny#2.0", 0)).toEqual({ type: "placed", nodeId: "node-a" });
    expect(asked).toHaveLength(2);
  });
});
