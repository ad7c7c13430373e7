// DeploymentPlacementActor: picks the node for each replica. Local replicas need a node with a
// free model slot; remote ones any node with egress, preferring one that already serves the same
// provider key (they then share one rate limiter). One node for now; the cluster adds more. A
// remote replica on a cluster node without egress is placed nowhere: that node forwards the
// deployment's requests to the nodes that have egress (docs/cluster.md, "Forwarding").

import type { Actor, ActorRef } from "../actor/index.js";

export interface NodeCapacity {
  readonly nodeId: string;
  /** Local model replicas this node may hold. */
  readonly modelSlots: number;
  readonly egress: boolean;
}

export type PlacementResult =
  | { readonly type: "placed"; readonly nodeId: string }
  | { readonly type: "no-capacity"; readonly reason: string }
  /** No replica here: the deployment is served by other nodes of the cluster. */
  | { readonly type: "elsewhere"; readonly reason: string };

export type PlacementMessage =
  | {
      readonly type: "place";
      readonly replicaId: string;
      readonly transport: "local" | "remote";
      /** The replica's deployment, runtime and index: in a cluster, checked against the shared placement. */
      readonly deployment: string;
      readonly runtime: string;
      readonly index: number;
      /** Remote replicas: the (provider, key) they share a rate limiter by. */
      readonly affinity?: string;
      readonly replyTo: ActorRef<PlacementResult>;
    }
  | { readonly type: "release"; readonly replicaId: string }
  /**
   * A cluster node's share of the shared placement (docs/cluster.md, "Placement"): for each
   * deployment the lease holder places, the replica indexes on this node. A local replica of such
   * a deployment is placed here only when its index is among them; other nodes run the rest.
   */
  | { readonly type: "assignments"; readonly assignments: ReadonlyMap<string, ReadonlySet<number>> };

interface Placement {
  readonly nodeId: string;
  readonly transport: "local" | "remote";
  readonly affinity: string | undefined;
}

export class DeploymentPlacementActor implements Actor<PlacementMessage> {
  readonly #nodes: readonly NodeCapacity[];
  readonly #placements = new Map<string, Placement>();
  readonly #clustered: boolean;
  #assignments: ReadonlyMap<string, ReadonlySet<number>> = new Map();

  readonly #placedRuntimes: ReadonlySet<string>;

  /**
   * `clustered`: other nodes exist, so a remote replica with no egress here is served by them, and
   * a local replica of a `placedRuntimes` runtime runs here only where the shared placement puts it.
   */
  constructor(nodes: readonly NodeCapacity[], clustered = false, placedRuntimes: readonly string[] = []) {
    this.#nodes = nodes;
    this.#clustered = clustered;
    this.#placedRuntimes = new Set(placedRuntimes);
  }

  receive(message: PlacementMessage): void {
    switch (message.type) {
      case "place": {
        const result = this.#clusterPlacement(message) ?? this.#place(message.transport, message.affinity);
        if (result.type === "placed") {
          this.#placements.set(message.replicaId, {
            nodeId: result.nodeId,
            transport: message.transport,
            affinity: message.affinity,
          });
        }
        message.replyTo.tell(result);
        return;
      }
      case "release":
        this.#placements.delete(message.replicaId);
        return;
      case "assignments":
        this.#assignments = message.assignments;
        return;
    }
  }

  /** "elsewhere" for a replica the shared placement puts on another node (or has not placed yet). */
  #clusterPlacement(message: Extract<PlacementMessage, { type: "place" }>): PlacementResult | undefined {
    if (!this.#clustered || message.transport !== "local" || !this.#placedRuntimes.has(message.runtime))
      return undefined;
    const assigned = this.#assignments.get(message.deployment);
    // the plan already counted this node's slots; a rolling update surges past them for a while
    if (assigned?.has(message.index)) return { type: "placed", nodeId: this.#nodes[0]?.nodeId ?? "local" };
    const reason = assigned
      ? `replica ${message.index} is placed on another node`
      : "waiting for the cluster's placement";
    return { type: "elsewhere", reason };
  }

  #place(transport: "local" | "remote", affinity: string | undefined): PlacementResult {
    if (transport === "local") {
      let best: { node: NodeCapacity; used: number } | undefined;
      for (const node of this.#nodes) {
        const used = this.#count(node.nodeId, (p) => p.transport === "local");
        if (used >= node.modelSlots) continue;
        if (!best || used < best.used) best = { node, used };
      }
      return best
        ? { type: "placed", nodeId: best.node.nodeId }
        : { type: "no-capacity", reason: "no node has a free model slot" };
    }
    const withEgress = this.#nodes.filter((node) => node.egress);
    if (withEgress.length === 0 && this.#clustered)
      return { type: "elsewhere", reason: "this node has no egress: its requests go to nodes that have it" };
    if (withEgress.length === 0) return { type: "no-capacity", reason: "no node has egress" };
    if (affinity !== undefined) {
      const sharing = withEgress.find((node) => this.#count(node.nodeId, (p) => p.affinity === affinity) > 0);
      if (sharing) return { type: "placed", nodeId: sharing.nodeId };
    }
    let best = withEgress[0] as NodeCapacity;
    for (const node of withEgress) {
      if (this.#count(node.nodeId, () => true) < this.#count(best.nodeId, () => true)) best = node;
    }
    return { type: "placed", nodeId: best.nodeId };
  }

  #count(nodeId: string, predicate: (placement: Placement) => boolean): number {
    let count = 0;
    for (const placement of this.#placements.values()) {
      if (placement.nodeId === nodeId && predicate(placement)) count++;
    }
    return count;
  }
}
