import { describe, expect, it } from "vitest";
import {
  type PlacementDemand,
  type PlacementNode,
  type PlacementPlan,
  planPlacements,
  type ReplicaPlacement,
} from "./placement-plan.js";

const MODEL = "models/x.gguf";
const file = (path: string) => ({ path, bytes: 4_000_000_000 });
const node = (
  nodeId: string,
  modelSlots: number,
  options: { models?: string[]; missing?: string[]; freeGpus?: number; draining?: boolean } = {},
): PlacementNode => ({
  nodeId,
  modelSlots,
  models: (options.models ?? [MODEL]).map(file),
  ...(options.missing === undefined ? {} : { missingModels: options.missing }),
  ...(options.freeGpus === undefined ? {} : { freeGpus: options.freeGpus }),
  ...(options.draining === undefined ? {} : { draining: options.draining }),
});
const demand = (deployment: string, replicas: number, options: { model?: string; gpus?: number } = {}) =>
  ({
    deployment,
    model: options.model ?? MODEL,
    replicas,
    ...(options.gpus === undefined ? {} : { gpus: options.gpus }),
  }) satisfies PlacementDemand;
const at = (deployment: string, index: number, nodeId: string): ReplicaPlacement => ({
  deployment,
  index,
  nodeId,
});
const plan = (
  placements: ReplicaPlacement[],
  unplaced: PlacementPlan["unplaced"] = [],
  moved: ReplicaPlacement[] = [],
): PlacementPlan => ({ placements, unplaced, moved });

describe("planPlacements: spreading", () => {
  it("puts replicas = 2 on two different nodes of three with model_slots = 1, the same every time", () => {
    const nodes = [node("n1", 1), node("n2", 1), node("n3", 1)];
    const expected = plan([at("chat", 0, "n1"), at("chat", 1, "n2")]);
    expect(planPlacements(nodes, [demand("chat", 2)], [])).toEqual(expected);
    expect(planPlacements(nodes, [demand("chat", 2)], [])).toEqual(expected);
    expect(planPlacements([...nodes].reverse(), [demand("chat", 2)], [])).toEqual(expected);
    expect(
      planPlacements([nodes[1], nodes[2], nodes[0]] as PlacementNode[], [demand("chat", 2)], []),
    ).toEqual(expected);
  });

  it("gives the same plan whatever the order of nodes, demands and current placements", () => {
    const nodes = [node("n1", 2), node("n2", 1), node("n3", 3), node("n4", 0)];
    const demands = [demand("b", 2), demand("a", 3), demand("c", 1)];
    const current = [at("a", 1, "n3"), at("b", 0, "n1"), at("a", 0, "n2")];
    const expected = plan(
      [
        at("a", 0, "n2"),
        at("a", 1, "n3"),
        at("a", 2, "n1"),
        at("b", 0, "n1"),
        at("b", 1, "n3"),
        at("c", 0, "n3"),
      ],
      [],
      [],
    );
    expect(planPlacements(nodes, demands, current)).toEqual(expected);
    expect(planPlacements([...nodes].reverse(), [...demands].reverse(), [...current].reverse())).toEqual(
      expected,
    );
  });

  it("never mutates its inputs", () => {
    const nodes = [node("n1", 1, { freeGpus: 4 }), node("n2", 1, { freeGpus: 4 })];
    const demands = [demand("chat", 2, { gpus: 2 })];
    const current = [at("chat", 0, "n2"), at("gone", 0, "n1")];
    const before = structuredClone({ nodes, demands, current });
    const frozen = <T>(values: T[]): T[] => Object.freeze(values.map((value) => Object.freeze(value))) as T[];
    planPlacements(frozen(nodes), frozen(demands), frozen(current));
    expect({ nodes, demands, current }).toEqual(before);
  });
});

