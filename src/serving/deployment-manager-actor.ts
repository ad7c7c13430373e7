// DeploymentManagerActor: the catalog of deployments and their replicas. `apply` creates or
// updates (new replicas start, and once they serve the old ones drain: no request is dropped),
// `remove` answers 404 at once and drains, `list`/`get` report states:
// pending → serving → draining → removed, or failed with a reason.

import { type Actor, type ActorContext, type ActorRef, callbackRef, type Signal } from "../actor/index.js";
import type { DeploymentSpec } from "../core/deployment.js";
import { Secret } from "../core/secret.js";
import type { EngineCommand, EngineDeps, EngineDrained, ReplicaEvent } from "../protocol/engine-messages.js";
import type { RuntimeRegistry } from "../protocol/runtime-registry.js";
import type { PlacementMessage, PlacementResult } from "./deployment-placement-actor.js";
import { policyOf } from "./deployment-policy.js";
import type { CoordinatorMessage, DeploymentRouteState } from "./dp-coordinator-actor.js";
import type { MetricsMessage } from "./metrics-messages.js";
import type { DeploymentStatus } from "./service-types.js";

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
  | { readonly type: "replica-terminated"; readonly replicaId: string }
  /** Admin: relay a command to every live replica of a deployment. */
  | {
      readonly type: "command";
      readonly deployment: string;
      readonly command: Extract<EngineCommand, { type: "force-circuit" | "rebuild-session" }>;
      readonly replyTo: ActorRef<CommandResult>;
    }
  /** Budget `throttle`: scale the deployment's concurrency (0.5 halves it, 1 restores it). */
  | { readonly type: "throttle"; readonly deployment: string; readonly factor: number };

type ReplicaStatus = "placing" | "loading" | "ready" | "draining" | "failed" | "stopped";

interface Replica {
  readonly replicaId: string;
  readonly deployment: string;
  readonly generation: number;
  readonly index: number;
  readonly spec: DeploymentSpec;
  ref: ActorRef<EngineCommand> | undefined;
  status: ReplicaStatus;
}

interface Entry {
  spec: DeploymentSpec;
  previousSpec: DeploymentSpec | undefined;
  state: DeploymentRouteState;
  reason: string | undefined;
  generation: number;
  /** The last generation ever started: replica ids are never reused, even after a rollback. */
  lastGeneration: number;
  removing: boolean;
  /** Budget throttle applied to every replica (new ones included). */
  concurrencyFactor: number;
  /** The last state told to the coordinator, metrics and log (to log transitions once). */
  published: DeploymentRouteState | undefined;
  readonly replicas: Map<string, Replica>;
  readonly applyWaiters: Array<{ generation: number; replyTo: ActorRef<ApplyResult> }>;
  readonly removeWaiters: ActorRef<ApplyResult>[];
}

export interface DeploymentManagerOptions {
  readonly registry: RuntimeRegistry;
  readonly coordinator: ActorRef<CoordinatorMessage>;
  readonly placement: ActorRef<PlacementMessage>;
  readonly metrics: ActorRef<MetricsMessage>;
  readonly engineDeps: Omit<EngineDeps, "lifecycle">;
}

const PLACEMENT_TIMEOUT_MS = 5_000;

export class DeploymentManagerActor implements Actor<ManagerMessage> {
  readonly #context: ActorContext<ManagerMessage>;
  readonly #options: DeploymentManagerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #replicas = new Map<string, Replica>();

  constructor(context: ActorContext<ManagerMessage>, options: DeploymentManagerOptions) {
    this.#context = context;
    this.#options = options;
  }

