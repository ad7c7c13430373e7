// DpCoordinatorActor: this node's copy of the routing table. Deployment → engine targets with load
// scores: this node's engines (registered by the deployment manager) and, in a cluster, the other
// nodes' (handed over whole by the routing sync after each heartbeat or change notice, each with a
// peer engine that forwards to its node; docs/cluster.md, "Forwarding"). Answers each
// RequestActor's `route-to` with the least-loaded live target (power of two choices above two
// targets), skipping draining targets and dropping targets whose engine terminated; a local
// target wins unless a peer's load is lower by more than PEER_LOAD_MARGIN. No store is read per route.

import type { Actor, ActorContext, ActorRef } from "../../actor/index.js";
import { errors, type InferenceError } from "../../core/inference-error.js";
import type { EngineCommand, LoadReported } from "../../protocol/engine-messages.js";
import type { EngineTargetLoad } from "../../protocol/target-load.js";
import type { DeploymentPolicy } from "./deployment-policy.js";

export type DeploymentRouteState = "pending" | "serving" | "draining" | "removed" | "failed";

export interface RouteTarget {
  readonly targetId: string;
  readonly ref: ActorRef<EngineCommand>;
  /** The node whose engine runs the request (`x-rakka-node`). */
  readonly nodeId: string;
}

/** Another node's engine target, as the routing sync last read it from the shared table. */
export interface PeerRouteTarget {
  readonly deployment: string;
  readonly targetId: string;
  readonly nodeId: string;
  readonly maxConcurrent: number;
  readonly running: number;
  readonly waiting: number;
  readonly draining: boolean;
  /** The peer engine that forwards to `nodeId`. */
  readonly ref: ActorRef<EngineCommand>;
}

/**
 * A peer wins over a local target only when its load is lower by more than this (loads are
 * (running + waiting) / max_concurrent): comparable loads keep the request on this node.
 */
export const PEER_LOAD_MARGIN = 0.5;

/** A router returns a value for ordinary outcomes rather than throwing (STYLE.md). */
export type RouteResult =
  | { readonly type: "routed"; readonly target: RouteTarget; readonly policy: DeploymentPolicy }
  | { readonly type: "no-route"; readonly error: InferenceError; readonly policy?: DeploymentPolicy };

export type RouteReply = RouteResult & { readonly attempt: number };

export type CoordinatorMessage =
  | LoadReported
  | {
      readonly type: "register";
      readonly deployment: string;
      readonly targetId: string;
      readonly ref: ActorRef<EngineCommand>;
      readonly maxConcurrent: number;
    }
  | { readonly type: "deregister"; readonly deployment: string; readonly targetId: string }
  | { readonly type: "set-draining"; readonly deployment: string; readonly targetId: string }
  | {
      readonly type: "deployment-state";
      readonly deployment: string;
      readonly state: DeploymentRouteState;
      readonly policy: DeploymentPolicy;
      readonly reason?: string;
    }
  /**
   * `attempt` is echoed in the reply, so a RequestActor can take it as its own message (no ask).
   * `localOnly`: a request forwarded here by another node runs on this node's engines or fails;
   * it is never forwarded again.
   */
  | {
      readonly type: "route-to";
      readonly deployment: string;
      readonly attempt?: number;
      readonly localOnly?: boolean;
      /** Targets not to route to (a re-route after one of them failed the request). */
      readonly exclude?: readonly string[];
      /** The route admits no work (a token count): it is not counted in the target's load. */
      readonly uncounted?: boolean;
      readonly replyTo: ActorRef<RouteReply>;
    }
  /** The routing sync: every other live node's targets (the whole set; replaces the last). */
  | { readonly type: "peer-targets"; readonly targets: readonly PeerRouteTarget[] }
  /** The routing sync, before each heartbeat: this node's targets and their load. */
  | { readonly type: "local-targets"; readonly replyTo: ActorRef<readonly EngineTargetLoad[]> }
  | { readonly type: "target-terminated"; readonly deployment: string; readonly targetId: string };

interface Target {
  readonly targetId: string;
  readonly ref: ActorRef<EngineCommand>;
  readonly nodeId: string;
  readonly maxConcurrent: number;
  running: number;
  waiting: number;
  /** Routes handed out since the last load report. */
  routedSinceReport: number;
  draining: boolean;
}

