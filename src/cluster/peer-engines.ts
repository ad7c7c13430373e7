// One PeerEngineActor per other live node (docs/cluster.md, "Forwarding"): the routing sync's
// copy of the other nodes' targets becomes route targets whose refs are these actors. A node that
// leaves the membership (or changes its advertise URL) gets its actor stopped, which closes its
// keep-alive pool; a later target of it gets a fresh one.

import { type ActorRef, type ActorSystem, type Logger, props } from "../actor/index.js";
import type { RoutingTarget } from "../core/stores/index.js";
import type { EngineCommand } from "../protocol/engine-messages.js";
import type { NodeRecord } from "./membership.js";
import { PeerEngineActor } from "./peer-engine-actor.js";

/** Another node's engine target with the ref that forwards to it. */
export interface PeerTarget extends RoutingTarget {
  readonly ref: ActorRef<EngineCommand>;
}

export interface PeerEnginesOptions {
  readonly system: ActorSystem;
  readonly nodeKey: string;
  readonly logger: Logger;
}

export class PeerEngines {
  readonly #options: PeerEnginesOptions;
  readonly #engines = new Map<string, { readonly url: string; readonly ref: ActorRef<EngineCommand> }>();
  #spawned = 0;

  constructor(options: PeerEnginesOptions) {
    this.#options = options;
  }

  /**
   * The targets of nodes in `nodes` (the membership's live records), each with its node's peer
   * engine; targets of unknown nodes are left out, and engines of nodes no longer listed stop.
   */
  attach(targets: readonly RoutingTarget[], nodes: readonly NodeRecord[]): PeerTarget[] {
    const urls = new Map(nodes.map((node) => [node.nodeId, node.url]));
    for (const [nodeId, engine] of this.#engines) {
      if (urls.get(nodeId) !== engine.url) this.#stop(nodeId);
    }
    const attached: PeerTarget[] = [];
    for (const target of targets) {
      const url = urls.get(target.nodeId);
      if (url === undefined) continue;
      attached.push({ ...target, ref: this.#engineFor(target.nodeId, url) });
    }
    return attached;
  }

  /** At shutdown: every peer engine stops (their pools close). */
  async close(): Promise<void> {
    const refs = [...this.#engines.values()].map((engine) => engine.ref);
    this.#engines.clear();
    await Promise.all(refs.map((ref) => this.#options.system.stop(ref as ActorRef<never>)));
  }

  #engineFor(nodeId: string, url: string): ActorRef<EngineCommand> {
    const known = this.#engines.get(nodeId);
    if (known) return known.ref;
    const { system, nodeKey, logger } = this.#options;
    const ref = system.spawn(
      props<EngineCommand>(() => new PeerEngineActor({ nodeId, url, nodeKey, clock: system.clock, logger })),
      `peer-engine-${++this.#spawned}`,
    );
    this.#engines.set(nodeId, { url, ref });
    return ref;
  }

  #stop(nodeId: string): void {
    const engine = this.#engines.get(nodeId);
    if (!engine) return;
    this.#engines.delete(nodeId);
    void this.#options.system.stop(engine.ref as ActorRef<never>);
  }
}
