// The cluster's placement of local-model (llama) replicas as one pure step (docs/cluster.md,
// "Placement"): the lease holder passes the live nodes' heartbeats, the catalog's local
// deployments and the placements in force, and gets back which node runs each replica. It
// generalises the one-node DeploymentPlacementActor (src/serving/control/deployment-placement-actor.ts) to
// many nodes. No clock, no randomness, no I/O; the inputs are never mutated, and the same inputs in
// any order give the same plan.
//
// Rules, in this order:
// 1. Stability first. A current placement stays on its node while that node is listed (live), not
//    draining and has not reported the deployment's model file missing (a node whose heartbeat has
//    not looked at a file yet, right after a deployment changed to it, keeps it), and the node is
//    not over its slots. A
//    node whose `model_slots` shrank keeps its placements in (deployment name, index) order up to
//    its slots and moves the rest. Nothing is rebalanced: a kept placement never moves to a better
//    node. Kept placements neither check nor take GPUs: a heartbeat's `freeGpus` is what is free
//    beside the replicas the node already holds.
// 2. Dropped: placements of a deployment that is no longer demanded, of an index ≥ its replicas
//    (scaling down drops the highest indexes), or a second placement of the same replica.
// 3. Each missing replica, deployments in name order and indexes ascending (so name order decides
//    who gets the last slots), goes to a node that is live and not draining, has a free slot, lists
//    the model path (compared as written in the deployment) and, when the demand has gpus > 0, has
//    that many free GPUs (which are then no longer free for the replicas placed after it).
//    Anti-affinity: the fewest replicas of the same deployment on the node first, so two replicas
//    share a node only when no other node can take the second. Then the most free slots, then the
//    node id in string order.
// 4. A replica no node can take is unplaced, with a reason naming the first requirement that no
//    live node meets, in the order: a free slot, the model file, the GPUs.
//
// Every output array is sorted by (deployment, index); `moved` ties by the node it left.

/** What a node's heartbeat says about its capacity for local model replicas. */
export interface PlacementNode {
  readonly nodeId: string;
  /** `[cluster] model_slots`: local replicas this node may hold (0: gateway-only). */
  readonly modelSlots: number;
  /** The model files this node can read, with their sizes in bytes. */
  readonly models: ReadonlyArray<{ readonly path: string; readonly bytes: number }>;
  /** The model files this node looked for and cannot read (a file it has not looked at is in neither). */
  readonly missingModels?: readonly string[];
  /** GPUs free on the node, when detected (undefined: not detected yet / none). */
  readonly freeGpus?: number;
  /** A node that is shutting down takes no new replicas and its current ones move away. */
  readonly draining?: boolean;
}

export interface PlacementDemand {
  readonly deployment: string;
  /** The model file path every replica must be able to read (as written in the deployment). */
  readonly model: string;
  readonly replicas: number;
  /** GPUs each replica needs (undefined/0: none). */
  readonly gpus?: number;
}

export interface ReplicaPlacement {
  readonly deployment: string;
  /** 0 .. replicas-1 */
  readonly index: number;
  readonly nodeId: string;
}

export interface Unplaced {
  readonly deployment: string;
  readonly index: number;
  readonly reason: string;
}

export interface PlacementPlan {
  readonly placements: readonly ReplicaPlacement[];
  readonly unplaced: readonly Unplaced[];
  /** Placements of `current` that moved or were dropped (for logs). */
  readonly moved: readonly ReplicaPlacement[];
}

/** A node's capacity while the plan is built (the planner's own copy, never the input). */
interface NodeState {
  readonly nodeId: string;
  readonly slots: number;
  readonly models: ReadonlySet<string>;
  readonly missing: ReadonlySet<string>;
  readonly draining: boolean;
  freeGpus: number;
  used: number;
  /** Replicas per deployment on this node, kept and new. */
  readonly held: Map<string, number>;
}

interface Demand {
  readonly deployment: string;
  readonly model: string;
  readonly replicas: number;
  readonly gpus: number;
}

/** Plans where every replica of `demands` runs, given the live `nodes` and the `current` placements. */
export function planPlacements(
  nodes: readonly PlacementNode[],
  demands: readonly PlacementDemand[],
  current: readonly ReplicaPlacement[],
): PlacementPlan {
  const states = nodeStates(nodes);
  const wanted = demandsByName(demands);
  const placements: ReplicaPlacement[] = [];
  const unplaced: Unplaced[] = [];
  const moved: ReplicaPlacement[] = [];

  // Rules 1 and 2: which current placements may stay. Sorted by (deployment, index, node), so a
  // node over its slots keeps the lowest indexes of the deployments in name order.
  const kept = new Set<string>();
  // a placement moves for its model file only once its node said it cannot read it and another
  // node can: right after a deployment changed to a new file the heartbeats catch up one by one,
  // and a file no node can read fails the update where it runs (the previous version is kept)
  const listedAnywhere = (model: string) => [...states.values()].some((node) => node.models.has(model));
  for (const placement of [...current].sort(byPlacement)) {
    const demand = wanted.get(placement.deployment);
    const node = states.get(placement.nodeId);
    const replica = replicaKey(placement.deployment, placement.index);
    const valid =
      demand !== undefined &&
      Number.isInteger(placement.index) &&
      placement.index >= 0 &&
      placement.index < demand.replicas &&
      !kept.has(replica) &&
      node !== undefined &&
      !node.draining &&
      (!node.missing.has(demand.model) || !listedAnywhere(demand.model));
    if (!valid || node.used >= node.slots) {
      moved.push(copy(placement));
      continue;
    }
    take(node, placement.deployment, 0);
    kept.add(replica);
    placements.push(copy(placement));
  }

  // Rule 5: a replica kept on a node that holds another of its deployment (placed there when no
  // other node could take it) moves to an eligible node that holds none, once one exists.
  const ordered = [...states.values()];
  for (let at = placements.length - 1; at >= 0; at--) {
    const placement = placements[at] as ReplicaPlacement;
    const demand = wanted.get(placement.deployment) as Demand;
    const node = states.get(placement.nodeId) as NodeState;
    if ((node.held.get(placement.deployment) ?? 0) < 2) continue;
    const spread = ordered.find(
      (other) => other !== node && canTake(other, demand) && !other.held.has(placement.deployment),
    );
    if (spread === undefined) continue;
    node.used--;
    node.held.set(placement.deployment, (node.held.get(placement.deployment) ?? 1) - 1);
    take(spread, placement.deployment, demand.gpus);
    moved.push(copy(placement));
    placements[at] = { ...placement, nodeId: spread.nodeId };
  }

  // Rules 3 and 4: the missing replicas, deployments in name order, indexes ascending.
  for (const demand of wanted.values()) {
    for (let index = 0; index < demand.replicas; index++) {
      if (kept.has(replicaKey(demand.deployment, index))) continue;
      const node = pick(ordered, demand);
      if (node === undefined) {
        unplaced.push({ deployment: demand.deployment, index, reason: unplacedReason(ordered, demand) });
        continue;
      }
      take(node, demand.deployment, demand.gpus);
      placements.push({ deployment: demand.deployment, index, nodeId: node.nodeId });
    }
  }

  return {
    placements: placements.sort(byPlacement),
    unplaced: unplaced.sort(byPlacement),
    moved: moved.sort(byPlacement),
  };
}

