// One engine target of a node with its load: what the coordinator reports of its own engines and
// what a cluster's routing sync writes to the shared routing table (docs/cluster.md, "Forwarding").

export interface EngineTargetLoad {
  readonly deployment: string;
  readonly targetId: string;
  /** The most sequences the engine runs at once; load is (running + waiting) / maxConcurrent. */
  readonly maxConcurrent: number;
  readonly running: number;
  readonly waiting: number;
  /** A draining target finishes its work but gets no new routes. */
  readonly draining: boolean;
}
