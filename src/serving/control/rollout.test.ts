import { describe, expect, it } from "vitest";
import { type DeploymentSpec, servingDefaults } from "../../core/deployment.js";
import { type RolloutEffect, type RolloutEvent, type RolloutState, statusOf, step } from "./rollout.js";

const spec = (replicas: number, model = "echo-1"): DeploymentSpec => ({
  name: "chat",
  model,
  runtime: "mock",
  runtimeConfig: {},
  replicas,
  serving: servingDefaults,
  fallbacks: [],
  idempotent: true,
});

const apply = (s: DeploymentSpec, transport: "local" | "remote" = "local"): RolloutEvent => ({
  type: "apply",
  spec: s,
  transport,
});
const placed = (replicaId: string): RolloutEvent => ({
  type: "placed",
  replicaId,
  result: { type: "placed" },
});
const noCapacity = (replicaId: string): RolloutEvent => ({
  type: "placed",
  replicaId,
  result: { type: "no-capacity", reason: "no free slot" },
});
const ready = (replicaId: string): RolloutEvent => ({ type: "replica-ready", replicaId, maxConcurrent: 4 });
const failed = (replicaId: string, reason = "model cannot load"): RolloutEvent => ({
  type: "replica-failed",
  replicaId,
  reason,
});
const drained = (replicaId: string): RolloutEvent => ({ type: "replica-drained", replicaId });

