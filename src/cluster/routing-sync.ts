// Every node's engine targets in the shared routing table, and a copy of the other live nodes' on
// each node, so the router reads no store per route (docs/cluster.md, "Forwarding"). Once per
// heartbeat RoutingSync writes what changed in this node's targets, publishing a notice on
// `${prefix}routing` when a target came, went or changed its draining flag, and re-reads the
// table; every node re-reads at once when a notice arrives, and a missed notice heals at the next
// heartbeat. The writes of one heartbeat leave together, as one batch ("Round trips").

import type { Clock, Logger } from "../actor/index.js";
import type { RoutingTable, RoutingTarget } from "../core/stores/index.js";
import type { EngineTargetLoad } from "../protocol/target-load.js";

/** Change notices between nodes (Redis pub/sub in a cluster; an in-memory fake in tests). */
export interface RoutingChannel {
  publish(): Promise<void>;
  /** `onChange` is called for every notice any node publishes (this node's own included is fine). */
  subscribe(onChange: () => void): Promise<void>;
  close(): Promise<void>;
}

export interface RoutingSyncOptions {
  readonly table: RoutingTable;
  readonly channel: RoutingChannel;
  readonly nodeId: string;
  readonly clock: Pick<Clock, "now">;
  readonly logger: Logger;
  /** Told the other live nodes' targets after every refresh (the whole set, each time). */
  readonly onPeers: (targets: readonly RoutingTarget[]) => void;
}

export class RoutingSync {
  readonly #options: RoutingSyncOptions;
  /** This node's targets as the table holds them (as far as this node knows), by targetKey. */
  readonly #written = new Map<string, EngineTargetLoad>();
  /** The live nodes of the last sync; undefined before the first one. */
  #liveNodes: ReadonlySet<string> | undefined;
  /** Every target of the last read that landed, this node's and dead nodes' included. */
  #read: readonly RoutingTarget[] = [];
  #reading: Promise<boolean> | undefined;
  #queuedRead: Promise<boolean> | undefined;
  /** The sync in flight: syncs run one after another, each diffing against the last one's writes. */
  #syncing: Promise<void> = Promise.resolve();
  /** Store failure messages logged since the last sync that met none. */
  readonly #logged = new Set<string>();
  #stopped = false;
  #stopping: Promise<void> | undefined;

  constructor(options: RoutingSyncOptions) {
    this.#options = options;
  }

