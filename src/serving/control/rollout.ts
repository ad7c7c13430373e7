// The rollout of one deployment as pure steps (no clock, no actor refs, no I/O): generations of
// replicas, waiting for the new ones, draining the old ones, rollback, removal
// (docs/architecture.md, "Rollouts"). `step(state, event)` returns the next state and the effects
// the DeploymentManagerActor carries out (placement asks, engines, coordinator, replies, logs).

import type { DeploymentSpec } from "../../core/deployment.js";
import { Secret } from "../../core/secret.js";

export type DeploymentState = "pending" | "serving" | "draining" | "removed" | "failed";

/** A replica that fails or stops leaves the state: these are the statuses of the live ones. */
export type ReplicaStatus = "placing" | "loading" | "ready" | "draining";

export type Transport = "local" | "remote";

export interface RolloutReplica {
  readonly replicaId: string;
  readonly generation: number;
  readonly index: number;
  /** The spec its generation was applied with (the engine is built from it). */
  readonly spec: DeploymentSpec;
  readonly status: ReplicaStatus;
  /**
   * While placing on a cluster node without a free model slot: `replace` waits for the previous
   * generation's replica of its index to go, `turn` for the placement to be asked again later.
   */
  readonly waiting?: "replace" | "turn";
  /** While waiting to `replace`: the older replicas whose slot it takes (placed again once they went). */
  readonly displaces?: readonly string[];
}

export interface RolloutState {
  readonly spec: DeploymentSpec;
  /** The spec that served before the update in progress: a failed update goes back to it. */
  readonly previousSpec: DeploymentSpec | undefined;
  readonly state: DeploymentState;
  readonly reason: string | undefined;
  /** The generation that serves (or is starting to). */
  readonly generation: number;
  /** The last generation ever started: replica ids are never reused, even after a rollback. */
  readonly lastGeneration: number;
  /** Replicas started again for an index after a placement change (their ids get a suffix). */
  readonly restarts: number;
  readonly removing: boolean;
  /** Budget throttle applied to every replica (new ones included). */
  readonly concurrencyFactor: number;
  /** The last state published (to log transitions once). */
  readonly published: DeploymentState | undefined;
  /** In start order. */
  readonly replicas: readonly RolloutReplica[];
  /** Callers of `apply` waiting for the generation to settle. */
  readonly applyWaiters: number;
  /** Callers of `remove` waiting for the last replica to stop. */
  readonly removeWaiters: number;
}

/** What the deployment's `get` answers (the shape of serving's DeploymentStatus). */
export interface RolloutStatus {
  readonly name: string;
  readonly state: DeploymentState;
  readonly reason?: string;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly localReplicas: ReadonlyArray<{
    readonly index: number;
    readonly ready: boolean;
    readonly waiting?: boolean;
  }>;
  readonly runtime: string;
  readonly model: string;
  /** GPUs each replica needs (0: none). */
  readonly gpus: number;
}

export type RolloutResult =
  | { readonly ok: true; readonly status: RolloutStatus }
  | { readonly ok: false; readonly reason: string; readonly status?: RolloutStatus };

/** The placement's answer for one replica. */
export type PlacementOutcome =
  | { readonly type: "placed" }
  | { readonly type: "no-capacity"; readonly reason: string }
  /** No replica here: the deployment is served by other nodes of the cluster. */
  | { readonly type: "elsewhere"; readonly reason: string }
  /** Placed here, but no model slot is free: the previous generation's replica of the index goes first. */
  | { readonly type: "replace" }
  /** Placed here, but not now (no free slot, and another replica is being replaced): ask again later. */
  | { readonly type: "wait"; readonly reason: string };

/** How long a replica told to `wait` waits before its placement is asked again. */
export const PLACE_RETRY_MS = 250;

