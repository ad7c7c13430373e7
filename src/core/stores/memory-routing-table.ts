// In-process RoutingTable: the routing table of a single-node system (and of tests).
// DpCoordinatorActor owns one when no cluster store is configured; the Redis one replaces it in a
// cluster with the same behaviour (both run routing-table.contract.ts).

import type { LoadReport, RoutingTable, RoutingTarget } from "./routing-table.js";

export class MemoryRoutingTable implements RoutingTable {
  /** deployment → targetId → target; Map keeps insertion order, which is the registration order. */
  readonly #byDeployment = new Map<string, Map<string, RoutingTarget>>();

  async register(target: RoutingTarget): Promise<void> {
    let targets = this.#byDeployment.get(target.deployment);
    if (targets === undefined) {
      targets = new Map();
      this.#byDeployment.set(target.deployment, targets);
    }
    targets.set(target.targetId, { ...target });
  }

  async deregister(deployment: string, targetId: string): Promise<boolean> {
    const targets = this.#byDeployment.get(deployment);
    if (targets === undefined || !targets.delete(targetId)) return false;
    if (targets.size === 0) this.#byDeployment.delete(deployment);
    return true;
  }

  async reportLoad(deployment: string, targetId: string, report: LoadReport): Promise<boolean> {
    const target = this.#byDeployment.get(deployment)?.get(targetId);
    if (target === undefined) return false;
    target.running = report.running;
    target.waiting = report.waiting;
    target.reportedAt = report.reportedAt;
    if (report.draining !== undefined) target.draining = report.draining;
    return true;
  }

  async setDraining(deployment: string, targetId: string, draining: boolean): Promise<boolean> {
    const target = this.#byDeployment.get(deployment)?.get(targetId);
    if (target === undefined) return false;
    target.draining = draining;
    return true;
  }

  async list(deployment: string): Promise<RoutingTarget[]> {
    const targets = this.#byDeployment.get(deployment);
    return targets === undefined ? [] : [...targets.values()].map((target) => ({ ...target }));
  }

  async deployments(): Promise<string[]> {
    return [...this.#byDeployment.keys()].sort();
  }

  async removeStale(olderThan: number): Promise<RoutingTarget[]> {
    return this.#removeWhere((target) => target.reportedAt < olderThan);
  }

  async removeNode(nodeId: string): Promise<RoutingTarget[]> {
    return this.#removeWhere((target) => target.nodeId === nodeId);
  }

  #removeWhere(matches: (target: RoutingTarget) => boolean): RoutingTarget[] {
    const removed: RoutingTarget[] = [];
    for (const deployment of [...this.#byDeployment.keys()].sort()) {
      const targets = this.#byDeployment.get(deployment)!;
      for (const [targetId, target] of targets) {
        if (!matches(target)) continue;
        targets.delete(targetId);
        removed.push({ ...target });
      }
      if (targets.size === 0) this.#byDeployment.delete(deployment);
    }
    return removed;
  }
}