  /** Subscribes to the channel. Without notices (subscribe failed) the copy is refreshed per heartbeat. */
  async start(): Promise<void> {
    await this.#options.channel
      .subscribe(() => void this.refresh())
      .catch((error: unknown) =>
        this.#options.logger.warn(
          { error: String(error) },
          "routing notifications unavailable: refreshing every heartbeat",
        ),
      );
  }

  /**
   * Called once per heartbeat with this node's targets now and the ids of the live nodes (from
   * the membership view, this node included). Writes the difference to the table, concurrently
   * (one batch): registers new targets and those whose maxConcurrent changed, deregisters vanished
   * ones, sets the draining flag where it changed and reports every other target's load with
   * reportedAt = clock.now(). A report or flag the table refuses as unknown (Redis restarted empty,
   * or a peer took this node for dead) registers the target again at once. Publishes a notice when
   * a target came, went or changed its flag, then refreshes the copy; the targets of nodes not in
   * `liveNodes` (this node aside) are removed from the table and never handed to onPeers.
   * Never rejects: a store failure is logged (debug) once per distinct message, the last copy
   * stays, and what could not be written is written at the next call.
   */
  sync(local: readonly EngineTargetLoad[], liveNodes: ReadonlySet<string> | undefined): Promise<void> {
    const run = this.#syncing
      .then(() => this.#sync(local, liveNodes))
      .catch((error: unknown) => {
        this.#failed(error);
      });
    this.#syncing = run;
    return run;
  }

  /**
   * Re-reads the table (deployments(), then list() of each, concurrently) and calls onPeers; when
   * a read is in flight, one more follows it (however many are asked for meanwhile) and the call
   * resolves after that one. Before the first sync there is no live-node set: every other node's
   * targets as read are handed over. Never rejects: on a store failure the last copy is handed
   * over again, less the nodes no longer live.
   */
  async refresh(): Promise<void> {
    await this.#refresh();
  }

  /** At shutdown: deregisters this node's targets (best effort) and unsubscribes. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #sync(local: readonly EngineTargetLoad[], liveNodes: ReadonlySet<string> | undefined): Promise<void> {
    if (this.#stopped) return;
    const { table, channel } = this.#options;
    // undefined: membership has not read the live nodes yet (a node's first heartbeat), so nobody
    // is judged dead on it
    if (liveNodes !== undefined) this.#liveNodes = new Set(liveNodes);
    const reportedAt = this.#options.clock.now();
    let failed = false;
    let changed = false;
    /** Resolves when `call` settled; a rejection is logged and marks this sync failed. */
    const attempt = <T>(call: Promise<T>, landed: (value: T) => void): Promise<void> =>
      call.then(landed, (error: unknown) => {
        failed = true;
        this.#failed(error);
      });
    const register = (key: string, target: EngineTargetLoad): Promise<void> =>
      attempt(table.register(this.#targetOf(target, reportedAt)), () => {
        this.#written.set(key, target);
        changed = true;
      });

    const wanted = new Map(local.map((target) => [targetKey(target), target]));
    const lost = new Set<string>();
    const calls: Promise<void>[] = [];
    for (const [key, target] of wanted) {
      const known = this.#written.get(key);
      if (known === undefined || known.maxConcurrent !== target.maxConcurrent) {
        calls.push(register(key, target));
        continue;
      }
      const { deployment, targetId } = target;
      if (known.draining !== target.draining) {
        calls.push(
          attempt(table.setDraining(deployment, targetId, target.draining), (found) => {
            if (!found) {
              lost.add(key);
              return;
            }
            this.#written.set(key, { ...known, draining: target.draining });
            changed = true;
          }),
        );
      }
      const report = { running: target.running, waiting: target.waiting, reportedAt };
      calls.push(
        attempt(table.reportLoad(deployment, targetId, report), (found) => {
          if (!found) lost.add(key);
        }),
      );
    }
    for (const [key, target] of this.#written) {
      if (wanted.has(key)) continue;
      calls.push(
        attempt(table.deregister(target.deployment, target.targetId), () => {
          this.#written.delete(key);
          changed = true;
        }),
      );
    }
    await Promise.all(calls);
    if (lost.size > 0) {
      for (const key of lost) this.#written.delete(key);
      await Promise.all([...lost].map((key) => register(key, wanted.get(key) as EngineTargetLoad)));
    }

    const notified = changed
      ? channel.publish().catch((error: unknown) => {
          failed = true;
          this.#failed(error);
        })
      : undefined;
    const [, read] = await Promise.all([notified, this.#refresh()]);
    if (!read) failed = true;
    else if (!(await this.#removeDeadNodes())) failed = true;
    if (!failed) this.#logged.clear();
  }

  /**
   * Removes from the table the targets of nodes missing from the live set, as the last read found
   * them. Only a sync does this, with the live set its heartbeat just read: a notice's refresh may
   * come from a node that joined after this node's last heartbeat. Resolves false on a failure.
   */
  async #removeDeadNodes(): Promise<boolean> {
    const live = this.#liveNodes;
    if (live === undefined) return true;
    const own = this.#options.nodeId;
    const dead = new Set(this.#read.map((t) => t.nodeId).filter((id) => id !== own && !live.has(id)));
    if (dead.size === 0) return true;
    const results = await Promise.allSettled(
      [...dead].map(async (nodeId) => {
        const removed = await this.#options.table.removeNode(nodeId);
        if (removed.length > 0)
          this.#options.logger.debug(
            { node: nodeId, targets: removed.length },
            "removed a dead node's routing targets",
          );
        return nodeId;
      }),
    );
    const gone = new Set<string>();
    let ok = true;
    for (const result of results) {
      if (result.status === "fulfilled") gone.add(result.value);
      else {
        ok = false;
        this.#failed(result.reason);
      }
    }
    this.#read = this.#read.filter((t) => !gone.has(t.nodeId));
    return ok;
  }

  /** One read now, or one right after the read in flight; resolves false when it failed. */
  #refresh(): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    if (!this.#reading) {
      this.#reading = this.#readTable().finally(() => {
        this.#reading = undefined;
      });
      return this.#reading;
    }
    this.#queuedRead ??= this.#reading.then(() => {
      this.#queuedRead = undefined;
      return this.#refresh();
    });
    return this.#queuedRead;
  }

  async #readTable(): Promise<boolean> {
    const { table } = this.#options;
    let ok = true;
    try {
      // deployments() comes sorted by name; each list() in registration order
      const deployments = await table.deployments();
      this.#read = (await Promise.all(deployments.map((deployment) => table.list(deployment)))).flat();
    } catch (error) {
      ok = false;
      this.#failed(error);
    }
    this.#handOver();
    return ok;
  }

  #handOver(): void {
    const { nodeId, onPeers, logger } = this.#options;
    const live = this.#liveNodes;
    const peers = this.#read
      .filter((t) => t.nodeId !== nodeId && (live === undefined || live.has(t.nodeId)))
      .map((t) => ({ ...t }));
    try {
      onPeers(peers);
    } catch (error) {
      logger.warn({ error: String(error) }, "routing peers callback failed");
    }
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    await this.#syncing;
    const { table, channel } = this.#options;
    const results = await Promise.allSettled(
      [...this.#written.values()].map((t) => table.deregister(t.deployment, t.targetId)),
    );
    this.#written.clear();
    // peers drop this node's targets at once rather than at their next heartbeat
    if (results.some((result) => result.status === "fulfilled" && result.value))
      await channel.publish().catch(() => {});
    await channel.close().catch(() => {});
  }

  #targetOf(target: EngineTargetLoad, reportedAt: number): RoutingTarget {
    return {
      deployment: target.deployment,
      targetId: target.targetId,
      nodeId: this.#options.nodeId,
      maxConcurrent: target.maxConcurrent,
      running: target.running,
      waiting: target.waiting,
      draining: target.draining,
      reportedAt,
    };
  }

  #failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.#logged.has(message)) return;
    this.#logged.add(message);
    this.#options.logger.debug(
      { error: message },
      "routing table unavailable: keeping the last copy, retrying at the next heartbeat",
    );
  }
}

function targetKey(target: { readonly deployment: string; readonly targetId: string }): string {
  return JSON.stringify([target.deployment, target.targetId]);
}