export type RolloutEvent =
  /** Create or update; `transport` is the runtime's, undefined when this build lacks the runtime. */
  | { readonly type: "apply"; readonly spec: DeploymentSpec; readonly transport: Transport | undefined }
  | { readonly type: "remove"; readonly name: string }
  | { readonly type: "placed"; readonly replicaId: string; readonly result: PlacementOutcome }
  | { readonly type: "replica-ready"; readonly replicaId: string; readonly maxConcurrent: number }
  | { readonly type: "replica-failed"; readonly replicaId: string; readonly reason: string }
  /** The replica's engine stopped without being asked to. */
  | { readonly type: "replica-terminated"; readonly replicaId: string }
  /** The replica's engine finished what it had after a drain. */
  | { readonly type: "replica-drained"; readonly replicaId: string }
  /** Budget throttle: scale the concurrency of every replica (0.5 halves it, 1 restores it). */
  | { readonly type: "throttle"; readonly factor: number }
  /**
   * A cluster's placement changed (docs/cluster.md, "Placement"): `assigned` holds the replica
   * indexes placed on this node. Replicas of the generation whose index left drain; assigned
   * indexes with no replica here get one (placed again, so the placement confirms it).
   */
  | {
      readonly type: "placement-changed";
      readonly assigned: ReadonlySet<number>;
      readonly transport: Transport;
    };

export type Waiters = "apply" | "remove";

export type RolloutEffect =
  /** Ask the placement for a node (after `afterMs` when set); its answer comes back as `placed`. */
  | {
      readonly type: "place";
      readonly replicaId: string;
      readonly transport: Transport;
      readonly afterMs?: number;
    }
  /** Build the replica's engine; it reports `replica-ready` or `replica-failed`. */
  | {
      readonly type: "start";
      readonly replicaId: string;
      readonly index: number;
      readonly spec: DeploymentSpec;
    }
  | { readonly type: "set-concurrency"; readonly replicaId: string; readonly factor: number }
  /** Coordinator: route to the replica (the engine's ref is the one it reported ready with). */
  | { readonly type: "register"; readonly replicaId: string; readonly maxConcurrent: number }
  /** Coordinator: no new routes to the replica. */
  | { readonly type: "set-draining"; readonly replicaId: string }
  /** Engine: finish what is running and queued, then report `replica-drained`. */
  | { readonly type: "drain"; readonly replicaId: string }
  | { readonly type: "deregister"; readonly replicaId: string }
  /** Placement and metrics: the replica is gone. */
  | { readonly type: "release"; readonly replicaId: string }
  /** Stop the replica's engine (without reporting it terminated). */
  | { readonly type: "stop"; readonly replicaId: string }
  /** Coordinator (with the spec's policy) and metrics: the deployment's state. */
  | {
      readonly type: "publish";
      readonly state: DeploymentState;
      readonly reason?: string;
      readonly spec: DeploymentSpec;
    }
  /** Keep the event's caller among the waiters, answered by a later `reply` to them. */
  | { readonly type: "wait"; readonly waiters: Waiters }
  /** Answer the event's caller, or every waiter of a kind (who then wait no more). */
  | { readonly type: "reply"; readonly to: "caller" | Waiters; readonly result: RolloutResult }
  | {
      readonly type: "log";
      readonly level: "info" | "warn" | "error";
      readonly fields: Readonly<Record<string, unknown>>;
      readonly message: string;
    };

export interface RolloutStep {
  /** Undefined while the deployment does not exist; a `removed` state is final (forget it). */
  readonly state: RolloutState | undefined;
  readonly effects: readonly RolloutEffect[];
}

export function replicaIdOf(name: string, generation: number, index: number): string {
  return `${name}#${generation}.${index}`;
}

/** The deployment a replica id belongs to (names may contain "#"; the suffix cannot). */
export function deploymentOf(replicaId: string): string {
  return replicaId.slice(0, replicaId.lastIndexOf("#"));
}

export function statusOf(state: RolloutState): RolloutStatus {
  return {
    name: state.spec.name,
    state: state.state,
    ...(state.reason !== undefined ? { reason: state.reason } : {}),
    replicas: state.spec.replicas,
    readyReplicas: current(state).filter((replica) => replica.status === "ready").length,
    localReplicas: current(state).map((replica) => ({
      index: replica.index,
      ready: replica.status === "ready",
      ...(replica.status === "placing" && replica.waiting === "turn" ? { waiting: true } : {}),
    })),
    runtime: state.spec.runtime,
    model: state.spec.model,
    gpus: state.spec.gpus ?? 0,
  };
}

