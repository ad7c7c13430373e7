// DeploymentManagerActor: the catalog of deployments and their replicas. `apply` creates or
// updates (new replicas start, and once they serve the old ones drain: no request is dropped),
// `remove` answers 404 at once and drains, `list`/`get` report states:
// pending → serving → draining → removed, or failed with a reason. The rules are rollout.ts's
// (docs/architecture.md, "Rollouts"); the actor carries out its effects.

import { type Actor, type ActorContext, type ActorRef, callbackRef, type Signal } from "../../actor/index.js";
import type { DeploymentSpec } from "../../core/deployment.js";
import type {
  EngineCommand,
  EngineDeps,
  EngineDrained,
  ReplicaEvent,
} from "../../protocol/engine-messages.js";
import type { RuntimeRegistry } from "../../protocol/runtime-registry.js";
import type { MetricsMessage } from "../metrics/metrics-messages.js";
import { policyOf } from "../request/deployment-policy.js";
import type { CoordinatorMessage } from "../request/dp-coordinator-actor.js";
import type { DeploymentStatus } from "../service-types.js";
import type { PlacementMessage, PlacementResult } from "./deployment-placement-actor.js";
import {
  deploymentOf,
  type RolloutEffect,
  type RolloutEvent,
  type RolloutState,
  statusOf,
  step,
  type Waiters,
} from "./rollout.js";

export type ApplyResult =
  | { readonly ok: true; readonly status: DeploymentStatus }
  | { readonly ok: false; readonly reason: string; readonly status?: DeploymentStatus };

export type CommandResult =
  | { readonly ok: true; readonly replicas: number }
  | { readonly ok: false; readonly status: 400 | 404; readonly reason: string };

export type ManagerMessage =
  | { readonly type: "apply"; readonly deployment: DeploymentSpec; readonly replyTo: ActorRef<ApplyResult> }
  | { readonly type: "remove"; readonly name: string; readonly replyTo: ActorRef<ApplyResult> }
  | { readonly type: "list"; readonly replyTo: ActorRef<readonly DeploymentStatus[]> }
  | { readonly type: "get"; readonly name: string; readonly replyTo: ActorRef<DeploymentStatus | undefined> }
  | ReplicaEvent
  | EngineDrained
  | { readonly type: "placed"; readonly replicaId: string; readonly result: PlacementResult }
  /** A rollout's `place` effect with a delay, due now. */
  | {
      readonly type: "place-later";
      readonly deployment: string;
      readonly replicaId: string;
      readonly transport: "local" | "remote";
    }
  | { readonly type: "replica-terminated"; readonly replicaId: string }
  /** Admin: relay a command to every live replica of a deployment. */
  | {
      readonly type: "command";
      readonly deployment: string;
      readonly command: Extract<EngineCommand, { type: "force-circuit" | "rebuild-session" }>;
      readonly replyTo: ActorRef<CommandResult>;
    }
  /** Budget `throttle`: scale the deployment's concurrency (0.5 halves it, 1 restores it). */
  | { readonly type: "throttle"; readonly deployment: string; readonly factor: number }
  /**
   * A cluster's placement changed: for each deployment it places, the replica indexes on this
   * node (docs/cluster.md, "Placement"). The placement actor was told the same first.
   */
  | { readonly type: "placement-changed"; readonly assignments: ReadonlyMap<string, ReadonlySet<number>> };

interface Entry {
  rollout: RolloutState;
  /** The callers the rollout counts as waiting, in arrival order. */
  readonly waiters: Record<Waiters, ActorRef<ApplyResult>[]>;
}

export interface DeploymentManagerOptions {
  readonly registry: RuntimeRegistry;
  readonly coordinator: ActorRef<CoordinatorMessage>;
  readonly placement: ActorRef<PlacementMessage>;
  readonly metrics: ActorRef<MetricsMessage>;
  readonly engineDeps: Omit<EngineDeps, "lifecycle">;
}

const PLACEMENT_TIMEOUT_MS = 5_000;

/** Feeds each deployment's rollout (rollout.ts) its events and carries out the effects. */
export class DeploymentManagerActor implements Actor<ManagerMessage> {
  readonly #context: ActorContext<ManagerMessage>;
  readonly #options: DeploymentManagerOptions;
  readonly #entries = new Map<string, Entry>();
  /** Each started replica's engine: the spawned ref, then the one it reported ready with. */
  readonly #engines = new Map<string, ActorRef<EngineCommand>>();

