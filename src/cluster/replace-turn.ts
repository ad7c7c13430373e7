// Whose turn it is to replace a local replica in place during a rolling update (docs/cluster.md,
// "Placement"). A node with no free model slot can start the new generation's replica of an index
// only by draining the old one first, so replicas of one deployment are replaced one at a time
// across the cluster, decided from the replica reports every node writes at its heartbeat (the
// last plan read): a node goes when its own report already says its replica is `waiting`, no other
// node's replica of the deployment is `starting` (loading, or being replaced), and no node with a
// lower id is `waiting` too. A node that goes reports its replica `starting` until it serves, so
// the others wait; then the next waiting node by id goes. Generations are not compared: each
// node counts its own. Pure: no clock, no I/O.

export interface TurnReport {
  readonly deployment: string;
  readonly nodeId: string;
  readonly state: "starting" | "waiting" | "ready" | "failed";
}

/** Whether `nodeId` may now replace its replica of `deployment` in place. */
export function isReplaceTurn(deployment: string, nodeId: string, reports: readonly TurnReport[]): boolean {
  const of = reports.filter((report) => report.deployment === deployment);
  // the others must have seen this node wait (its report was written and read back)
  if (!of.some((report) => report.nodeId === nodeId && report.state === "waiting")) return false;
  const others = of.filter((report) => report.nodeId !== nodeId);
  if (others.some((report) => report.state === "starting")) return false;
  return others.every((report) => report.state !== "waiting" || report.nodeId > nodeId);
}