/** The nodes by id in string order; a repeated id keeps its first listing. */
function nodeStates(nodes: readonly PlacementNode[]): Map<string, NodeState> {
  const states = new Map<string, NodeState>();
  for (const node of [...nodes].sort((a, b) => compare(a.nodeId, b.nodeId))) {
    if (states.has(node.nodeId)) continue;
    states.set(node.nodeId, {
      nodeId: node.nodeId,
      slots: count(node.modelSlots),
      models: new Set(node.models.map((model) => model.path)),
      missing: new Set(node.missingModels ?? []),
      draining: node.draining === true,
      freeGpus: count(node.freeGpus),
      used: 0,
      held: new Map(),
    });
  }
  return states;
}

/** The demands by deployment name in string order; a repeated name keeps its first listing. */
function demandsByName(demands: readonly PlacementDemand[]): Map<string, Demand> {
  const wanted = new Map<string, Demand>();
  for (const demand of [...demands].sort((a, b) => compare(a.deployment, b.deployment))) {
    if (wanted.has(demand.deployment)) continue;
    wanted.set(demand.deployment, {
      deployment: demand.deployment,
      model: demand.model,
      replicas: count(demand.replicas),
      gpus: count(demand.gpus),
    });
  }
  return wanted;
}

/** Whether a node can take one more replica of `demand` now, anti-affinity aside. */
function canTake(node: NodeState, demand: Demand): boolean {
  return (
    !node.draining &&
    node.used < node.slots &&
    node.models.has(demand.model) &&
    (demand.gpus === 0 || node.freeGpus >= demand.gpus)
  );
}

/** Fewest replicas of the same deployment, then most free slots, then node id (`nodes` is in id order). */
function pick(nodes: readonly NodeState[], demand: Demand): NodeState | undefined {
  let best: NodeState | undefined;
  for (const node of nodes) {
    if (!canTake(node, demand)) continue;
    if (best === undefined) {
      best = node;
      continue;
    }
    const same = node.held.get(demand.deployment) ?? 0;
    const bestSame = best.held.get(demand.deployment) ?? 0;
    if (same < bestSame || (same === bestSame && node.slots - node.used > best.slots - best.used))
      best = node;
  }
  return best;
}

/** The first requirement (free slot, model file, GPUs) that no live node meets for `demand`. */
function unplacedReason(nodes: readonly NodeState[], demand: Demand): string {
  const live = nodes.filter((node) => !node.draining);
  const withSlot = live.filter((node) => node.used < node.slots);
  if (withSlot.length === 0) return "no live node has a free model slot";
  const reads = (node: NodeState) => node.models.has(demand.model);
  if (!withSlot.some(reads)) {
    return live.some(reads)
      ? `no live node with a free model slot can read ${demand.model}`
      : `no live node can read ${demand.model}`;
  }
  const gpus = `${demand.gpus} free GPU${demand.gpus === 1 ? "" : "s"} and ${demand.model}`;
  const hasGpus = (node: NodeState) => reads(node) && node.freeGpus >= demand.gpus;
  return live.some(hasGpus) ? `no live node with a free model slot has ${gpus}` : `no live node has ${gpus}`;
}

function take(node: NodeState, deployment: string, gpus: number): void {
  node.used++;
  node.freeGpus -= gpus;
  node.held.set(deployment, (node.held.get(deployment) ?? 0) + 1);
}

/** A count from a heartbeat or the catalog: a whole number ≥ 0 (anything else is 0). */
function count(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) ? Math.max(0, Math.floor(value)) : 0;
}

function replicaKey(deployment: string, index: number): string {
  return `${deployment}\u0000${index}`;
}

function copy(placement: ReplicaPlacement): ReplicaPlacement {
  return { deployment: placement.deployment, index: placement.index, nodeId: placement.nodeId };
}

/** Code-unit string order: the same on every node, whatever its locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byPlacement(
  a: { readonly deployment: string; readonly index: number; readonly nodeId?: string },
  b: { readonly deployment: string; readonly index: number; readonly nodeId?: string },
): number {
  return compare(a.deployment, b.deployment) || a.index - b.index || compare(a.nodeId ?? "", b.nodeId ?? "");
}
