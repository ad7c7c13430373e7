// Where each local model replica runs in a cluster (docs/cluster.md, "Placement"). Every
// heartbeat, each node renews the placement lease (one holds it); the holder plans from the live
// nodes' heartbeats (model slots, model files) and the deployments to place (planPlacements),
// writes the plan when it changed (compare-and-set on its version) and publishes a notice. Every
// node reads the plan at each heartbeat and at once on a notice, hands its share (the replica
// indexes placed on it) to its serving layer, and reports how its own replicas are doing.

import type { Logger } from "../actor/index.js";
import type { NodeRecord } from "./membership.js";
import type { PlacementLease } from "./placement-lease.js";
import { type PlacementDemand, type PlacementNode, planPlacements } from "./placement-plan.js";
import type { NoticeChannel } from "./redis-notice-channel.js";
import type {
  PlacementSnapshot,
  RedisPlacementStore,
  ReplicaReport,
  StoredPlacement,
  StoredUnplaced,
} from "./redis-placement-store.js";

/** This node's share of the plan: for each placed deployment, the replica indexes it runs. */
export type Assignments = ReadonlyMap<string, ReadonlySet<number>>;

export interface PlacementSyncOptions {
  readonly nodeId: string;
  readonly lease: PlacementLease;
  readonly store: RedisPlacementStore;
  readonly channel: NoticeChannel;
  readonly logger: Logger;
  /** How long a node's replica reports outlive it (node_timeout_ms). */
  readonly reportTtlMs: number;
  /** The deployments the placement decides (llama), as this node's catalog copy has them. */
  readonly demands: () => Promise<readonly PlacementDemand[]>;
  /** How this node's replicas of those deployments are doing. */
  readonly reports: () => Promise<ReadonlyArray<Omit<ReplicaReport, "nodeId">>>;
  /** Told this node's share after every read of the plan (the whole share, each time). */
  readonly onAssignments: (assignments: Assignments) => void;
  /**
   * Whether every other live node can route `deployment` to a node that is not this one (their
   * heartbeats say what their routing copies reach): while handing over, a replica here stops only
   * once that holds.
   */
  readonly routedElsewhere: (deployment: string) => boolean;
}

export class PlacementSync {
  readonly #options: PlacementSyncOptions;
  #stopped = false;
  #lastShare = "";
  #unplaced: readonly StoredUnplaced[] = [];
  #reports: readonly ReplicaReport[] = [];
  #share: Assignments = new Map();
  #lastLog = "";
  #holding = false;
  /** While handing over: the replicas this node ran, kept until another node reports them ready. */
  #handingOver: Set<string> | undefined;
  /** Replicas whose replacement was ready and routable at the last read: let go at the next. */
  readonly #letGo = new Set<string>();
  #handedOver: (() => void) | undefined;

  constructor(options: PlacementSyncOptions) {
    this.#options = options;
  }

  /** Whether this node held the lease at its last heartbeat (for cluster status). */
  get holdsLease(): boolean {
    return this.#holding;
  }

  /** The replicas the plan could not place, with the reasons, as last read (for /readyz). */
  get unplaced(): readonly StoredUnplaced[] {
    return this.#unplaced;
  }

  /** Every live node's replica reports, as last read (whose turn it is to replace in place). */
  get reports(): readonly ReplicaReport[] {
    return this.#reports;
  }

  async start(): Promise<void> {
    await this.#options.channel.subscribe(() => void this.refresh());
  }