describe("planPlacements: eligibility and reasons", () => {
  it("never places on a gateway-only node or on a node without the model file", () => {
    const nodes = [node("gw", 0), node("nofile", 2, { models: ["models/other.gguf"] }), node("n1", 1)];
    expect(planPlacements(nodes, [demand("chat", 2)], [])).toEqual(
      plan(
        [at("chat", 0, "n1")],
        [{ deployment: "chat", index: 1, reason: `no live node with a free model slot can read ${MODEL}` }],
      ),
    );
  });

  it("names the missing file when no live node can read it at all", () => {
    const nodes = [node("gw", 0, { models: [] }), node("n1", 2, { models: ["models/other.gguf"] })];
    expect(planPlacements(nodes, [demand("chat", 1)], [])).toEqual(
      plan([], [{ deployment: "chat", index: 0, reason: `no live node can read ${MODEL}` }]),
    );
  });

  it("says no slot is free when only gateway-only or draining nodes are live, or none", () => {
    const reason = "no live node has a free model slot";
    expect(
      planPlacements([node("gw", 0), node("n1", 2, { draining: true })], [demand("chat", 2)], []),
    ).toEqual(
      plan(
        [],
        [
          { deployment: "chat", index: 0, reason },
          { deployment: "chat", index: 1, reason },
        ],
      ),
    );
    expect(planPlacements([], [demand("chat", 1)], [])).toEqual(
      plan([], [{ deployment: "chat", index: 0, reason }]),
    );
  });

  it("a demand of 0 replicas places nothing and is not unplaced", () => {
    expect(planPlacements([node("n1", 1)], [demand("chat", 0)], [])).toEqual(plan([]));
  });
});

describe("planPlacements: stability", () => {
  const nodes = [node("n1", 2), node("n2", 2), node("n3", 2)];
  const demands = [demand("a", 2), demand("b", 2)];
  const first = planPlacements(nodes, demands, []);

  it("places a first time", () => {
    expect(first).toEqual(plan([at("a", 0, "n1"), at("a", 1, "n2"), at("b", 0, "n3"), at("b", 1, "n1")]));
  });

  it("a node that joins takes nothing from the others", () => {
    const joined = [node("n0", 8), ...nodes];
    expect(planPlacements(joined, demands, first.placements)).toEqual(plan([...first.placements]));
  });

  it("a node that dies has only its replicas re-placed, onto nodes with free slots", () => {
    const survivors = [node("n2", 2), node("n3", 2)];
    expect(planPlacements(survivors, demands, first.placements)).toEqual(
      plan(
        [at("a", 0, "n3"), at("a", 1, "n2"), at("b", 0, "n3"), at("b", 1, "n2")],
        [],
        [at("a", 0, "n1"), at("b", 1, "n1")],
      ),
    );
  });

  it("a draining node's replicas move away and it takes no new ones", () => {
    const draining = [node("n1", 2, { draining: true }), node("n2", 2), node("n3", 2)];
    expect(planPlacements(draining, demands, first.placements)).toEqual(
      plan(
        [at("a", 0, "n3"), at("a", 1, "n2"), at("b", 0, "n3"), at("b", 1, "n2")],
        [],
        [at("a", 0, "n1"), at("b", 1, "n1")],
      ),
    );
  });

  it("a node that can no longer read the model file loses that deployment's replicas only", () => {
    const lost = [
      node("n1", 2),
      node("n2", 2, { models: [], missing: [MODEL, "models/b.gguf"] }),
      node("n3", 2),
    ];
    const mixed = [demand("a", 2), demand("b", 1, { model: "models/b.gguf" })];
    const before = [at("a", 0, "n1"), at("a", 1, "n2"), at("b", 0, "n2")];
    const withB = [
      node("n1", 2),
      node("n2", 2, { models: ["models/b.gguf"], missing: [MODEL] }),
      node("n3", 2),
    ];
    expect(planPlacements(withB, mixed, before)).toEqual(
      plan([at("a", 0, "n1"), at("a", 1, "n3"), at("b", 0, "n2")], [], [at("a", 1, "n2")]),
    );
    // b's file is listed by no live node: a change the heartbeats have not caught up with, so b stays
    expect(planPlacements(lost, mixed, before).moved).toEqual([at("a", 1, "n2")]);
    const lostB = [
      node("n1", 2),
      node("n2", 2, { missing: ["models/b.gguf"] }),
      node("n3", 2, { models: [MODEL, "models/b.gguf"] }),
    ];
    expect(planPlacements(lostB, mixed, before).moved).toEqual([at("b", 0, "n2")]);
  });

  it("a node that has not looked at a new model file yet keeps its placement while another lists it", () => {
    // right after a deployment changed to models/new.gguf: n1's heartbeat lists it, n2's and
    // n3's were written before they looked at it (a rolling update must not move their replicas)
    const changed = [demand("a", 3, { model: "models/new.gguf" })];
    const before = [at("a", 0, "n1"), at("a", 1, "n2"), at("a", 2, "n3")];
    const catchingUp = [node("n1", 2, { models: [MODEL, "models/new.gguf"] }), node("n2", 2), node("n3", 2)];
    expect(planPlacements(catchingUp, changed, before)).toEqual(plan(before));
    // once n3 says it cannot read the file, its replica moves to a node that can
    const n3Missing = [
      catchingUp[0],
      catchingUp[1],
      node("n3", 2, { missing: ["models/new.gguf"] }),
    ] as PlacementNode[];
    expect(planPlacements(n3Missing, changed, before)).toEqual(
      plan([at("a", 0, "n1"), at("a", 1, "n2"), at("a", 2, "n1")], [], [at("a", 2, "n3")]),
    );
  });

  it("a deployment changed to a model file no node lists yet keeps its placements", () => {
    const changed = [demand("a", 2, { model: "models/new.gguf" })];
    const before = [at("a", 0, "n1"), at("a", 1, "n2")];
    expect(planPlacements(nodes, changed, before)).toEqual(plan(before));
  });

  it("spreads two replicas kept on one node once another node can take one (the higher index moves)", () => {
    const current = [at("a", 0, "n3"), at("a", 1, "n3")];
    const spread = planPlacements(nodes, [demand("a", 2)], current);
    expect(spread.placements.map((p) => `${p.index}@${p.nodeId}`)).toEqual([
      "0@n3",
      expect.not.stringMatching(/@n3$/),
    ]);
    expect(spread.moved).toEqual([at("a", 1, "n3")]);
  });

  it("a replica listed twice keeps one placement, the first on a node that may hold it", () => {
    const current = [at("a", 0, "n2"), at("a", 0, "dead"), at("a", 0, "n3")];
    expect(planPlacements(nodes, [demand("a", 1)], current)).toEqual(
      plan([at("a", 0, "n2")], [], [at("a", 0, "dead"), at("a", 0, "n3")]),
    );
  });
});