interface DeploymentRoutes {
  state: DeploymentRouteState;
  policy: DeploymentPolicy | undefined;
  reason: string | undefined;
  readonly targets: Map<string, Target>;
  /** Other nodes' targets for this deployment (empty outside a cluster). */
  peers: Target[];
}

/** Load = (running + waiting + routes since the last report) / max_concurrent. */
export function loadOf(target: {
  running: number;
  waiting: number;
  routedSinceReport: number;
  maxConcurrent: number;
}): number {
  return (target.running + target.waiting + target.routedSinceReport) / target.maxConcurrent;
}

/** Picks among live targets: the lowest load, or the better of two random ones above two targets. */
export function pickTarget<T extends Parameters<typeof loadOf>[0]>(
  candidates: readonly T[],
  random: () => number,
): T | undefined {
  if (candidates.length === 0) return undefined;
  if (candidates.length <= 2) {
    let best = candidates[0] as T;
    for (const candidate of candidates) if (loadOf(candidate) < loadOf(best)) best = candidate;
    return best;
  }
  const first = Math.floor(random() * candidates.length);
  let second = Math.floor(random() * (candidates.length - 1));
  if (second >= first) second++;
  const a = candidates[first] as T;
  const b = candidates[second] as T;
  return loadOf(b) < loadOf(a) ? b : a;
}

export class DpCoordinatorActor implements Actor<CoordinatorMessage> {
  readonly #context: ActorContext<CoordinatorMessage>;
  readonly #random: () => number;
  readonly #nodeId: string;
  readonly #deployments = new Map<string, DeploymentRoutes>();
  /** Peer targets of deployments this node does not know (yet): kept for when it learns them. */
  #peers = new Map<string, Target[]>();

  constructor(context: ActorContext<CoordinatorMessage>, random: () => number, nodeId = "local") {
    this.#context = context;
    this.#random = random;
    this.#nodeId = nodeId;
  }