export function step(state: RolloutState | undefined, event: RolloutEvent): RolloutStep {
  if (event.type === "apply") return apply(state, event.spec, event.transport);
  if (!state) {
    if (event.type !== "remove") return { state, effects: [] };
    const reason = `deployment ${event.name} does not exist`;
    return { state, effects: [{ type: "reply", to: "caller", result: { ok: false, reason } }] };
  }
  const machine = new Machine(state);
  machine.handle(event);
  return machine.result();
}

function apply(
  state: RolloutState | undefined,
  spec: DeploymentSpec,
  transport: Transport | undefined,
): RolloutStep {
  if (transport === undefined) {
    const reason = `runtime "${spec.runtime}" is not available in this build`;
    return { state, effects: [{ type: "reply", to: "caller", result: { ok: false, reason } }] };
  }
  const machine = new Machine(
    state ?? {
      spec,
      previousSpec: undefined,
      state: "pending",
      reason: undefined,
      generation: 0,
      lastGeneration: 0,
      restarts: 0,
      removing: false,
      concurrencyFactor: 1,
      published: undefined,
      replicas: [],
      applyWaiters: 0,
      removeWaiters: 0,
    },
  );
  machine.apply(spec, transport, state === undefined);
  return machine.result();
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Replica = Mutable<RolloutReplica>;
type Draft = Mutable<Omit<RolloutState, "replicas">> & { replicas: Replica[] };

function current(state: Pick<RolloutState, "replicas" | "generation">): readonly RolloutReplica[] {
  return state.replicas.filter((replica) => replica.generation === state.generation);
}

/** One step on a copy of the state: the methods change `s` and record effects in order. */
class Machine {
  readonly #s: Draft;
  readonly #effects: RolloutEffect[] = [];

  constructor(state: RolloutState) {
    this.#s = { ...state, replicas: state.replicas.map((replica) => ({ ...replica })) };
  }

  result(): RolloutStep {
    return { state: this.#s, effects: this.#effects };
  }

  handle(event: Exclude<RolloutEvent, { type: "apply" }>): void {
    switch (event.type) {
      case "remove":
        this.#remove();
        return;
      case "placed":
        this.#placed(event.replicaId, event.result);
        return;
      case "replica-ready":
        this.#ready(event.replicaId, event.maxConcurrent);
        return;
      case "replica-failed":
        this.#failed(event.replicaId, event.reason);
        return;
      case "replica-terminated":
        this.#failed(event.replicaId, "the replica stopped unexpectedly");
        return;
      case "replica-drained":
        this.#stop(event.replicaId);
        return;
      case "placement-changed":
        this.#placementChanged(event.assigned, event.transport);
        return;
      case "throttle":
        this.#s.concurrencyFactor = event.factor;
        for (const replica of this.#s.replicas) {
          if (replica.status !== "placing")
            this.#effects.push({
              type: "set-concurrency",
              replicaId: replica.replicaId,
              factor: event.factor,
            });
        }
        return;
    }
  }

  // ---- apply / remove -------------------------------------------------------------------------

  apply(spec: DeploymentSpec, transport: Transport, created: boolean): void {
    const s = this.#s;
    if (s.removing) {
      const reason = `deployment ${spec.name} is being removed`;
      this.#reply("caller", { ok: false, reason, status: statusOf(s) });
      return;
    }
    if (!created && sameSpec(s.spec, spec) && s.state !== "failed") {
      if (this.#settled()) this.#reply("caller", { ok: true, status: statusOf(s) });
      else this.#wait("apply");
      return;
    }
    if (!created) {
      s.previousSpec = s.state === "serving" ? s.spec : undefined;
      s.spec = spec;
      s.lastGeneration++;
      s.generation = s.lastGeneration;
      if (s.state === "failed") {
        s.state = "pending";
        s.reason = undefined;
      }
    }
    this.#wait("apply");
    this.#publish();
    for (let index = 0; index < spec.replicas; index++) {
      const replicaId = replicaIdOf(spec.name, s.generation, index);
      s.replicas.push({ replicaId, generation: s.generation, index, spec, status: "placing" });
      this.#effects.push({ type: "place", replicaId, transport });
    }
  }

  #placementChanged(assigned: ReadonlySet<number>, transport: Transport): void {
    const s = this.#s;
    if (s.removing) return;
    const here = current(s);
    for (const replica of here) if (!assigned.has(replica.index)) this.#drain(replica);
    for (let index = 0; index < s.spec.replicas; index++) {
      if (!assigned.has(index) || here.some((replica) => replica.index === index)) continue;
      s.restarts++;
      const replicaId = `${replicaIdOf(s.spec.name, s.generation, index)}~${s.restarts}`;
      s.replicas.push({ replicaId, generation: s.generation, index, spec: s.spec, status: "placing" });
      this.#effects.push({ type: "place", replicaId, transport });
    }
    // every replica of the generation moved away: the deployment serves through other nodes
    if (here.length > 0 && current(s).every((replica) => replica.status === "draining")) {
      s.state = "serving";
      s.reason = "no replica on this node: its requests go to the nodes that run them";
      this.#publish();
    }
  }

  #remove(): void {
    const s = this.#s;
    this.#wait("remove");
    if (s.removing) return;
    s.removing = true;
    s.state = "draining";
    this.#publish();
    if (s.applyWaiters > 0) {
      const reason = `deployment ${s.spec.name} was removed`;
      this.#reply("apply", { ok: false, reason, status: statusOf(s) });
    }
    for (const replica of [...s.replicas]) this.#drain(replica);
    this.#checkRemoved();
  }

  // ---- replica lifecycle ----------------------------------------------------------------------

  #placed(replicaId: string, result: PlacementOutcome): void {
    const s = this.#s;
    const replica = this.#find(replicaId);
    if (replica?.status !== "placing") return;
    if (result.type === "replace" || result.type === "wait") {
      if (s.removing || replica.generation !== s.generation) {
        this.#stop(replicaId);
        return;
      }
      if (result.type === "replace") this.#replacePrevious(replica);
      else this.#waitTurn(replica, result.reason);
      return;
    }
    replica.waiting = undefined;
    replica.displaces = undefined;
    if (result.type === "no-capacity") {
      this.#failed(replicaId, `cannot place replica: ${result.reason}`);
      return;
    }
    if (result.type === "elsewhere") {
      this.#servedElsewhere(replica, result.reason);
      return;
    }
    if (s.removing || replica.generation !== s.generation) {
      this.#stop(replicaId);
      return;
    }
    replica.status = "loading";
    this.#effects.push({ type: "start", replicaId, index: replica.index, spec: replica.spec });
  }

  #ready(replicaId: string, maxConcurrent: number): void {
    const s = this.#s;
    const replica = this.#find(replicaId);
    if (replica?.status !== "loading") return;
    replica.status = "ready";
    if (s.concurrencyFactor !== 1)
      this.#effects.push({ type: "set-concurrency", replicaId, factor: s.concurrencyFactor });
    this.#effects.push({ type: "register", replicaId, maxConcurrent });
    if (s.removing || replica.generation !== s.generation) {
      this.#drain(replica);
      return;
    }
    this.#settle();
  }

  /**
   * A replica placed on no node here (a cluster node without egress): it is dropped, and once no
   * replica of the generation is left the deployment serves through other nodes' engines.
   */
  #servedElsewhere(replica: Replica, reason: string): void {
    const s = this.#s;
    this.#effects.push({ type: "release", replicaId: replica.replicaId });
    this.#delete(replica);
    if (s.removing || replica.generation !== s.generation) return;
    if (current(s).length > 0) return;
    s.state = "serving";
    s.reason = reason;
    s.previousSpec = undefined;
    this.#publish();
    for (const old of [...s.replicas]) if (old.generation < s.generation) this.#drain(old);
    this.#replyWaiters(true);
  }

  #failed(replicaId: string, reason: string): void {
    const s = this.#s;
    const replica = this.#find(replicaId);
    if (!replica) return;
    this.#effects.push(
      { type: "deregister", replicaId },
      {
        type: "log",
        level: "warn",
        fields: { deployment: s.spec.name, replica: replicaId, reason },
        message: "replica failed",
      },
      { type: "release", replicaId },
    );
    if (replica.status !== "placing") this.#effects.push({ type: "stop", replicaId });
    // a failed replica is gone: it must not hold up a removal or pile up across re-applies
    this.#delete(replica);
    this.#resumeReplacing();
    if (replica.status === "draining" || s.removing) {
      this.#checkRemoved();
      return;
    }
    if (replica.generation === s.generation) {
      s.reason = reason;
      this.#settle();
    }
  }

  #drain(replica: Replica): void {
    if (replica.status === "draining") return;
    if (replica.status === "placing" || replica.status === "loading") {
      this.#stop(replica.replicaId);
      return;
    }
    replica.status = "draining";
    this.#effects.push(
      { type: "set-draining", replicaId: replica.replicaId },
      { type: "drain", replicaId: replica.replicaId },
    );
  }

  #stop(replicaId: string): void {
    const replica = this.#find(replicaId);
    if (!replica) return;
    this.#effects.push({ type: "deregister", replicaId }, { type: "release", replicaId });
    if (replica.status !== "placing") this.#effects.push({ type: "stop", replicaId });
    this.#delete(replica);
    this.#resumeReplacing();
    this.#checkRemoved();
  }

  // ---- replacing in place (a cluster node without a free model slot) --------------------------

  /**
   * The older replicas here whose slot `replica` takes: its own index's; else one already
   * draining; else one whose index already has a ready replica of the new generation (a
   * leftover); else any. Empty when no older replica is here (the slots hold other deployments').
   */
  #displaced(replica: Replica): Replica[] {
    const older = this.#s.replicas.filter((other) => other.generation < replica.generation);
    const own = older.filter((other) => other.index === replica.index);
    if (own.length > 0) return own;
    const readyIndexes = new Set(
      this.#s.replicas
        .filter((other) => other.generation === replica.generation && other.status === "ready")
        .map((other) => other.index),
    );
    const pick =
      older.find((other) => other.status === "draining") ??
      older.find((other) => readyIndexes.has(other.index)) ??
      older[0];
    return pick ? [pick] : [];
  }

  /** The replica takes its index's old slot: the old replica drains, then it is placed again. */
  #replacePrevious(replica: Replica): void {
    // one replica down here at a time: another one replaced in place must serve first
    const another = current(this.#s).some(
      (other) =>
        other !== replica &&
        (other.status === "loading" || (other.status === "placing" && other.waiting === "replace")),
    );
    if (another) {
      this.#waitTurn(replica, "another replica of the deployment is being replaced here");
      return;
    }
    const displaced = this.#displaced(replica);
    if (displaced.length === 0) {
      // no older replica of this deployment here (the slots hold other ones): ask again later
      this.#waitTurn(replica, "no free model slot on this node");
      return;
    }
    replica.waiting = "replace";
    replica.displaces = displaced.map((old) => old.replicaId);
    for (const old of displaced) this.#drain(old);
    this.#resumeReplacing();
  }

  #waitTurn(replica: Replica, reason: string): void {
    if (replica.waiting !== "turn")
      this.#effects.push({
        type: "log",
        level: "info",
        fields: { deployment: this.#s.spec.name, replica: replica.replicaId, reason },
        message: "replica waits for its turn",
      });
    replica.waiting = "turn";
    this.#effects.push({
      type: "place",
      replicaId: replica.replicaId,
      transport: "local",
      afterMs: PLACE_RETRY_MS,
    });
  }

  /** Replicas waiting for the older ones they displace to go are placed again once they went. */
  #resumeReplacing(): void {
    for (const replica of this.#s.replicas) {
      if (replica.status !== "placing" || replica.waiting !== "replace") continue;
      if (replica.displaces?.some((id) => this.#find(id))) continue;
      replica.waiting = undefined;
      replica.displaces = undefined;
      this.#effects.push({ type: "place", replicaId: replica.replicaId, transport: "local" });
    }
  }

  // ---- state ----------------------------------------------------------------------------------

  #find(replicaId: string): Replica | undefined {
    return this.#s.replicas.find((replica) => replica.replicaId === replicaId);
  }

  #delete(replica: Replica): void {
    this.#s.replicas = this.#s.replicas.filter((other) => other !== replica);
  }

  #settled(): boolean {
    return current(this.#s).every((replica) => replica.status !== "placing" && replica.status !== "loading");
  }

  /** Called when a current-generation replica became ready or failed. */
  #settle(): void {
    const s = this.#s;
    const now = current(s);
    const ready = now.filter((replica) => replica.status === "ready");
    if (!this.#settled()) {
      // the first ready replica of a new deployment already serves
      if (s.state === "pending" && ready.length > 0) {
        s.state = "serving";
        s.reason = undefined;
        this.#publish();
      }
      return;
    }
    if (ready.length > 0) {
      s.state = "serving";
      s.previousSpec = undefined;
      // a failed replica left the state: the reason stays until every replica serves
      if (ready.length === s.spec.replicas) s.reason = undefined;
      this.#publish();
      for (const replica of [...s.replicas]) if (replica.generation < s.generation) this.#drain(replica);
      this.#replyWaiters(true);
      return;
    }
    const reason = s.reason ?? "no replica could start";
    const oldServing = s.replicas.some((r) => r.generation < s.generation && r.status === "ready");
    if (oldServing && s.previousSpec) {
      // a failed update leaves the previous generation serving
      for (const replica of now) this.#stop(replica.replicaId);
      s.spec = s.previousSpec;
      s.previousSpec = undefined;
      s.generation = Math.max(...s.replicas.map((r) => r.generation));
      s.state = "serving";
      this.#publish();
      this.#replyWaiters(false, `update failed, previous version kept: ${reason}`);
      return;
    }
    s.state = "failed";
    s.reason = reason;
    this.#publish();
    this.#replyWaiters(false, reason);
  }

  #wait(waiters: Waiters): void {
    if (waiters === "apply") this.#s.applyWaiters++;
    else this.#s.removeWaiters++;
    this.#effects.push({ type: "wait", waiters });
  }

  #reply(to: "caller" | Waiters, result: RolloutResult): void {
    if (to === "apply") this.#s.applyWaiters = 0;
    if (to === "remove") this.#s.removeWaiters = 0;
    this.#effects.push({ type: "reply", to, result });
  }

  #replyWaiters(ok: boolean, reason?: string): void {
    if (this.#s.applyWaiters === 0) return;
    const status = statusOf(this.#s);
    this.#reply("apply", ok ? { ok: true, status } : { ok: false, reason: reason ?? "failed", status });
  }

  #checkRemoved(): void {
    const s = this.#s;
    if (!s.removing || s.replicas.length > 0 || s.state === "removed") return;
    s.state = "removed";
    this.#publish();
    if (s.removeWaiters > 0) this.#reply("remove", { ok: true, status: statusOf(s) });
  }

  #publish(): void {
    const s = this.#s;
    this.#effects.push({
      type: "publish",
      state: s.state,
      ...(s.reason !== undefined ? { reason: s.reason } : {}),
      spec: s.spec,
    });
    const changed = s.published !== s.state;
    s.published = s.state;
    if (changed && (s.state === "failed" || s.state === "serving")) {
      const fields = {
        deployment: s.spec.name,
        state: s.state,
        runtime: s.spec.runtime,
        replicas: s.spec.replicas,
        reason: s.reason,
      };
      // a failed deployment is an error an operator alerts on; serving is news
      if (s.state === "serving")
        this.#effects.push({ type: "log", level: "info", fields, message: "deployment serving" });
      else this.#effects.push({ type: "log", level: "error", fields, message: "deployment failed" });
    }
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