describe("planPlacements: anti-affinity", () => {
  it("prefers a node without the deployment over one with more free slots", () => {
    expect(planPlacements([node("n1", 3), node("n2", 1)], [demand("chat", 2)], [])).toEqual(
      plan([at("chat", 0, "n1"), at("chat", 1, "n2")]),
    );
  });

  it("falls back to the same node when only one node has slots (model_slots = 2)", () => {
    expect(planPlacements([node("gw", 0), node("n1", 2)], [demand("chat", 2)], [])).toEqual(
      plan([at("chat", 0, "n1"), at("chat", 1, "n1")]),
    );
  });

  it("spreads a third replica to the node with the fewest of the deployment", () => {
    expect(planPlacements([node("n1", 2), node("n2", 2)], [demand("chat", 3)], [])).toEqual(
      plan([at("chat", 0, "n1"), at("chat", 1, "n2"), at("chat", 2, "n1")]),
    );
  });
});

describe("planPlacements: GPUs", () => {
  it("a replica needing 2 GPUs goes only to a node with 2 free, and takes them", () => {
    const nodes = [node("g1", 4, { freeGpus: 1 }), node("g2", 3, { freeGpus: 3 }), node("g3", 2)];
    const demands = [demand("big", 2, { gpus: 2 }), demand("small", 1)];
    expect(planPlacements(nodes, demands, [])).toEqual(
      plan(
        [at("big", 0, "g2"), at("small", 0, "g1")],
        [{ deployment: "big", index: 1, reason: `no live node has 2 free GPUs and ${MODEL}` }],
      ),
    );
  });

  it("places two such replicas on two nodes with 2 free each", () => {
    const nodes = [node("g1", 1, { freeGpus: 2 }), node("g2", 1, { freeGpus: 2 })];
    expect(planPlacements(nodes, [demand("big", 2, { gpus: 2 })], [])).toEqual(
      plan([at("big", 0, "g1"), at("big", 1, "g2")]),
    );
  });

  it("says when the GPUs are there but on a node with no free slot", () => {
    const nodes = [node("g1", 1, { freeGpus: 4 }), node("n2", 1)];
    const demands = [demand("a", 1), demand("big", 1, { gpus: 1 })];
    expect(planPlacements(nodes, demands, [at("a", 0, "g1")])).toEqual(
      plan(
        [at("a", 0, "g1")],
        [
          {
            deployment: "big",
            index: 0,
            reason: `no live node with a free model slot has 1 free GPU and ${MODEL}`,
          },
        ],
      ),
    );
  });

  it("a kept placement neither checks nor takes GPUs (freeGpus is net of what the node runs)", () => {
    const nodes = [node("g1", 2, { freeGpus: 2 })];
    const demands = [demand("big", 2, { gpus: 2 })];
    expect(planPlacements(nodes, demands, [at("big", 0, "g1")])).toEqual(
      plan([at("big", 0, "g1"), at("big", 1, "g1")]),
    );
  });
});

