import { afterEach, describe, expect, it } from "vitest";
import { type ActorRef, ActorSystem, props } from "../../actor/index.js";
import type { EngineCommand } from "../../protocol/engine-messages.js";
import type { EngineTargetLoad } from "../../protocol/target-load.js";
import { flushMicrotasks, ManualClock } from "../../testkit/manual-clock.js";
import type { DeploymentPolicy } from "./deployment-policy.js";
import {
  type CoordinatorMessage,
  DpCoordinatorActor,
  type PeerRouteTarget,
  pickTarget,
  type RouteReply,
  type RouteResult,
} from "./dp-coordinator-actor.js";

let system: ActorSystem;
afterEach(async () => {
  await system?.terminate();
});

/** A deterministic pseudo-random source (mulberry32). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function setup() {
  system = ActorSystem.create({ name: "coordinator", clock: new ManualClock() });
  const coordinator = system.spawn(
    props<CoordinatorMessage>((context) => new DpCoordinatorActor(context, seeded(42))),
    "coordinator",
  );
  const engine = (name: string) =>
    system.spawn(
      props<EngineCommand>(() => ({ receive() {} })),
      name,
    );
  const route = (deployment = "d") =>
    coordinator.ask<RouteReply>((replyTo) => ({ type: "route-to", deployment, replyTo }), {
      timeoutMs: 1000,
    });
  coordinator.tell({ type: "deployment-state", deployment: "d", state: "serving", policy });
  return { coordinator, engine, route };
}

const policy: DeploymentPolicy = {
  transport: "local",
  fallbacks: [],
  fallbackOn: [],
  contextWindow: undefined,
  onCapacityExhausted: "queue",
  budget: undefined,
  pricing: undefined,
};

const targetOf = (result: RouteResult) =>
  result.type === "routed" ? result.target.targetId : `no-route:${result.error.kind}`;

describe("DpCoordinatorActor", () => {
  it("spreads 1,000 routes over 4 equal replicas within 1.5x between busiest and idlest", async () => {
    const { coordinator, engine, route } = setup();
    const refs = ["r0", "r1", "r2", "r3"].map((id) => [id, engine(id)] as const);
    for (const [targetId, ref] of refs) {
      coordinator.tell({ type: "register", deployment: "d", targetId, ref, maxConcurrent: 8 });
    }
    const counts = new Map<string, number>();
    const running = new Map<string, number>(refs.map(([id]) => [id, 0]));
    for (let i = 0; i < 1000; i++) {
      const id = targetOf(await route());
      counts.set(id, (counts.get(id) ?? 0) + 1);
      running.set(id, (running.get(id) ?? 0) + 1);
      // every 10 routes each engine reports its load (and some requests finish)
      if (i % 10 === 9) {
        for (const [targetId] of refs) {
          const now = Math.max(0, (running.get(targetId) ?? 0) - 2);
          running.set(targetId, now);
          coordinator.tell({ type: "load-reported", deployment: "d", targetId, running: now, waiting: 0 });
        }
      }
    }
    const values = [...counts.values()];
    expect(values).toHaveLength(4);
    expect(values.reduce((a, b) => a + b)).toBe(1000);
    expect(Math.max(...values) / Math.min(...values)).toBeLessThanOrEqual(1.5);
  });

  it("adds one route's worth of load until the next report, so a burst does not land on one target", async () => {
    const { coordinator, engine, route } = setup();
    coordinator.tell({
      type: "register",
      deployment: "d",
      targetId: "a",
      ref: engine("a"),
      maxConcurrent: 4,
    });
    coordinator.tell({
      type: "register",
      deployment: "d",
      targetId: "b",
      ref: engine("b"),
      maxConcurrent: 4,
    });
    const burst = await Promise.all(Array.from({ length: 8 }, () => route()));
    expect(burst.filter((r) => targetOf(r) === "a")).toHaveLength(4);
    coordinator.tell({ type: "load-reported", deployment: "d", targetId: "a", running: 0, waiting: 0 });
    expect(targetOf(await route())).toBe("a");
  });

  it("an uncounted route (a token count) adds no load: counts never tilt the routing", async () => {
    const { coordinator, engine } = setup();
    for (const targetId of ["a", "b"])
      coordinator.tell({
        type: "register",
        deployment: "d",
        targetId,
        ref: engine(targetId),
        maxConcurrent: 4,
      });
    const uncounted = () =>
      coordinator.ask<RouteReply>(
        (replyTo) => ({ type: "route-to", deployment: "d", uncounted: true, replyTo }),
        {
          timeoutMs: 1000,
        },
      );
    // with no load added the lowest-load pick stays on the first target (counted routes alternate)
    const counts = await Promise.all(Array.from({ length: 8 }, () => uncounted()));
    expect(counts.map(targetOf)).toEqual(new Array(8).fill("a"));
  });

  it("picks the least-loaded target by (running + waiting) / max_concurrent", () => {
    const target = (id: string, running: number, waiting: number, maxConcurrent: number) => ({
      id,
      running,
      waiting,
      maxConcurrent,
      routedSinceReport: 0,
    });
    const picked = pickTarget([target("a", 4, 2, 8), target("b", 1, 0, 2)], Math.random);
    expect(picked?.id).toBe("b");
  });

  it("skips draining targets and drops a target whose engine terminated", async () => {
    const { coordinator, engine, route } = setup();
    const a = engine("a");
    const b = engine("b");
    coordinator.tell({ type: "register", deployment: "d", targetId: "a", ref: a, maxConcurrent: 4 });
    coordinator.tell({ type: "register", deployment: "d", targetId: "b", ref: b, maxConcurrent: 4 });
    coordinator.tell({ type: "set-draining", deployment: "d", targetId: "a" });
    for (let i = 0; i < 5; i++) expect(targetOf(await route())).toBe("b");
    await system.stop(b as ActorRef<never>);
    await flushMicrotasks();
    expect(targetOf(await route())).toBe("no-route:unavailable");
  });

  it("answers not_found for an unknown or removed deployment and unavailable while pending or failed", async () => {
    const { coordinator, route } = setup();
    expect(targetOf(await route("nope"))).toBe("no-route:not_found");
    coordinator.tell({ type: "deployment-state", deployment: "p", state: "pending", policy });
    expect(targetOf(await route("p"))).toBe("no-route:unavailable");
    coordinator.tell({
      type: "deployment-state",
      deployment: "p",
      state: "failed",
      policy,
      reason: "boom",
    });
    const failed = await route("p");
    expect(failed.type === "no-route" && failed.error.message).toMatch(/boom/);
    coordinator.tell({ type: "deployment-state", deployment: "p", state: "draining", policy });
    expect(targetOf(await route("p"))).toBe("no-route:not_found");
  });

  describe("peer targets (other nodes' engines, from the routing sync)", () => {
    const peer = (
      ref: ActorRef<EngineCommand>,
      overrides: Partial<PeerRouteTarget> & Pick<PeerRouteTarget, "targetId">,
    ): PeerRouteTarget => ({
      deployment: "d",
      nodeId: "node-b",
      maxConcurrent: 4,
      running: 0,
      waiting: 0,
      draining: false,
      ref,
      ...overrides,
    });
    const routeLocal = (coordinator: ActorRef<CoordinatorMessage>, deployment = "d") =>
      coordinator.ask<RouteReply>((replyTo) => ({ type: "route-to", deployment, localOnly: true, replyTo }), {
        timeoutMs: 1000,
      });
    const nodeOf = (result: RouteResult) => (result.type === "routed" ? result.target.nodeId : "none");

    it("routes to a peer when this node has no engine, naming the peer's node", async () => {
      const { coordinator, engine, route } = setup();
      coordinator.tell({ type: "peer-targets", targets: [peer(engine("p1"), { targetId: "remote-1" })] });
      const routed = await route();
      expect(targetOf(routed)).toBe("remote-1");
      expect(nodeOf(routed)).toBe("node-b");
    });

    it("keeps comparable loads on the local engine and goes to a peer only when it is clearly less loaded", async () => {
      const { coordinator, engine, route } = setup();
      coordinator.tell({
        type: "register",
        deployment: "d",
        targetId: "mine",
        ref: engine("mine"),
        maxConcurrent: 4,
      });
      const remote = engine("p1");
      coordinator.tell({ type: "load-reported", deployment: "d", targetId: "mine", running: 1, waiting: 0 });
      coordinator.tell({
        type: "peer-targets",
        targets: [peer(remote, { targetId: "remote-1", running: 0 })],
      });
      // 0.25 against 0: within the margin, the local engine wins
      const local = await route();
      expect(targetOf(local)).toBe("mine");
      expect(nodeOf(local)).toBe("local");
      coordinator.tell({ type: "load-reported", deployment: "d", targetId: "mine", running: 4, waiting: 2 });
      // 1.5 against 0: the peer wins
      expect(targetOf(await route())).toBe("remote-1");
    });

    it("routes around excluded targets (a re-route after one failed), local and peer alike", async () => {
      const { coordinator, engine } = setup();
      coordinator.tell({
        type: "register",
        deployment: "d",
        targetId: "mine",
        ref: engine("mine"),
        maxConcurrent: 4,
      });
      coordinator.tell({ type: "peer-targets", targets: [peer(engine("p1"), { targetId: "node-b/r1" })] });
      const routeExcluding = (exclude: string[]) =>
        coordinator.ask<RouteReply>((replyTo) => ({ type: "route-to", deployment: "d", exclude, replyTo }), {
          timeoutMs: 1000,
        });
      expect(targetOf(await routeExcluding(["mine"]))).toBe("node-b/r1");
      expect(targetOf(await routeExcluding(["node-b/r1"]))).toBe("mine");
      expect(targetOf(await routeExcluding(["mine", "node-b/r1"]))).toBe("no-route:unavailable");
    });

    it("never forwards a request that came from another node, and skips draining peers", async () => {
      const { coordinator, engine, route } = setup();
      coordinator.tell({
        type: "peer-targets",
        targets: [
          peer(engine("p1"), { targetId: "remote-1" }),
          peer(engine("p2"), { targetId: "remote-2", draining: true }),
        ],
      });
      expect(targetOf(await routeLocal(coordinator))).toBe("no-route:unavailable");
      for (let i = 0; i < 4; i++) expect(targetOf(await route())).toBe("remote-1");
    });

    it("replaces the whole peer set on each update, also for deployments learned later", async () => {
      const { coordinator, engine, route } = setup();
      coordinator.tell({
        type: "peer-targets",
        targets: [peer(engine("p1"), { targetId: "remote-1", deployment: "later" })],
      });
      coordinator.tell({
        type: "deployment-state",
        deployment: "later",
        state: "failed",
        policy,
        reason: "no egress",
      });
      expect(targetOf(await route("later"))).toBe("remote-1");
      coordinator.tell({ type: "peer-targets", targets: [] });
      expect(targetOf(await route("later"))).toBe("no-route:unavailable");
      expect(targetOf(await route())).toBe("no-route:unavailable");
    });

    it("reports this node's own targets with their load for the routing table", async () => {
      const { coordinator, engine } = setup();
      coordinator.tell({
        type: "register",
        deployment: "d",
        targetId: "mine",
        ref: engine("mine"),
        maxConcurrent: 4,
      });
      coordinator.tell({ type: "load-reported", deployment: "d", targetId: "mine", running: 2, waiting: 1 });
      coordinator.tell({ type: "peer-targets", targets: [peer(engine("p1"), { targetId: "remote-1" })] });
      const local = await coordinator.ask<readonly EngineTargetLoad[]>(
        (replyTo) => ({ type: "local-targets", replyTo }),
        { timeoutMs: 1000 },
      );
      expect(local).toEqual([
        { deployment: "d", targetId: "mine", maxConcurrent: 4, running: 2, waiting: 1, draining: false },
      ]);
    });
  });
});