/** Feeds the events in order; returns the last state and every effect. */
function run(state: RolloutState | undefined, ...events: RolloutEvent[]) {
  const effects: RolloutEffect[] = [];
  for (const event of events) {
    const next = step(state, event);
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
}

/** Each effect as its kind and ids (a reply with its outcome, a publish with its state). */
function kinds(effects: readonly RolloutEffect[]): string[] {
  return effects.map((effect) => {
    switch (effect.type) {
      case "place":
        return `place ${effect.replicaId} ${effect.transport}`;
      case "set-concurrency":
        return `set-concurrency ${effect.replicaId} ${effect.factor}`;
      case "publish":
        return `publish ${effect.state}${effect.reason !== undefined ? ` (${effect.reason})` : ""}`;
      case "wait":
        return `wait ${effect.waiters}`;
      case "reply":
        return `reply ${effect.to} ${effect.result.ok ? "ok" : effect.result.reason}`;
      case "log":
        return `log ${effect.level} ${effect.message}`;
      default:
        return `${effect.type} ${effect.replicaId}`;
    }
  });
}

/** A deployment whose replicas all serve, and no waiter. */
function serving(replicas: number, s = spec(replicas)): RolloutState {
  const ids = Array.from({ length: replicas }, (_, index) => `chat#0.${index}`);
  const { state } = run(undefined, apply(s), ...ids.map(placed), ...ids.map(ready));
  expect(state).toMatchObject({ state: "serving", applyWaiters: 0 });
  return state as RolloutState;
}

const replicas = (state: RolloutState | undefined) =>
  state?.replicas.map((replica) => `${replica.replicaId} ${replica.status}`);

describe("create", () => {
  it("places, starts and registers the replica; the apply is answered once it serves", () => {
    const created = run(undefined, apply(spec(1)));
    expect(kinds(created.effects)).toEqual(["wait apply", "publish pending", "place chat#0.0 local"]);
    expect(created.state).toMatchObject({ state: "pending", generation: 0, applyWaiters: 1 });
    expect(replicas(created.state)).toEqual(["chat#0.0 placing"]);

    const started = run(created.state, placed("chat#0.0"));
    expect(started.effects).toEqual([{ type: "start", replicaId: "chat#0.0", index: 0, spec: spec(1) }]);
    expect(replicas(started.state)).toEqual(["chat#0.0 loading"]);

    const done = run(started.state, ready("chat#0.0"));
    expect(kinds(done.effects)).toEqual([
      "register chat#0.0",
      "publish serving",
      "log info deployment serving",
      "reply apply ok",
    ]);
    expect(done.effects[0]).toEqual({ type: "register", replicaId: "chat#0.0", maxConcurrent: 4 });
    expect(done.effects.at(-1)).toEqual({
      type: "reply",
      to: "apply",
      result: {
        ok: true,
        status: {
          name: "chat",
          state: "serving",
          replicas: 1,
          readyReplicas: 1,
          localReplicas: [{ index: 0, ready: true }],
          runtime: "mock",
          model: "echo-1",
          gpus: 0,
        },
      },
    });
    expect(done.state).toMatchObject({ state: "serving", reason: undefined, applyWaiters: 0 });
    expect(replicas(done.state)).toEqual(["chat#0.0 ready"]);
  });

  it("does not change the state it is given", () => {
    const before = run(undefined, apply(spec(1)), placed("chat#0.0")).state as RolloutState;
    const copy = structuredClone(before);
    step(before, ready("chat#0.0"));
    expect(before).toEqual(copy);
  });

  it("the first ready replica serves; one of two failing leaves it serving with the reason", () => {
    const first = run(undefined, apply(spec(2)), placed("chat#0.0"), placed("chat#0.1"), ready("chat#0.0"));
    expect(kinds(first.effects).slice(-3)).toEqual([
      "register chat#0.0",
      "publish serving",
      "log info deployment serving",
    ]);
    expect(first.state).toMatchObject({ state: "serving", applyWaiters: 1 });

    const second = run(first.state, failed("chat#0.1"));
    expect(kinds(second.effects)).toEqual([
      "deregister chat#0.1",
      "log warn replica failed",
      "release chat#0.1",
      "stop chat#0.1",
      "publish serving (model cannot load)",
      "reply apply ok",
    ]);
    expect(second.effects[1]).toEqual({
      type: "log",
      level: "warn",
      fields: { deployment: "chat", replica: "chat#0.1", reason: "model cannot load" },
      message: "replica failed",
    });
    expect(second.state).toMatchObject({ state: "serving", reason: "model cannot load" });
    expect(statusOf(second.state as RolloutState)).toMatchObject({ readyReplicas: 1, replicas: 2 });
    expect(replicas(second.state)).toEqual(["chat#0.0 ready"]);
  });

  it("fails when no replica starts", () => {
    const { state, effects } = run(
      undefined,
      apply(spec(2)),
      noCapacity("chat#0.0"),
      placed("chat#0.1"),
      failed("chat#0.1"),
    );
    expect(kinds(effects)).toEqual([
      "wait apply",
      "publish pending",
      "place chat#0.0 local",
      "place chat#0.1 local",
      "deregister chat#0.0",
      "log warn replica failed",
      "release chat#0.0",
      "start chat#0.1",
      "deregister chat#0.1",
      "log warn replica failed",
      "release chat#0.1",
      "stop chat#0.1",
      "publish failed (model cannot load)",
      "log error deployment failed",
      "reply apply model cannot load",
    ]);
    expect(state).toMatchObject({
      state: "failed",
      reason: "model cannot load",
      replicas: [],
      applyWaiters: 0,
    });
  });

  it("refuses a runtime this build lacks, and keeps no state", () => {
    const { state, effects } = run(undefined, { type: "apply", spec: spec(1), transport: undefined });
    expect(state).toBeUndefined();
    expect(effects).toEqual([
      {
        type: "reply",
        to: "caller",
        result: { ok: false, reason: 'runtime "mock" is not available in this build' },
      },
    ]);
  });

  it("the same spec again is answered at once when settled, else waits with the first caller", () => {
    const loading = run(undefined, apply(spec(1)), placed("chat#0.0"));
    const again = run(loading.state, apply(spec(1)));
    expect(kinds(again.effects)).toEqual(["wait apply"]);
    expect(again.state).toMatchObject({ generation: 0, applyWaiters: 2 });
    expect(kinds(run(again.state, ready("chat#0.0")).effects).at(-1)).toBe("reply apply ok");

    const settled = run(serving(1), apply(spec(1)));
    expect(kinds(settled.effects)).toEqual(["reply caller ok"]);
  });

  it("a placement elsewhere (a cluster node without egress) serves with no local replica", () => {
    const { state, effects } = run(undefined, apply(spec(1), "remote"), {
      type: "placed",
      replicaId: "chat#0.0",
      result: { type: "elsewhere", reason: "no egress here" },
    });
    expect(kinds(effects)).toEqual([
      "wait apply",
      "publish pending",
      "place chat#0.0 remote",
      "release chat#0.0",
      "publish serving (no egress here)",
      "log info deployment serving",
      "reply apply ok",
    ]);
    expect(state).toMatchObject({ state: "serving", reason: "no egress here", replicas: [] });
    expect(statusOf(state as RolloutState)).toMatchObject({ readyReplicas: 0 });
  });
});

describe("update", () => {
  it("starts the new generation while the old serves, and drains the old once a new one is ready", () => {
    const v1 = serving(1);
    const updating = run(v1, apply(spec(1, "echo-2")));
    expect(kinds(updating.effects)).toEqual(["wait apply", "publish serving", "place chat#1.0 local"]);
    expect(updating.state).toMatchObject({ state: "serving", generation: 1, previousSpec: spec(1) });

    const loading = run(updating.state, placed("chat#1.0"));
    expect(kinds(loading.effects)).toEqual(["start chat#1.0"]);
    expect(replicas(loading.state)).toEqual(["chat#0.0 ready", "chat#1.0 loading"]);

    const swapped = run(loading.state, ready("chat#1.0"));
    expect(kinds(swapped.effects)).toEqual([
      "register chat#1.0",
      "publish serving",
      "set-draining chat#0.0",
      "drain chat#0.0",
      "reply apply ok",
    ]);
    expect(swapped.state).toMatchObject({ state: "serving", previousSpec: undefined });
    expect(replicas(swapped.state)).toEqual(["chat#0.0 draining", "chat#1.0 ready"]);

    const done = run(swapped.state, drained("chat#0.0"));
    expect(kinds(done.effects)).toEqual(["deregister chat#0.0", "release chat#0.0", "stop chat#0.0"]);
    expect(replicas(done.state)).toEqual(["chat#1.0 ready"]);
    expect(done.state?.spec.model).toBe("echo-2");
  });

  it("a failed update rolls back to the previous spec and generation; new ids are never reused", () => {
    const { state, effects } = run(
      serving(1),
      apply(spec(2, "echo-2")),
      placed("chat#1.0"),
      noCapacity("chat#1.1"),
      failed("chat#1.0"),
    );
    expect(kinds(effects)).toEqual([
      "wait apply",
      "publish serving",
      "place chat#1.0 local",
      "place chat#1.1 local",
      "start chat#1.0",
      "deregister chat#1.1",
      "log warn replica failed",
      "release chat#1.1",
      "deregister chat#1.0",
      "log warn replica failed",
      "release chat#1.0",
      "stop chat#1.0",
      "publish serving (model cannot load)",
      "reply apply update failed, previous version kept: model cannot load",
    ]);
    expect(state).toMatchObject({
      state: "serving",
      generation: 0,
      lastGeneration: 1,
      previousSpec: undefined,
    });
    expect(state?.spec).toEqual(spec(1));
    expect(replicas(state)).toEqual(["chat#0.0 ready"]);

    const next = run(state, apply(spec(1, "echo-3")));
    expect(kinds(next.effects)).toContain("place chat#2.0 local");
  });

  it("a replica of an older generation that becomes ready is drained at once", () => {
    const loading = run(undefined, apply(spec(1)), placed("chat#0.0"));
    const v2 = run(loading.state, apply(spec(1, "echo-2")));
    expect(v2.state).toMatchObject({ state: "pending", generation: 1, previousSpec: undefined });
    const late = run(v2.state, ready("chat#0.0"));
    expect(kinds(late.effects)).toEqual(["register chat#0.0", "set-draining chat#0.0", "drain chat#0.0"]);
    expect(late.state).toMatchObject({ state: "pending", applyWaiters: 2 });
  });
});

describe("remove", () => {
  it("drains every replica, then answers every remove waiter once the last one stopped", () => {
    const removing = run(serving(2), { type: "remove", name: "chat" }, { type: "remove", name: "chat" });
    expect(kinds(removing.effects)).toEqual([
      "wait remove",
      "publish draining",
      "set-draining chat#0.0",
      "drain chat#0.0",
      "set-draining chat#0.1",
      "drain chat#0.1",
      "wait remove",
    ]);
    expect(removing.state).toMatchObject({ state: "draining", removing: true, removeWaiters: 2 });

    const halfway = run(removing.state, drained("chat#0.0"));
    expect(kinds(halfway.effects)).toEqual(["deregister chat#0.0", "release chat#0.0", "stop chat#0.0"]);

    const removed = run(halfway.state, drained("chat#0.1"));
    expect(kinds(removed.effects)).toEqual([
      "deregister chat#0.1",
      "release chat#0.1",
      "stop chat#0.1",
      "publish removed",
      "reply remove ok",
    ]);
    expect(removed.state).toMatchObject({ state: "removed", replicas: [], removeWaiters: 0 });
  });

  it("during an update: the apply is refused, unplaced replicas stop at once, late answers are ignored", () => {
    const updating = run(serving(1), apply(spec(1, "echo-2")));
    const removing = run(updating.state, { type: "remove", name: "chat" });
    expect(kinds(removing.effects)).toEqual([
      "wait remove",
      "publish draining",
      "reply apply deployment chat was removed",
      "set-draining chat#0.0",
      "drain chat#0.0",
      "deregister chat#1.0",
      "release chat#1.0",
    ]);
    expect(replicas(removing.state)).toEqual(["chat#0.0 draining"]);
    expect(run(removing.state, placed("chat#1.0")).effects).toEqual([]);
    expect(kinds(run(removing.state, apply(spec(1))).effects)).toEqual([
      "reply caller deployment chat is being removed",
    ]);

    const removed = run(removing.state, drained("chat#0.0"));
    expect(kinds(removed.effects)).toEqual([
      "deregister chat#0.0",
      "release chat#0.0",
      "stop chat#0.0",
      "publish removed",
      "reply remove ok",
    ]);
  });

  it("a deployment with nothing started is removed at once; an unknown one is refused", () => {
    const { effects, state } = run(undefined, apply(spec(1)), { type: "remove", name: "chat" });
    expect(kinds(effects)).toEqual([
      "wait apply",
      "publish pending",
      "place chat#0.0 local",
      "wait remove",
      "publish draining",
      "reply apply deployment chat was removed",
      "deregister chat#0.0",
      "release chat#0.0",
      "publish removed",
      "reply remove ok",
    ]);
    expect(state?.state).toBe("removed");
    expect(run(undefined, { type: "remove", name: "nope" }).effects).toEqual([
      { type: "reply", to: "caller", result: { ok: false, reason: "deployment nope does not exist" } },
    ]);
  });

  it("a draining replica that fails no longer holds up the removal", () => {
    const removing = run(serving(1), { type: "remove", name: "chat" });
    const { effects, state } = run(removing.state, { type: "replica-terminated", replicaId: "chat#0.0" });
    expect(kinds(effects)).toEqual([
      "deregister chat#0.0",
      "log warn replica failed",
      "release chat#0.0",
      "stop chat#0.0",
      "publish removed",
      "reply remove ok",
    ]);
    expect(state?.state).toBe("removed");
  });
});

describe("replica lifecycle", () => {
  it("a replica terminated unexpectedly leaves the others serving with the reason", () => {
    const { state, effects } = run(serving(2), { type: "replica-terminated", replicaId: "chat#0.1" });
    expect(kinds(effects)).toEqual([
      "deregister chat#0.1",
      "log warn replica failed",
      "release chat#0.1",
      "stop chat#0.1",
      "publish serving (the replica stopped unexpectedly)",
    ]);
    expect(state).toMatchObject({ state: "serving", reason: "the replica stopped unexpectedly" });
  });

  it("the last replica terminated unexpectedly fails the deployment", () => {
    const { state, effects } = run(serving(1), { type: "replica-terminated", replicaId: "chat#0.0" });
    expect(kinds(effects)).toEqual([
      "deregister chat#0.0",
      "log warn replica failed",
      "release chat#0.0",
      "stop chat#0.0",
      "publish failed (the replica stopped unexpectedly)",
      "log error deployment failed",
    ]);
    expect(state).toMatchObject({ state: "failed", replicas: [] });
  });

  it("events for replicas it does not know change nothing", () => {
    const state = serving(1);
    for (const event of [placed("chat#0.0"), ready("chat#9.0"), failed("chat#9.0"), drained("chat#9.0")]) {
      expect(step(state, event)).toEqual({ state, effects: [] });
    }
    expect(step(undefined, ready("chat#0.0"))).toEqual({ state: undefined, effects: [] });
  });

  it("throttle reaches every started replica, and a replica ready later before it registers", () => {
    const starting = run(undefined, apply(spec(2)), placed("chat#0.0"));
    const throttled = run(starting.state, { type: "throttle", factor: 0.5 });
    expect(throttled.effects).toEqual([{ type: "set-concurrency", replicaId: "chat#0.0", factor: 0.5 }]);
    expect(throttled.state?.concurrencyFactor).toBe(0.5);

    const later = run(throttled.state, placed("chat#0.1"), ready("chat#0.1"));
    expect(kinds(later.effects)).toEqual([
      "start chat#0.1",
      "set-concurrency chat#0.1 0.5",
      "register chat#0.1",
      "publish serving",
      "log info deployment serving",
    ]);
    expect(step(undefined, { type: "throttle", factor: 0.5 }).effects).toEqual([]);
  });
});

describe("placement changes (a cluster's shared placement)", () => {
  const changed = (...indexes: number[]): RolloutEvent => ({
    type: "placement-changed",
    assigned: new Set(indexes),
    transport: "local",
  });

  it("drains a replica whose index moved to another node and keeps the others", () => {
    const moved = run(serving(2), changed(1));
    expect(kinds(moved.effects)).toEqual(["set-draining chat#0.0", "drain chat#0.0"]);
    expect(replicas(moved.state)).toEqual(["chat#0.0 draining", "chat#0.1 ready"]);
    const gone = run(moved.state, drained("chat#0.0"));
    expect(kinds(gone.effects)).toEqual(["deregister chat#0.0", "release chat#0.0", "stop chat#0.0"]);
    expect(statusOf(gone.state as RolloutState)).toMatchObject({ state: "serving", readyReplicas: 1 });
  });

  it("starts a replica for an index newly placed here, under a fresh id, confirmed by the placement", () => {
    const elsewhere: RolloutEvent = {
      type: "placed",
      replicaId: "chat#0.1",
      result: { type: "elsewhere", reason: "replica 1 is placed on another node" },
    };
    const one = run(undefined, apply(spec(2)), placed("chat#0.0"), elsewhere, ready("chat#0.0"));
    expect(replicas(one.state)).toEqual(["chat#0.0 ready"]);
    const gained = run(one.state, changed(0, 1));
    expect(kinds(gained.effects)).toEqual(["place chat#0.1~1 local"]);
    const started = run(gained.state, placed("chat#0.1~1"), ready("chat#0.1~1"));
    expect(replicas(started.state)).toEqual(["chat#0.0 ready", "chat#0.1~1 ready"]);
    expect(statusOf(started.state as RolloutState).localReplicas).toEqual([
      { index: 0, ready: true },
      { index: 1, ready: true },
    ]);
  });

  it("serves through other nodes once every replica moved away, and ignores changes while removing", () => {
    const away = run(serving(1), changed());
    expect(kinds(away.effects)).toEqual([
      "set-draining chat#0.0",
      "drain chat#0.0",
      "publish serving (no replica on this node: its requests go to the nodes that run them)",
    ]);
    const removing = run(serving(1), { type: "remove", name: "chat" });
    expect(run(removing.state, changed(0)).effects).toEqual([]);
  });
});

describe("replacing in place (a cluster node without a free model slot)", () => {
  const answer = (
    replicaId: string,
    result: Extract<RolloutEvent, { type: "placed" }>["result"],
  ): RolloutEvent => ({
    type: "placed",
    replicaId,
    result,
  });

  it("replace: the old replica of the index drains first, then the new one is placed, started and serves", () => {
    const updating = run(serving(1), apply(spec(1, "echo-2")));
    const replacing = run(updating.state, answer("chat#1.0", { type: "replace" }));
    expect(kinds(replacing.effects)).toEqual(["set-draining chat#0.0", "drain chat#0.0"]);
    expect(replicas(replacing.state)).toEqual(["chat#0.0 draining", "chat#1.0 placing"]);
    // once the old one went (its slot released), the new one asks again, and now gets the slot
    const freed = run(replacing.state, drained("chat#0.0"));
    expect(kinds(freed.effects)).toEqual([
      "deregister chat#0.0",
      "release chat#0.0",
      "stop chat#0.0",
      "place chat#1.0 local",
    ]);
    const done = run(freed.state, placed("chat#1.0"), ready("chat#1.0"));
    expect(kinds(done.effects)).toEqual([
      "start chat#1.0",
      "register chat#1.0",
      "publish serving",
      "reply apply ok",
    ]);
    expect(replicas(done.state)).toEqual(["chat#1.0 ready"]);
    expect(done.state?.spec.model).toBe("echo-2");
  });

  it("wait: the placement is asked again later, once logged, until it is this replica's turn", () => {
    const updating = run(serving(1), apply(spec(1, "echo-2")));
    const reason = "no free model slot here: replaced once the other replicas of chat serve";
    const waiting = run(updating.state, answer("chat#1.0", { type: "wait", reason }));
    expect(kinds(waiting.effects)).toEqual(["log info replica waits for its turn", "place chat#1.0 local"]);
    expect(waiting.effects.at(-1)).toMatchObject({ afterMs: 250 });
    // the old replica keeps serving meanwhile
    expect(replicas(waiting.state)).toEqual(["chat#0.0 ready", "chat#1.0 placing"]);
    const again = run(waiting.state, answer("chat#1.0", { type: "wait", reason }));
    expect(kinds(again.effects)).toEqual(["place chat#1.0 local"]);
    const turn = run(again.state, answer("chat#1.0", { type: "replace" }));
    expect(kinds(turn.effects)).toEqual(["set-draining chat#0.0", "drain chat#0.0"]);
  });

  it("a replace of a new index takes the slot of an older replica whose index already serves anew", () => {
    // scaling 1 → 2 on a node with two slots: index 0's new replica surged into the free slot and
    // serves; index 1 has no older replica, so the old index 0 (now a leftover) makes room
    const scaling = run(serving(1), apply(spec(2, "echo-2")), placed("chat#1.0"), ready("chat#1.0"));
    expect(replicas(scaling.state)).toEqual(["chat#0.0 ready", "chat#1.0 ready", "chat#1.1 placing"]);
    const room = run(scaling.state, answer("chat#1.1", { type: "replace" }));
    expect(kinds(room.effects)).toEqual(["set-draining chat#0.0", "drain chat#0.0"]);
    const freed = run(room.state, drained("chat#0.0"));
    expect(kinds(freed.effects).at(-1)).toBe("place chat#1.1 local");
    const done = run(freed.state, placed("chat#1.1"), ready("chat#1.1"));
    expect(replicas(done.state)).toEqual(["chat#1.0 ready", "chat#1.1 ready"]);
    expect(kinds(done.effects).at(-1)).toBe("reply apply ok");
  });

  it("a replace with no older replica here waits for a slot instead", () => {
    const fresh = run(undefined, apply(spec(2)), placed("chat#0.0"), answer("chat#0.1", { type: "replace" }));
    expect(kinds(fresh.effects).slice(-2)).toEqual([
      "log info replica waits for its turn",
      "place chat#0.1 local",
    ]);
    expect(replicas(fresh.state)).toEqual(["chat#0.0 loading", "chat#0.1 placing"]);
  });

  it("one replica replaced here at a time: another waits until the first one is ready", () => {
    const updating = run(serving(2), apply(spec(2, "echo-2")));
    const first = run(updating.state, answer("chat#1.0", { type: "replace" }), drained("chat#0.0"));
    expect(replicas(first.state)).toEqual(["chat#0.1 ready", "chat#1.0 placing", "chat#1.1 placing"]);
    const loading = run(first.state, placed("chat#1.0"));
    const second = run(loading.state, answer("chat#1.1", { type: "replace" }));
    expect(kinds(second.effects)).toEqual(["log info replica waits for its turn", "place chat#1.1 local"]);
    expect(replicas(second.state)).toEqual(["chat#0.1 ready", "chat#1.0 loading", "chat#1.1 placing"]);
    const after = run(second.state, ready("chat#1.0"), answer("chat#1.1", { type: "replace" }));
    expect(replicas(after.state)).toEqual(["chat#0.1 draining", "chat#1.0 ready", "chat#1.1 placing"]);
  });
});