describe("planPlacements: scaling down and shrinking", () => {
  const nodes = [node("n1", 1), node("n2", 1), node("n3", 1)];
  const current = [at("chat", 0, "n1"), at("chat", 1, "n2"), at("chat", 2, "n3")];

  it("replicas 3 → 1 drops the highest indexes", () => {
    expect(planPlacements(nodes, [demand("chat", 1)], current)).toEqual(
      plan([at("chat", 0, "n1")], [], [at("chat", 1, "n2"), at("chat", 2, "n3")]),
    );
  });

  it("a removed demand drops all its replicas", () => {
    expect(planPlacements(nodes, [demand("other", 1)], current)).toEqual(
      plan([at("other", 0, "n1")], [], [...current]),
    );
  });

  it("a node whose slots shrank keeps the lowest indexes in name order and moves the rest", () => {
    const shrunk = [node("n1", 1), node("n2", 2)];
    const before = [at("b", 0, "n1"), at("a", 1, "n1"), at("a", 0, "n2"), at("a", 2, "n1")];
    expect(planPlacements(shrunk, [demand("a", 3), demand("b", 1)], before)).toEqual(
      plan(
        [at("a", 0, "n2"), at("a", 1, "n1"), at("a", 2, "n2")],
        [{ deployment: "b", index: 0, reason: "no live node has a free model slot" }],
        [at("a", 2, "n1"), at("b", 0, "n1")],
      ),
    );
  });

  it("a node turned gateway-only (model_slots 0) gives up every replica", () => {
    const gatewayOnly = [node("n1", 0), node("n2", 1), node("n3", 1)];
    expect(planPlacements(gatewayOnly, [demand("chat", 3)], current)).toEqual(
      plan(
        [at("chat", 1, "n2"), at("chat", 2, "n3")],
        [{ deployment: "chat", index: 0, reason: "no live node has a free model slot" }],
        [at("chat", 0, "n1")],
      ),
    );
  });
});

describe("planPlacements: deployments competing for slots", () => {
  const nodes = [node("n1", 1), node("n2", 1)];
  const demands = [demand("gamma", 1), demand("beta", 1), demand("alpha", 2)];
  const full = "no live node has a free model slot";

  it("name order decides who gets the slots; unplaced lists the rest", () => {
    expect(planPlacements(nodes, demands, [])).toEqual(
      plan(
        [at("alpha", 0, "n1"), at("alpha", 1, "n2")],
        [
          { deployment: "beta", index: 0, reason: full },
          { deployment: "gamma", index: 0, reason: full },
        ],
      ),
    );
  });

  it("a placement already in force keeps its slot before name order is applied", () => {
    expect(planPlacements(nodes, demands, [at("gamma", 0, "n2")])).toEqual(
      plan(
        [at("alpha", 0, "n1"), at("gamma", 0, "n2")],
        [
          { deployment: "alpha", index: 1, reason: full },
          { deployment: "beta", index: 0, reason: full },
        ],
      ),
    );
  });
});