  receive(message: CoordinatorMessage): void {
    switch (message.type) {
      case "route-to":
        message.replyTo.tell({
          ...this.#route(
            message.deployment,
            message.localOnly === true,
            message.exclude ?? [],
            message.uncounted === true,
          ),
          attempt: message.attempt ?? 0,
        });
        return;
      case "peer-targets":
        this.#setPeers(message.targets);
        return;
      case "local-targets":
        message.replyTo.tell(this.#localTargets());
        return;
      case "load-reported": {
        const target = this.#deployments.get(message.deployment)?.targets.get(message.targetId);
        if (!target) return;
        target.running = message.running;
        target.waiting = message.waiting;
        target.routedSinceReport = 0;
        return;
      }
      case "register": {
        const routes = this.#routes(message.deployment);
        routes.targets.set(message.targetId, {
          targetId: message.targetId,
          ref: message.ref,
          nodeId: this.#nodeId,
          maxConcurrent: message.maxConcurrent,
          running: 0,
          waiting: 0,
          routedSinceReport: 0,
          draining: false,
        });
        this.#context.watchWith(message.ref as ActorRef<never>, {
          type: "target-terminated",
          deployment: message.deployment,
          targetId: message.targetId,
        });
        return;
      }
      case "set-draining": {
        const target = this.#deployments.get(message.deployment)?.targets.get(message.targetId);
        if (target) target.draining = true;
        return;
      }
      case "deregister":
      case "target-terminated": {
        const routes = this.#deployments.get(message.deployment);
        const target = routes?.targets.get(message.targetId);
        if (!routes || !target) return;
        routes.targets.delete(message.targetId);
        if (message.type === "deregister") this.#context.unwatch(target.ref as ActorRef<never>);
        return;
      }
      case "deployment-state": {
        if (message.state === "removed") {
          this.#deployments.delete(message.deployment);
          return;
        }
        const routes = this.#routes(message.deployment);
        routes.state = message.state;
        routes.policy = message.policy;
        routes.reason = message.reason;
        return;
      }
    }
  }

  #routes(deployment: string): DeploymentRoutes {
    let routes = this.#deployments.get(deployment);
    if (!routes) {
      routes = {
        state: "pending",
        policy: undefined,
        reason: undefined,
        targets: new Map(),
        peers: this.#peers.get(deployment) ?? [],
      };
      this.#deployments.set(deployment, routes);
    }
    return routes;
  }

  #setPeers(targets: readonly PeerRouteTarget[]): void {
    const byDeployment = new Map<string, Target[]>();
    for (const peer of targets) {
      if (peer.nodeId === this.#nodeId) continue;
      let list = byDeployment.get(peer.deployment);
      if (!list) {
        list = [];
        byDeployment.set(peer.deployment, list);
      }
      list.push({
        targetId: peer.targetId,
        ref: peer.ref,
        nodeId: peer.nodeId,
        maxConcurrent: Math.max(1, peer.maxConcurrent),
        running: peer.running,
        waiting: peer.waiting,
        routedSinceReport: 0,
        draining: peer.draining,
      });
    }
    this.#peers = byDeployment;
    for (const [name, routes] of this.#deployments) routes.peers = byDeployment.get(name) ?? [];
  }

  #localTargets(): EngineTargetLoad[] {
    const snapshot: EngineTargetLoad[] = [];
    for (const [deployment, routes] of this.#deployments) {
      for (const target of routes.targets.values()) {
        snapshot.push({
          deployment,
          targetId: target.targetId,
          maxConcurrent: target.maxConcurrent,
          running: target.running,
          waiting: target.waiting,
          draining: target.draining,
        });
      }
    }
    return snapshot;
  }

  #route(deployment: string, localOnly: boolean, exclude: readonly string[], uncounted = false): RouteResult {
    const routes = this.#deployments.get(deployment);
    if (!routes || routes.state === "removed" || routes.state === "draining") {
      const error = errors.notFound(`The model \`${quotedModelName(deployment)}\` does not exist`);
      return { type: "no-route", error };
    }
    const policy = routes.policy;
    const withPolicy = policy ? { policy } : {};
    const local: Target[] = [];
    const usable = (target: Target) => !target.draining && !exclude.includes(target.targetId);
    if (routes.state === "serving")
      for (const target of routes.targets.values()) if (usable(target)) local.push(target);
    const peers: Target[] = [];
    if (!localOnly) for (const target of routes.peers) if (usable(target)) peers.push(target);
    const chosen = choose(pickTarget(local, this.#random), pickTarget(peers, this.#random));
    if (chosen && policy) {
      if (!uncounted) chosen.routedSinceReport++;
      return {
        type: "routed",
        target: { targetId: chosen.targetId, ref: chosen.ref, nodeId: chosen.nodeId },
        policy,
      };
    }
    if (routes.state === "pending") {
      const error = errors.unavailable(`deployment ${deployment} is still starting`, "pending");
      return { type: "no-route", error, ...withPolicy };
    }
    if (routes.state === "failed") {
      const reason = routes.reason ?? "no replica serves";
      return {
        type: "no-route",
        error: errors.unavailable(`deployment ${deployment} failed: ${reason}`, "failed"),
        ...withPolicy,
      };
    }
    const error = errors.unavailable(`deployment ${deployment} has no live replica`, "serving");
    return { type: "no-route", error, ...withPolicy };
  }
}

/** The local pick unless the peer pick's load is lower by more than PEER_LOAD_MARGIN. */
function choose(local: Target | undefined, peer: Target | undefined): Target | undefined {
  if (!local) return peer;
  if (!peer) return local;
  return loadOf(peer) + PEER_LOAD_MARGIN < loadOf(local) ? peer : local;
}

/** A client's model name is quoted in an error with at most this many characters. */
const QUOTED_MODEL_CHARS = 256;

/** `name` cut to QUOTED_MODEL_CHARS characters (code points), with "…" when it was cut. */
function quotedModelName(name: string): string {
  if (name.length <= QUOTED_MODEL_CHARS) return name;
  const characters = Array.from(name);
  if (characters.length <= QUOTED_MODEL_CHARS) return name;
  return `${characters.slice(0, QUOTED_MODEL_CHARS).join("")}…`;
}
