import { afterEach, describe, expect, it } from "vitest";
import { flushMicrotasks, ManualClock } from "../testkit/manual-clock.js";
import type { Signal } from "./actor.js";
import { props } from "./actor.js";
import type { ActorRef } from "./actor-ref.js";
import { ActorSystem } from "./actor-system.js";
import type { DeadLetter } from "./dead-letters.js";
import { escalate, oneForOne, restart, resume, stop } from "./supervision.js";

let system: ActorSystem;
let clock: ManualClock;
afterEach(async () => {
  await system?.terminate();
});

class Boom extends Error {}
class Fatal extends Error {}

type CounterMessage =
  | { type: "add" }
  | { type: "boom" }
  | { type: "fatal" }
  | { type: "get"; replyTo: ActorRef<number> };

function counter(events: string[], strategy = oneForOne(() => restart({ maxRetries: 3, withinMs: 60_000 }))) {
  return props<CounterMessage>(
    () => {
      let count = 0;
      return {
        preStart: () => void events.push("preStart"),
        postStop: () => void events.push("postStop"),
        preRestart: (error, message) =>
          void events.push(`preRestart ${(error as Error).message} ${message?.type}`),
        postRestart: (error) => void events.push(`postRestart ${(error as Error).message}`),
        receive(message) {
          switch (message.type) {
            case "add":
              count++;
              return;
            case "boom":
              throw new Boom("boom");
            case "fatal":
              throw new Fatal("fatal");
            case "get":
              message.replyTo.tell(count);
          }
        },
      };
    },
    { supervision: strategy },
  );
}

const get = (ref: ActorRef<CounterMessage>) =>
  ref.ask<number>((replyTo) => ({ type: "get", replyTo }), { timeoutMs: 1000 });

function setup() {
  clock = new ManualClock();
  system = ActorSystem.create({ name: "supervision", clock });
  const letters: DeadLetter[] = [];
  system.deadLetters.subscribe((letter) => letters.push(letter));
  return letters;
}

describe("restart", () => {
  it("rebuilds the actor from its props with fresh state, runs the hooks, keeps the mailbox and dead-letters the failed message", async () => {
    const letters = setup();
    const events: string[] = [];
    const ref = system.spawn(counter(events), "counter");
    ref.tell({ type: "add" });
    ref.tell({ type: "add" });
    ref.tell({ type: "boom" });
    ref.tell({ type: "add" }); // queued behind the failure: must survive the restart
    await flushMicrotasks();
    expect(await get(ref)).toBe(1);
    expect(events).toEqual(["preStart", "preRestart boom boom", "postRestart boom"]);
    expect(letters).toEqual([{ message: { type: "boom" }, recipient: "/user/counter", reason: "failed" }]);
  });

  it("stops the child and tells the parent after more than maxRetries failures within withinMs", async () => {
    setup();
    const events: string[] = [];
    const signals: Signal[] = [];
    let child: ActorRef<CounterMessage> | undefined;
    system.spawn(
      props<never>((context) => {
        child = context.spawn(
          counter(
            events,
            oneForOne(() => restart({ maxRetries: 2, withinMs: 1000 })),
          ),
          "child",
        );
        return { receive() {}, onSignal: (signal) => void signals.push(signal) };
      }),
      "parent",
    );
    const c = child as ActorRef<CounterMessage>;
    c.tell({ type: "boom" });
    c.tell({ type: "boom" });
    await flushMicrotasks();
    expect(signals).toEqual([]);
    c.tell({ type: "boom" });
    await flushMicrotasks();
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({ type: "child-failed", ref: c });
    expect(events.at(-1)).toBe("postStop");
  });

  it("forgets failures older than withinMs", async () => {
    setup();
    const events: string[] = [];
    const ref = system.spawn(
      counter(
        events,
        oneForOne(() => restart({ maxRetries: 1, withinMs: 1000 })),
      ),
      "windowed",
    );
    ref.tell({ type: "boom" });
    await flushMicrotasks();
    await clock.advance(1001);
    ref.tell({ type: "boom" });
    ref.tell({ type: "add" });
    await flushMicrotasks();
    expect(await get(ref)).toBe(1);
    expect(events.filter((e) => e.startsWith("postRestart"))).toHaveLength(2);
  });
});

describe("other directives", () => {
  it("resume keeps the actor's state", async () => {
    setup();
    const events: string[] = [];
    const ref = system.spawn(
      counter(
        events,
        oneForOne(() => resume()),
      ),
      "resumer",
    );
    ref.tell({ type: "add" });
    ref.tell({ type: "boom" });
    ref.tell({ type: "add" });
    expect(await get(ref)).toBe(2);
    expect(events).toEqual(["preStart"]);
  });

  it("stop stops the actor", async () => {
    const letters = setup();
    const events: string[] = [];
    const ref = system.spawn(
      counter(
        events,
        oneForOne(() => stop()),
      ),
      "stopper",
    );
    ref.tell({ type: "boom" });
    await flushMicrotasks();
    ref.tell({ type: "add" });
    expect(events).toEqual(["preStart", "postStop"]);
    expect(letters.map((l) => l.reason)).toEqual(["failed", "stopped"]);
  });

  it("a decider chooses the directive from the failure", async () => {
    setup();
    const events: string[] = [];
    const decider = (error: unknown) => (error instanceof Fatal ? stop() : resume());
    const ref = system.spawn(counter(events, oneForOne(decider)), "decided");
    ref.tell({ type: "add" });
    ref.tell({ type: "boom" });
    expect(await get(ref)).toBe(1);
    ref.tell({ type: "fatal" });
    await flushMicrotasks();
    expect(events).toEqual(["preStart", "postStop"]);
  });

  it("escalate fails the parent, whose own strategy then applies", async () => {
    setup();
    const events: string[] = [];
    let parentStarts = 0;
    let child: ActorRef<CounterMessage> | undefined;
    system.spawn(
      props<never>(
        (context) => {
          parentStarts++;
          child = context.spawn(
            counter(
              events,
              oneForOne(() => escalate()),
            ),
            "child",
          );
          return {
            receive() {},
            preRestart: (error) => void events.push(`parent preRestart ${(error as Error).message}`),
          };
        },
        {
          supervision: oneForOne((error) =>
            error instanceof Boom ? restart({ maxRetries: 1, withinMs: 1000 }) : stop(),
          ),
        },
      ),
      "parent",
    );
    const first = child as ActorRef<CounterMessage>;
    first.tell({ type: "boom" });
    await flushMicrotasks(6);
    expect(parentStarts).toBe(2);
    expect(events).toContain("parent preRestart child /user/parent/child escalated: boom");
    expect(child).not.toBe(first);
    expect(await get(child as ActorRef<CounterMessage>)).toBe(0);
  });
});