  receive(message: ManagerMessage): void {
    switch (message.type) {
      case "apply":
        this.#apply(message.deployment, message.replyTo);
        return;
      case "remove":
        this.#remove(message.name, message.replyTo);
        return;
      case "list":
        message.replyTo.tell([...this.#entries.values()].map((entry) => this.#status(entry)));
        return;
      case "get": {
        const entry = this.#entries.get(message.name);
        message.replyTo.tell(entry ? this.#status(entry) : undefined);
        return;
      }
      case "placed":
        this.#placed(message.replicaId, message.result);
        return;
      case "replica-ready":
        this.#replicaReady(message.replicaId, message.ref, message.maxConcurrent);
        return;
      case "replica-failed":
        this.#replicaFailed(message.replicaId, message.reason);
        return;
      case "replica-terminated":
        this.#replicaFailed(message.replicaId, "the replica stopped unexpectedly");
        return;
      case "engine-drained":
        this.#stopReplica(message.replicaId);
        return;
      case "command": {
        const entry = this.#entries.get(message.deployment);
        if (!entry || entry.removing) {
          message.replyTo.tell({
            ok: false,
            status: 404,
            reason: `deployment ${message.deployment} does not exist`,
          });
          return;
        }
        if (this.#options.registry.get(entry.spec.runtime)?.transport !== "remote") {
          message.replyTo.tell({
            ok: false,
            status: 400,
            reason: `deployment ${message.deployment} runs locally: it has no upstream circuit or session`,
          });
          return;
        }
        const live = [...entry.replicas.values()].filter(
          (replica) => replica.ref && (replica.status === "ready" || replica.status === "draining"),
        );
        const replicas = live.length;
        if (message.command.type !== "force-circuit" || replicas === 0) {
          for (const replica of live) replica.ref?.tell(message.command);
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
        for (const replica of live) replica.ref?.tell({ ...message.command, done });
        return;
      }
      case "throttle": {
        const entry = this.#entries.get(message.deployment);
        if (!entry) return;
        entry.concurrencyFactor = message.factor;
        for (const replica of entry.replicas.values()) {
          replica.ref?.tell({ type: "set-concurrency", factor: message.factor });
        }
        return;
      }
    }
  }

  onSignal(signal: Signal): void {
    if (signal.type === "child-failed") {
      const replica = [...this.#replicas.values()].find((r) => r.ref === (signal.ref as unknown));
      if (replica) this.#replicaFailed(replica.replicaId, String(signal.error));
    }
  }

  // ---- apply / remove -------------------------------------------------------------------------

  #apply(spec: DeploymentSpec, replyTo: ActorRef<ApplyResult>): void {
    const transport = this.#options.registry.get(spec.runtime)?.transport;
    if (transport === undefined) {
      replyTo.tell({ ok: false, reason: `runtime "${spec.runtime}" is not available in this build` });
      return;
    }
    let entry = this.#entries.get(spec.name);
    if (entry?.removing) {
      replyTo.tell({
        ok: false,
        reason: `deployment ${spec.name} is being removed`,
        status: this.#status(entry),
      });
      return;
    }
    if (entry && sameSpec(entry.spec, spec) && entry.state !== "failed") {
      if (this.#settled(entry)) replyTo.tell({ ok: true, status: this.#status(entry) });
      else entry.applyWaiters.push({ generation: entry.generation, replyTo });
      return;
    }
    if (!entry) {
      entry = {
        spec,
        previousSpec: undefined,
        state: "pending",
        reason: undefined,
        generation: 0,
        lastGeneration: 0,
        removing: false,
        concurrencyFactor: 1,
        published: undefined,
        replicas: new Map(),
        applyWaiters: [],
        removeWaiters: [],
      };
      this.#entries.set(spec.name, entry);
    } else {
      entry.previousSpec = entry.state === "serving" ? entry.spec : undefined;
      entry.spec = spec;
      entry.lastGeneration++;
      entry.generation = entry.lastGeneration;
      if (entry.state === "failed") {
        entry.state = "pending";
        entry.reason = undefined;
      }
    }
    entry.applyWaiters.push({ generation: entry.generation, replyTo });
    this.#publishState(entry);
    for (let index = 0; index < spec.replicas; index++) this.#startReplica(entry, index);
  }

  #startReplica(entry: Entry, index: number): void {
    const spec = entry.spec;
    const replicaId = `${spec.name}#${entry.generation}.${index}`;
    const replica: Replica = {
      replicaId,
      deployment: spec.name,
      generation: entry.generation,
      index,
      spec,
      ref: undefined,
      status: "placing",
    };
    entry.replicas.set(replicaId, replica);
    this.#replicas.set(replicaId, replica);
    const transport = this.#options.registry.get(spec.runtime)?.transport ?? "local";
    this.#context.pipeToSelf(
      this.#options.placement.ask<PlacementResult>(
        (replyTo) => ({ type: "place", replicaId, transport, replyTo }),
        { timeoutMs: PLACEMENT_TIMEOUT_MS },
      ),
      (result) => ({
        type: "placed",
        replicaId,
        result: result.ok ? result.value : { type: "no-capacity", reason: "placement did not answer" },
      }),
    );
  }

  #placed(replicaId: string, result: PlacementResult): void {
    const replica = this.#replicas.get(replicaId);
    if (replica?.status !== "placing") return;
    if (result.type === "no-capacity") {
      this.#replicaFailed(replicaId, `cannot place replica: ${result.reason}`);
      return;
    }
    if (result.type === "elsewhere") {
      this.#servedElsewhere(replica, result.reason);
      return;
    }
    const entry = this.#entries.get(replica.deployment);
    const runtime = this.#options.registry.get(replica.spec.runtime);
    if (!entry || !runtime) return;
    if (entry.removing || replica.generation !== entry.generation) {
      this.#stopReplica(replicaId);
      return;
    }
    const lifecycle = this.#context.self as ActorRef<ReplicaEvent>;
    try {
      const ref = this.#context.spawn(
        runtime.engineProps(
          replica.spec,
          { replicaId, index: replica.index },
          { ...this.#options.engineDeps, lifecycle },
        ),
        actorName(replicaId),
      );
      replica.ref = ref;
      replica.status = "loading";
      this.#context.watchWith(ref as ActorRef<never>, { type: "replica-terminated", replicaId });
    } catch (error) {
      this.#replicaFailed(
        replicaId,
        `cannot start replica: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  #remove(name: string, replyTo: ActorRef<ApplyResult>): void {
    const entry = this.#entries.get(name);
    if (!entry) {
      replyTo.tell({ ok: false, reason: `deployment ${name} does not exist` });
      return;
    }
    entry.removeWaiters.push(replyTo);
    if (entry.removing) return;
    entry.removing = true;
    entry.state = "draining";
    this.#publishState(entry);
    for (const waiter of entry.applyWaiters.splice(0)) {
      waiter.replyTo.tell({
        ok: false,
        reason: `deployment ${name} was removed`,
        status: this.#status(entry),
      });
    }
    for (const replica of entry.replicas.values()) this.#drainReplica(replica);
    this.#checkRemoved(entry);
  }

  // ---- replica lifecycle ----------------------------------------------------------------------

  #replicaReady(replicaId: string, ref: ActorRef<EngineCommand>, maxConcurrent: number): void {
    const replica = this.#replicas.get(replicaId);
    if (replica?.status !== "loading") return;
    const entry = this.#entries.get(replica.deployment);
    if (!entry) return;
    replica.status = "ready";
    replica.ref = ref;
    if (entry.concurrencyFactor !== 1) ref.tell({ type: "set-concurrency", factor: entry.concurrencyFactor });
    this.#options.coordinator.tell({
      type: "register",
      deployment: replica.deployment,
      targetId: replicaId,
      ref,
      maxConcurrent,
    });
    if (entry.removing || replica.generation !== entry.generation) {
      this.#drainReplica(replica);
      return;
    }
    this.#settle(entry);
  }

  /**
   * A replica placed on no node here (a cluster node without egress): it is dropped, and once no
   * replica of the generation is left the deployment serves through other nodes' engines.
   */
  #servedElsewhere(replica: Replica, reason: string): void {
    const entry = this.#entries.get(replica.deployment);
    this.#release(replica);
    entry?.replicas.delete(replica.replicaId);
    this.#replicas.delete(replica.replicaId);
    if (!entry || entry.removing || replica.generation !== entry.generation) return;
    if (this.#current(entry).length > 0) return;
    entry.state = "serving";
    entry.reason = reason;
    entry.previousSpec = undefined;
    this.#publishState(entry);
    for (const old of entry.replicas.values()) if (old.generation < entry.generation) this.#drainReplica(old);
    this.#replyWaiters(entry, true);
  }

  #replicaFailed(replicaId: string, reason: string): void {
    const replica = this.#replicas.get(replicaId);
    if (!replica || replica.status === "failed" || replica.status === "stopped") return;
    const entry = this.#entries.get(replica.deployment);
    const wasDraining = replica.status === "draining";
    replica.status = "failed";
    this.#options.coordinator.tell({
      type: "deregister",
      deployment: replica.deployment,
      targetId: replicaId,
    });
    this.#context.log.warn({ deployment: replica.deployment, replica: replicaId, reason }, "replica failed");
    this.#release(replica);
    if (replica.ref) {
      this.#context.unwatch(replica.ref as ActorRef<never>);
      void this.#context.stop(replica.ref as ActorRef<never>);
    }
    // a failed replica is gone: it must not hold up a removal or pile up across re-applies
    entry?.replicas.delete(replicaId);
    this.#replicas.delete(replicaId);
    if (!entry) return;
    if (wasDraining || entry.removing) {
      this.#checkRemoved(entry);
      return;
    }
    if (replica.generation === entry.generation) {
      entry.reason = reason;
      this.#settle(entry);
    }
  }

  #drainReplica(replica: Replica): void {
    if (replica.status === "failed" || replica.status === "stopped" || replica.status === "draining") return;
    if (!replica.ref || replica.status === "placing" || replica.status === "loading") {
      this.#stopReplica(replica.replicaId);
      return;
    }
    replica.status = "draining";
    this.#options.coordinator.tell({
      type: "set-draining",
      deployment: replica.deployment,
      targetId: replica.replicaId,
    });
    replica.ref.tell({ type: "drain", replyTo: this.#context.self as ActorRef<EngineDrained> });
  }

  #stopReplica(replicaId: string): void {
    const replica = this.#replicas.get(replicaId);
    if (!replica || replica.status === "stopped") return;
    replica.status = "stopped";
    this.#options.coordinator.tell({
      type: "deregister",
      deployment: replica.deployment,
      targetId: replicaId,
    });
    this.#release(replica);
    if (replica.ref) {
      this.#context.unwatch(replica.ref as ActorRef<never>);
      void this.#context.stop(replica.ref as ActorRef<never>);
    }
    const entry = this.#entries.get(replica.deployment);
    entry?.replicas.delete(replicaId);
    this.#replicas.delete(replicaId);
    if (entry) this.#checkRemoved(entry);
  }

  #release(replica: Replica): void {
    this.#options.placement.tell({ type: "release", replicaId: replica.replicaId });
    this.#options.metrics.tell({
      type: "replica-removed",
      deployment: replica.deployment,
      replicaId: replica.replicaId,
    });
  }

  // ---- state ----------------------------------------------------------------------------------

  #current(entry: Entry): Replica[] {
    return [...entry.replicas.values()].filter((replica) => replica.generation === entry.generation);
  }

  #settled(entry: Entry): boolean {
    return this.#current(entry).every(
      (replica) => replica.status !== "placing" && replica.status !== "loading",
    );
  }

  /** Called when a current-generation replica became ready or failed. */
  #settle(entry: Entry): void {
    const current = this.#current(entry);
    const ready = current.filter((replica) => replica.status === "ready");
    if (!this.#settled(entry)) {
      // the first ready replica of a new deployment already serves
      if (entry.state === "pending" && ready.length > 0) {
        entry.state = "serving";
        entry.reason = undefined;
        this.#publishState(entry);
      }
      return;
    }
    if (ready.length > 0) {
      entry.state = "serving";
      entry.previousSpec = undefined;
      if (ready.length === current.length) entry.reason = undefined;
      this.#publishState(entry);
      for (const replica of entry.replicas.values()) {
        if (replica.generation < entry.generation) this.#drainReplica(replica);
      }
      this.#replyWaiters(entry, true);
      return;
    }
    const reason = entry.reason ?? "no replica could start";
    const oldServing = [...entry.replicas.values()].some(
      (r) => r.generation < entry.generation && r.status === "ready",
    );
    if (oldServing && entry.previousSpec) {
      // a failed update leaves the previous generation serving
      for (const replica of current) this.#stopReplica(replica.replicaId);
      entry.spec = entry.previousSpec;
      entry.previousSpec = undefined;
      entry.generation = Math.max(...[...entry.replicas.values()].map((r) => r.generation));
      entry.state = "serving";
      this.#publishState(entry);
      this.#replyWaiters(entry, false, `update failed, previous version kept: ${reason}`);
      return;
    }
    entry.state = "failed";
    entry.reason = reason;
    this.#publishState(entry);
    this.#replyWaiters(entry, false, reason);
  }

  #replyWaiters(entry: Entry, ok: boolean, reason?: string): void {
    const status = this.#status(entry);
    for (const waiter of entry.applyWaiters.splice(0)) {
      waiter.replyTo.tell(ok ? { ok: true, status } : { ok: false, reason: reason ?? "failed", status });
    }
  }

  #checkRemoved(entry: Entry): void {
    if (!entry.removing || entry.replicas.size > 0) return;
    this.#entries.delete(entry.spec.name);
    entry.state = "removed";
    this.#publishState(entry);
    const status = this.#status(entry);
    for (const replyTo of entry.removeWaiters.splice(0)) replyTo.tell({ ok: true, status });
  }

  #publishState(entry: Entry): void {
    const name = entry.spec.name;
    this.#options.coordinator.tell({
      type: "deployment-state",
      deployment: name,
      state: entry.state,
      policy: policyOf(entry.spec, this.#options.registry),
      ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
    });
    this.#options.metrics.tell({ type: "deployment-state", deployment: name, state: entry.state });
    const changed = entry.published !== entry.state;
    entry.published = entry.state;
    if (changed && (entry.state === "failed" || entry.state === "serving")) {
      const fields = {
        deployment: name,
        state: entry.state,
        runtime: entry.spec.runtime,
        replicas: entry.spec.replicas,
        reason: entry.reason,
      };
      // a failed deployment is an error an operator alerts on; serving is news
      if (entry.state === "serving") this.#context.log.info(fields, "deployment serving");
      else this.#context.log.error(fields, "deployment failed");
    }
  }

  #status(entry: Entry): DeploymentStatus {
    const current = this.#current(entry);
    return {
      name: entry.spec.name,
      state: entry.state,
      ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
      replicas: entry.spec.replicas,
      readyReplicas: current.filter((replica) => replica.status === "ready").length,
      runtime: entry.spec.runtime,
      model: entry.spec.model,
    };
  }
}

/** Secrets compare by their source (a changed variable or file is a changed spec), never by value. */
function specKey(spec: DeploymentSpec): string {
  // the holder's raw value: JSON.stringify has already applied Secret#toJSON to `value`
  return JSON.stringify(spec, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Secret ? { secret: raw.source } : value;
  });
}

function sameSpec(a: DeploymentSpec, b: DeploymentSpec): boolean {
  return specKey(a) === specKey(b);
}

/** Actor names cannot contain "/"; deployment names may. */
function actorName(replicaId: string): string {
  return `engine-${replicaId.replaceAll("/", "%2F")}`;
}
