// The routing table: which engine targets serve each deployment, on which node, and their last
// reported load: the shared form of what DpCoordinatorActor keeps for its own node's engines. In a
// cluster each node's RoutingSync (src/cluster/routing-sync.ts) writes its targets here on every
// heartbeat and hands the other nodes' to its coordinator, which routes from that copy (forwarding
// to the owning node; docs/cluster.md, "Forwarding"). One process needs no table: its coordinator
// knows all its engines.

/** One engine replica that can take requests for a deployment. */
export interface RoutingTarget {
  /** The deployment (the client's `model`) this target serves. */
  deployment: string;
  /** Unique within the deployment (e.g. the engine core's actor path). */
  targetId: string;
  /** The cluster node that owns the engine; requests for it are forwarded there. */
  nodeId: string;
  /** The most sequences the engine runs at once; load is (running + waiting) / maxConcurrent. */
  maxConcurrent: number;
  /** Requests running at the last report. */
  running: number;
  /** Requests queued at the last report. */
  waiting: number;
  /** A draining target finishes its work but gets no new routes. */
  draining: boolean;
  /** When the last report (or the registration) was made, ms since epoch. */
  reportedAt: number;
}

/** A load report from an engine core. */
export interface LoadReport {
  /** Requests running on the engine now. */
  running: number;
  /** Requests queued on the engine now. */
  waiting: number;
  /** Omitted: the target's draining flag stays as it was. */
  draining?: boolean;
  /** When the engine measured this load, ms since epoch. */
  reportedAt: number;
}

/**
 * Deployment → engine targets. Every method is async so a shared (Redis) implementation fits;
 * returned targets are copies, so changing them never changes the table.
 */
export interface RoutingTable {
  /**
   * RoutingSync calls this at the heartbeat after one of its node's targets appeared (or its
   * max_concurrent changed, or the table lost it). Registering a (deployment, targetId) that is
   * already there replaces its fields and keeps its place in the registration order.
   */
  register(target: RoutingTarget): Promise<void>;

  /**
   * RoutingSync calls this at the heartbeat after one of its node's targets went away, and for
   * each of them when the node stops.
   * Resolves true when the target was there and is now gone, false when it was unknown.
   */
  deregister(deployment: string, targetId: string): Promise<boolean>;

  /**
   * RoutingSync calls this at every heartbeat for each of its node's targets. Resolves false and
   * changes nothing for an unknown target (a report that raced its deregistration), true otherwise.
   */
  reportLoad(deployment: string, targetId: string, report: LoadReport): Promise<boolean>;

  /**
   * RoutingSync calls this at the heartbeat after a target started or stopped draining
   * (rolling update, scale-down, removal). Resolves false for an unknown target.
   */
  setDraining(deployment: string, targetId: string, draining: boolean): Promise<boolean>;

  /**
   * A deployment's targets: RoutingSync reads every deployment's after each heartbeat and change
   * notice. Targets come in registration order (stable, so ties break the same way on every
   * node); empty when unknown.
   */
  list(deployment: string): Promise<RoutingTarget[]>;

  /** Deployments that have at least one target, sorted by name; RoutingSync lists them before reading each. */
  deployments(): Promise<string[]>;

  /**
   * Removes every target whose `reportedAt` is earlier than `olderThan` (ms since epoch) and
   * resolves with the removed targets, deployments in name order, each deployment's targets in
   * registration order. No node calls it today: a dead node's targets go through removeNode, and
   * the Redis table's targets also expire on their own (targetTtlMs).
   */
  removeStale(olderThan: number): Promise<RoutingTarget[]>;

  /**
   * RoutingSync calls this for a node whose heartbeat expired: removes every target
   * owned by `nodeId` and resolves with them (same order as `removeStale`).
   */
  removeNode(nodeId: string): Promise<RoutingTarget[]>;
}