  constructor(context: ActorContext<ManagerMessage>, options: DeploymentManagerOptions) {
    this.#context = context;
    this.#options = options;
  }

  receive(message: ManagerMessage): void {
    switch (message.type) {
      case "apply": {
        const transport = this.#options.registry.get(message.deployment.runtime)?.transport;
        this.#feed(
          message.deployment.name,
          { type: "apply", spec: message.deployment, transport },
          message.replyTo,
        );
        return;
      }
      case "remove":
        this.#feed(message.name, { type: "remove", name: message.name }, message.replyTo);
        return;
      case "list":
        message.replyTo.tell([...this.#entries.values()].map((entry) => statusOf(entry.rollout)));
        return;
      case "get": {
        const entry = this.#entries.get(message.name);
        message.replyTo.tell(entry ? statusOf(entry.rollout) : undefined);
        return;
      }
      case "place-later": {
        const entry = this.#entries.get(message.deployment);
        const replica = entry?.rollout.replicas.find((r) => r.replicaId === message.replicaId);
        if (replica?.status === "placing")
          this.#carryOut(
            message.deployment,
            { type: "place", replicaId: message.replicaId, transport: message.transport },
            entry,
          );
        return;
      }
      case "placed":
      case "replica-failed":
      case "replica-terminated":
        this.#feed(deploymentOf(message.replicaId), message);
        return;
      case "replica-ready": {
        const { replicaId, ref, maxConcurrent } = message;
        // the engine's own ref from now on (the one the coordinator routes to)
        if (this.#engines.has(replicaId)) this.#engines.set(replicaId, ref);
        this.#feed(deploymentOf(replicaId), { type: "replica-ready", replicaId, maxConcurrent });
        return;
      }
      case "engine-drained":
        this.#feed(deploymentOf(message.replicaId), {
          type: "replica-drained",
          replicaId: message.replicaId,
        });
        return;
      case "command":
        this.#command(message);
        return;
      case "throttle":
        this.#feed(message.deployment, message);
        return;
      case "placement-changed":
        for (const [name, assigned] of message.assignments) {
          const entry = this.#entries.get(name);
          const transport = entry && this.#options.registry.get(entry.rollout.spec.runtime)?.transport;
          if (transport) this.#feed(name, { type: "placement-changed", assigned, transport });
        }
        return;
    }
  }

  onSignal(signal: Signal): void {
    if (signal.type !== "child-failed") return;
    for (const [replicaId, ref] of this.#engines) {
      if (ref === (signal.ref as unknown)) {
        this.#feed(deploymentOf(replicaId), {
          type: "replica-failed",
          replicaId,
          reason: String(signal.error),
        });
        return;
      }
    }
  }

  #feed(name: string, event: RolloutEvent, caller?: ActorRef<ApplyResult>): void {
    let entry = this.#entries.get(name);
    const { state, effects } = step(entry?.rollout, event);
    if (state) {
      entry ??= { rollout: state, waiters: { apply: [], remove: [] } };
      entry.rollout = state;
      if (state.state === "removed") this.#entries.delete(name);
      else this.#entries.set(name, entry);
    }
    for (const effect of effects) this.#carryOut(name, effect, entry, caller);
  }

  #carryOut(
    name: string,
    effect: RolloutEffect,
    entry: Entry | undefined,
    caller?: ActorRef<ApplyResult>,
  ): void {
    const { coordinator, placement, metrics } = this.#options;
    switch (effect.type) {
      case "place": {
        const { replicaId, transport } = effect;
        if (effect.afterMs !== undefined) {
          this.#context.scheduleOnce(effect.afterMs, {
            type: "place-later",
            deployment: name,
            replicaId,
            transport,
          });
          return;
        }
        const spec = entry?.rollout.spec;
        this.#context.pipeToSelf(
          placement.ask<PlacementResult>(
            (replyTo) => ({
              type: "place",
              replicaId,
              transport,
              deployment: name,
              runtime: spec?.runtime ?? "",
              index: entry?.rollout.replicas.find((replica) => replica.replicaId === replicaId)?.index ?? 0,
              gpus: spec?.gpus ?? 0,
              replyTo,
            }),
            { timeoutMs: PLACEMENT_TIMEOUT_MS },
          ),
          (result) => ({
            type: "placed",
            replicaId,
            result: result.ok ? result.value : { type: "no-capacity", reason: "placement did not answer" },
          }),
        );
        return;
      }
      case "start":
        this.#start(name, effect.replicaId, effect.index, effect.spec);
        return;
      case "set-concurrency":
        this.#engines.get(effect.replicaId)?.tell({ type: "set-concurrency", factor: effect.factor });
        return;
      case "register": {
        const ref = this.#engines.get(effect.replicaId);
        if (!ref) return;
        const { replicaId: targetId, maxConcurrent } = effect;
        coordinator.tell({ type: "register", deployment: name, targetId, ref, maxConcurrent });
        return;
      }
      case "set-draining":
      case "deregister":
        coordinator.tell({ type: effect.type, deployment: name, targetId: effect.replicaId });
        return;
      case "drain":
        this.#engines
          .get(effect.replicaId)
          ?.tell({ type: "drain", replyTo: this.#context.self as ActorRef<EngineDrained> });
        return;
      case "release":
        placement.tell({ type: "release", replicaId: effect.replicaId });
        metrics.tell({ type: "replica-removed", deployment: name, replicaId: effect.replicaId });
        return;
      case "stop": {
        const ref = this.#engines.get(effect.replicaId);
        this.#engines.delete(effect.replicaId);
        if (!ref) return;
        this.#context.unwatch(ref as ActorRef<never>);
        void this.#context.stop(ref as ActorRef<never>);
        return;
      }
      case "publish":
        coordinator.tell({
          type: "deployment-state",
          deployment: name,
          state: effect.state,
          policy: policyOf(effect.spec, this.#options.registry),
          ...(effect.reason !== undefined ? { reason: effect.reason } : {}),
        });
        metrics.tell({ type: "deployment-state", deployment: name, state: effect.state });
        return;
      case "wait":
        if (caller) entry?.waiters[effect.waiters].push(caller);
        return;
      case "reply": {
        const to = effect.to === "caller" ? [caller] : (entry?.waiters[effect.to].splice(0) ?? []);
        for (const replyTo of to) replyTo?.tell(effect.result);
        return;
      }
      case "log":
        this.#context.log[effect.level](effect.fields, effect.message);
        return;
    }
  }

  #start(name: string, replicaId: string, index: number, spec: DeploymentSpec): void {
    const lifecycle = this.#context.self as ActorRef<ReplicaEvent>;
    try {
      const runtime = this.#options.registry.get(spec.runtime);
      if (!runtime) throw new Error(`runtime "${spec.runtime}" is not available in this build`);
      const ref = this.#context.spawn(
        runtime.engineProps(spec, { replicaId, index }, { ...this.#options.engineDeps, lifecycle }),
        actorName(replicaId),
      );
      this.#engines.set(replicaId, ref);
      this.#context.watchWith(ref as ActorRef<never>, { type: "replica-terminated", replicaId });
    } catch (error) {
      const reason = `cannot start replica: ${error instanceof Error ? error.message : String(error)}`;
      this.#feed(name, { type: "replica-failed", replicaId, reason });
    }
  }

  /** Admin: relay a command to every live replica of a deployment. */
  #command(message: Extract<ManagerMessage, { type: "command" }>): void {
    const rollout = this.#entries.get(message.deployment)?.rollout;
    if (!rollout || rollout.removing) {
      message.replyTo.tell({
        ok: false,
        status: 404,
        reason: `deployment ${message.deployment} does not exist`,
      });
      return;
    }
    if (this.#options.registry.get(rollout.spec.runtime)?.transport !== "remote") {
      message.replyTo.tell({
        ok: false,
        status: 400,
        reason: `deployment ${message.deployment} runs locally: it has no upstream circuit or session`,
      });
      return;
    }
    const live = rollout.replicas
      .filter((replica) => replica.status === "ready" || replica.status === "draining")
      .flatMap((replica) => this.#engines.get(replica.replicaId) ?? []);
    const replicas = live.length;
    if (message.command.type !== "force-circuit" || replicas === 0) {
      for (const ref of live) ref.tell(message.command);
      message.replyTo.tell({ ok: true, replicas });
      return;
    }
    // a forced circuit is answered once every replica's breaker stored it, so a request sent
    // after the answer (to any node of a cluster) meets the forced state
    let pending = replicas;
    const done = callbackRef<unknown>(`${this.#context.self.path}/force-circuit`, () => {
      pending--;
      if (pending === 0) message.replyTo.tell({ ok: true, replicas });
    });
    for (const ref of live) ref.tell({ ...message.command, done });
  }
}

/** Actor names cannot contain "/"; deployment names may. */
function actorName(replicaId: string): string {
  return `engine-${replicaId.replaceAll("/", "%2F")}`;
}
