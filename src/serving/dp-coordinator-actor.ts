// DpCoordinatorActor: the routing table. Deployment → engine targets with load scores; answers
// each RequestActor's `route-to` with the least-loaded live target (power of two choices above
// two targets), skipping draining targets and dropping targets whose engine terminated.

import type { Actor, ActorContext, ActorRef } from "../actor/index.js";
import { errors, type InferenceError } from "../core/inference-error.js";
import type { EngineCommand, LoadReported } from "../protocol/engine-messages.js";
import type { DeploymentPolicy } from "./deployment-policy.js";

export type DeploymentRouteState = "pending" | "serving" | "draining" | "removed" | "failed";

export interface RouteTarget {
  readonly targetId: string;
  readonly ref: ActorRef<EngineCommand>;
}

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
  /** `attempt` is echoed in the reply, so a RequestActor can take it as its own message (no ask). */
  | {
      readonly type: "route-to";
      readonly deployment: string;
      readonly attempt?: number;
      readonly replyTo: ActorRef<RouteReply>;
    }
  | { readonly type: "target-terminated"; readonly deployment: string; readonly targetId: string };

interface Target {
  readonly targetId: string;
  readonly ref: ActorRef<EngineCommand>;
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
  readonly #deployments = new Map<string, DeploymentRoutes>();

  constructor(context: ActorContext<CoordinatorMessage>, random: () => number) {
    this.#context = context;
    this.#random = random;
  }

  receive(message: CoordinatorMessage): void {
    switch (message.type) {
      case "route-to":
        message.replyTo.tell({ ...this.#route(message.deployment), attempt: message.attempt ?? 0 });
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
      routes = { state: "pending", policy: undefined, reason: undefined, targets: new Map() };
      this.#deployments.set(deployment, routes);
    }
    return routes;
  }

  #route(deployment: string): RouteResult {
    const routes = this.#deployments.get(deployment);
    if (!routes || routes.state === "removed" || routes.state === "draining") {
      const error = errors.notFound(`The model \`${quotedModelName(deployment)}\` does not exist`);
      return { type: "no-route", error };
    }
    const policy = routes.policy;
    const withPolicy = policy ? { policy } : {};
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
    const candidates: Target[] = [];
    for (const target of routes.targets.values()) if (!target.draining) candidates.push(target);
    const chosen = pickTarget(candidates, this.#random);
    if (!chosen || !policy) {
      const error = errors.unavailable(`deployment ${deployment} has no live replica`, "serving");
      return { type: "no-route", error, ...withPolicy };
    }
    chosen.routedSinceReport++;
    return { type: "routed", target: { targetId: chosen.targetId, ref: chosen.ref }, policy };
  }
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