  /** One heartbeat: renew the lease, plan when holding it, report, then read this node's share. */
  async tick(nodes: readonly NodeRecord[]): Promise<void> {
    if (this.#stopped) return;
    const { store, lease, nodeId } = this.#options;
    try {
      const [holding, demands, reports] = await Promise.all([
        lease.renew(),
        this.#options.demands(),
        this.#options.reports(),
      ]);
      this.#holding = holding;
      let snapshot = await store.snapshot();
      if (holding) snapshot = (await this.#plan(nodes, demands, snapshot)) ?? snapshot;
      await store.report(nodeId, reports, this.#options.reportTtlMs);
      this.#hand(snapshot, demands, true);
    } catch (error) {
      this.#options.logger.debug({ error: (error as Error).message }, "placement round failed");
    }
  }

  /** Re-reads the plan (on a notice) and hands this node its share. Never rejects. */
  async refresh(): Promise<void> {
    if (this.#stopped) return;
    try {
      const [snapshot, demands] = await Promise.all([
        this.#options.store.snapshot(),
        this.#options.demands(),
      ]);
      this.#hand(snapshot, demands, false);
    } catch (error) {
      this.#options.logger.debug({ error: (error as Error).message }, "placement read failed");
    }
  }

  /**
   * Graceful shutdown, before the drain (docs/cluster.md, "Placement"): this node's heartbeat
   * says it is draining (the caller sets that), so the lease holder moves its replicas; each keeps
   * serving here until another node reports its replacement ready, then drains. Resolves once no
   * replica is left here, or after `timeoutMs`.
   */
  handOver(timeoutMs: number, clock: { setTimer(ms: number, fn: () => void): () => void }): Promise<void> {
    if (this.#handingOver) return Promise.resolve();
    this.#handingOver = new Set(
      [...this.#share].flatMap(([name, indexes]) => [...indexes].map((index) => `${name}\u0000${index}`)),
    );
    if (this.#handingOver.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cancel = clock.setTimer(timeoutMs, () => done());
      const done = () => {
        cancel();
        this.#handedOver = undefined;
        resolve();
      };
      this.#handedOver = done;
    });
  }

  /** At shutdown: the lease goes to another node at its next heartbeat. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#options.lease.release().catch(() => {});
    await this.#options.channel.close().catch(() => {});
  }

  /** The holder's part: a new plan when the inputs changed it; undefined when nothing was written. */
  async #plan(
    nodes: readonly NodeRecord[],
    demands: readonly PlacementDemand[],
    snapshot: PlacementSnapshot,
  ): Promise<PlacementSnapshot | undefined> {
    const plan = planPlacements(nodes.map(placementNode), demands, snapshot.placements);
    const log = JSON.stringify(plan.unplaced);
    if (log !== this.#lastLog) {
      this.#lastLog = log;
      for (const unplaced of plan.unplaced)
        this.#options.logger.warn(
          { deployment: unplaced.deployment, replica: unplaced.index, reason: unplaced.reason },
          "replica cannot be placed",
        );
    }
    if (
      samePlacements(plan.placements, snapshot.placements) &&
      JSON.stringify(plan.unplaced) === JSON.stringify(snapshot.unplaced)
    )
      return undefined;
    const written = await this.#options.store.writePlan(plan.placements, snapshot.version, plan.unplaced);
    if (!written) return undefined;
    this.#options.logger.info(
      {
        placements: plan.placements.map((p) => `${p.deployment}[${p.index}]@${p.nodeId}`),
        moved: plan.moved.length,
      },
      "placement changed",
    );
    await this.#options.channel.publish().catch(() => {});
    return {
      ...snapshot,
      version: snapshot.version + 1,
      placements: plan.placements,
      unplaced: plan.unplaced,
    };
  }

  /** `heartbeat`: called from a heartbeat's round (a hand-over lets a replica go only there). */
  #hand(snapshot: PlacementSnapshot, demands: readonly PlacementDemand[], heartbeat: boolean): void {
    this.#unplaced = snapshot.unplaced;
    this.#reports = snapshot.reports;
    const share = new Map<string, Set<number>>();
    for (const demand of demands) share.set(demand.deployment, new Set());
    const add = (deployment: string, index: number) => {
      let indexes = share.get(deployment);
      if (!indexes) {
        indexes = new Set();
        share.set(deployment, indexes);
      }
      indexes.add(index);
    };
    for (const placement of snapshot.placements)
      if (placement.nodeId === this.#options.nodeId) add(placement.deployment, placement.index);
    // a deployment the plan places nowhere and names no unplaced replica of is one the holder no
    // longer places (removed from the catalog): this node keeps its replicas of it until its own
    // catalog copy removes it, so its clients get 404 then rather than 503 in between
    for (const demand of demands) {
      const { deployment } = demand;
      const planned =
        snapshot.placements.some((p) => p.deployment === deployment) ||
        snapshot.unplaced.some((u) => u.deployment === deployment);
      const had = this.#share.get(deployment);
      if (!planned && had) for (const index of had) add(deployment, index);
    }
    const handing = this.#handingOver;
    if (handing) {
      // a replica moving away keeps serving here until its new node reports it ready
      for (const key of [...handing]) {
        const [deployment, index] = splitKey(key);
        const readyElsewhere = snapshot.reports.some(
          (report) =>
            report.deployment === deployment &&
            report.index === index &&
            report.nodeId !== this.#options.nodeId &&
            report.state === "ready",
        );
        // ready elsewhere and routable there from every node, at two heartbeats in a row
        const replaced = readyElsewhere && this.#options.routedElsewhere(deployment);
        if (heartbeat && replaced && this.#letGo.has(key)) {
          handing.delete(key);
          continue;
        }
        if (heartbeat) {
          if (replaced) this.#letGo.add(key);
          else this.#letGo.delete(key);
        }
        add(deployment, index);
      }
      if (handing.size === 0) this.#handedOver?.();
    }
    const key = JSON.stringify([...share].map(([name, indexes]) => [name, [...indexes].sort()]));
    if (key === this.#lastShare) return;
    this.#lastShare = key;
    this.#share = share;
    this.#options.onAssignments(share);
  }
}

function placementNode(node: NodeRecord): PlacementNode {
  return {
    nodeId: node.nodeId,
    modelSlots: node.modelSlots ?? 0,
    models: node.models ?? [],
    ...(node.missingModels ? { missingModels: node.missingModels } : {}),
    ...(node.freeGpus === undefined ? {} : { freeGpus: node.freeGpus }),
    ...(node.draining ? { draining: true } : {}),
  };
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf("\u0000");
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

function samePlacements(a: readonly StoredPlacement[], b: readonly StoredPlacement[]): boolean {
  const key = (list: readonly StoredPlacement[]) =>
    list
      .map((p) => `${p.deployment}\u0000${p.index}\u0000${p.nodeId}`)
      .sort()
      .join("\n");
  return key(a) === key(b);
}
