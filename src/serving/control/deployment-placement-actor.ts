// DeploymentPlacementActor: picks the node for each replica. Local replicas need a node with a
// free model slot, and a replica whose deployment sets `gpus` that many free GPUs (counted once,
// when the first such replica is placed: docs/configuration.md, `gpus`); remote ones any node
// with egress, preferring one that already serves the same provider key (they then share one rate
// limiter). On a cluster node the shared placement decides where local model replicas run, and
// this actor only checks the node's model slots during a rolling update (docs/cluster.md,
// "Placement"). A remote replica on a cluster node without egress is placed nowhere: that node
// forwards the deployment's requests to the nodes that have egress (docs/cluster.md, "Forwarding").

import type { Actor, ActorRef } from "../../actor/index.js";

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
  | { readonly type: "elsewhere"; readonly reason: string }
  /** Placed here, but no model slot is free: the previous generation's replica of the index goes first. */
  | { readonly type: "replace" }
  /** Placed here, but not now: no slot is free and another replica of the deployment is being replaced. */
  | { readonly type: "wait"; readonly reason: string };

export type PlacementMessage =
  | {
      readonly type: "place";
      readonly replicaId: string;
      readonly transport: "local" | "remote";
      /** The replica's deployment, runtime and index: in a cluster, checked against the shared placement. */
      readonly deployment: string;
      readonly runtime: string;
      readonly index: number;
      /** GPUs the replica needs (its deployment's `gpus`; 0: none). */
      readonly gpus: number;
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
  readonly gpus: number;
  /** A replica of a runtime the cluster places (it takes one of `[cluster] model_slots`). */
  readonly placed: boolean;
}

/** The replica a cluster node wants to replace in place: whether it is this node's turn. */
export interface ReplaceRequest {
  readonly deployment: string;
  readonly replicaId: string;
}

export interface PlacementOptions {
  /** Other nodes exist: see the constructor. */
  readonly clustered?: boolean;
  readonly placedRuntimes?: readonly string[];
  /** Counts this node's GPUs (asked once, at the first replica that needs some); none: 0 GPUs. */
  readonly detectGpus?: () => Promise<number>;
  /** In a cluster: `[cluster] model_slots`, the replicas of `placedRuntimes` this node holds at most. */
  readonly placedSlots?: number;
  /**
   * In a cluster, for a replica placed here with no free slot: whether it may replace its index's
   * old replica now (one replica of a deployment at a time across the cluster). Default: yes.
   */
  readonly replaceTurn?: (request: ReplaceRequest) => boolean;
}

export class DeploymentPlacementActor implements Actor<PlacementMessage> {
  readonly #nodes: readonly NodeCapacity[];
  readonly #placements = new Map<string, Placement>();
  readonly #clustered: boolean;
  #assignments: ReadonlyMap<string, ReadonlySet<number>> = new Map();

  readonly #placedRuntimes: ReadonlySet<string>;
  readonly #detectGpus: (() => Promise<number>) | undefined;
  readonly #placedSlots: number;
  readonly #replaceTurn: ((request: ReplaceRequest) => boolean) | undefined;
  /** The GPUs this node has, once a replica that needs some was placed. */
  #gpus: number | undefined;

  /**
   * `clustered`: other nodes exist, so a remote replica with no egress here is served by them, and
   * a local replica of a `placedRuntimes` runtime runs here only where the shared placement puts it
   * (the cluster's plan has counted the GPUs there).
   */
  constructor(nodes: readonly NodeCapacity[], options: PlacementOptions = {}) {
    this.#nodes = nodes;
    this.#clustered = options.clustered ?? false;
    this.#placedRuntimes = new Set(options.placedRuntimes ?? []);
    this.#detectGpus = options.detectGpus;
    this.#placedSlots = options.placedSlots ?? Number.POSITIVE_INFINITY;
    this.#replaceTurn = options.replaceTurn;
  }

  async receive(message: PlacementMessage): Promise<void> {
    switch (message.type) {
      case "place": {
        const result =
          this.#clusterPlacement(message) ??
          (await this.#gpuShortage(message)) ??
          this.#place(message.transport, message.affinity);
        if (result.type === "placed") {
          this.#placements.set(message.replicaId, {
            nodeId: result.nodeId,
            transport: message.transport,
            affinity: message.affinity,
            gpus: message.transport === "local" ? message.gpus : 0,
            placed: this.#placesHere(message),
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

  get #nodeId(): string {
    return this.#nodes[0]?.nodeId ?? "local";
  }

  /** Whether the cluster's shared placement decides where this replica runs. */
  #placesHere(message: Extract<PlacementMessage, { type: "place" }>): boolean {
    return this.#clustered && message.transport === "local" && this.#placedRuntimes.has(message.runtime);
  }

  /** "elsewhere" for a replica the shared placement puts on another node (or has not placed yet). */
  #clusterPlacement(message: Extract<PlacementMessage, { type: "place" }>): PlacementResult | undefined {
    if (!this.#placesHere(message)) return undefined;
    const assigned = this.#assignments.get(message.deployment);
    if (assigned?.has(message.index)) {
      // a rolling update surges by one where a slot is free, else replaces in place when it is
      // this node's turn (one replica of a deployment at a time on the node: the rollout's rule)
      const { deployment, replicaId } = message;
      if (this.#count(this.#nodeId, (p) => p.placed) < this.#placedSlots)
        return { type: "placed", nodeId: this.#nodeId };
      if (this.#replaceTurn?.({ deployment, replicaId }) ?? true) return { type: "replace" };
      return {
        type: "wait",
        reason: `no free model slot here: replaced once the other replicas of ${deployment} serve`,
      };
    }
    const reason = assigned
      ? `replica ${message.index} is placed on another node`
      : "waiting for the cluster's placement";
    return { type: "elsewhere", reason };
  }

  /** "no-capacity" for a local replica that needs more GPUs than this node has free. */
  async #gpuShortage(
    message: Extract<PlacementMessage, { type: "place" }>,
  ): Promise<PlacementResult | undefined> {
    if (message.transport !== "local" || message.gpus <= 0) return undefined;
    this.#gpus ??= this.#detectGpus ? await this.#detectGpus() : 0;
    let used = 0;
    for (const placement of this.#placements.values()) used += placement.gpus;
    const free = Math.max(0, this.#gpus - used);
    if (free >= message.gpus) return undefined;
    const needs = `${message.gpus} GPU${message.gpus === 1 ? "" : "s"}`;
    return {
      type: "no-capacity",
      reason: `the replica needs ${needs} and this node has ${free} free (${this.#gpus} found by node-llama-cpp)`,
    };
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
