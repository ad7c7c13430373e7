import { afterEach, describe, expect, it } from "vitest";
import { flushMicrotasks, ManualClock } from "../testkit/manual-clock.js";
import type { Actor, ActorContext, Signal } from "./actor.js";
import { props } from "./actor.js";
import type { ActorRef } from "./actor-ref.js";
import { ActorSystem } from "./actor-system.js";
import type { DeadLetter } from "./dead-letters.js";
import { ActorStoppedError, AskTimeoutError, MailboxFullError } from "./errors.js";

let system: ActorSystem;
let clock: ManualClock;
const newSystem = () => {
  clock = new ManualClock();
  system = ActorSystem.create({ name: "test", clock });
  return system;
};
afterEach(async () => {
  await system?.terminate();
});

function deadLettersOf(sys: ActorSystem): DeadLetter[] {
  const letters: DeadLetter[] = [];
  sys.deadLetters.subscribe((letter) => letters.push(letter));
  return letters;
}

describe("tell and ordering", () => {
  it("delivers one sender's messages in the order they were told", async () => {
    newSystem();
    const seen: number[] = [];
    const ref = system.spawn(
      props<number>(() => ({ receive: (n) => void seen.push(n) })),
      "sink",
    );
    for (let i = 0; i < 2000; i++) ref.tell(i);
    await flushMicrotasks(20);
    expect(seen).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it("handles one message at a time even when the handler is async", async () => {
    newSystem();
    let inFlight = 0;
    let maxInFlight = 0;
    const order: string[] = [];
    const gates: Array<() => void> = [];
    const ref = system.spawn(
      props<string>(() => ({
        async receive(message) {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          order.push(`start ${message}`);
          await new Promise<void>((resolve) => gates.push(resolve));
          order.push(`end ${message}`);
          inFlight--;
        },
      })),
      "async",
    );
    ref.tell("a");
    ref.tell("b");
    ref.tell("c");
    await flushMicrotasks();
    expect(order).toEqual(["start a"]);
    gates.shift()?.();
    await flushMicrotasks();
    gates.shift()?.();
    await flushMicrotasks();
    gates.shift()?.();
    await flushMicrotasks();
    expect(order).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    expect(maxInFlight).toBe(1);
  });
});

type Question = { type: "question"; text: string; replyTo: ActorRef<string> };

describe("ask", () => {
  it("resolves with the reply", async () => {
    newSystem();
    const echo = system.spawn(
      props<Question>(() => ({ receive: (q) => q.replyTo.tell(`echo ${q.text}`) })),
      "echo",
    );
    await expect(
      echo.ask<string>((replyTo) => ({ type: "question", text: "hi", replyTo }), { timeoutMs: 100 }),
    ).resolves.toBe("echo hi");
  });

  it("rejects with AskTimeoutError after timeoutMs on the injected clock, and a late reply goes to dead letters", async () => {
    newSystem();
    const letters = deadLettersOf(system);
    let pendingReply: ActorRef<string> | undefined;
    const silent = system.spawn(
      props<Question>(() => ({
        receive(q) {
          pendingReply = q.replyTo;
        },
      })),
      "silent",
    );
    let settled = false;
    const answer = silent.ask<string>((replyTo) => ({ type: "question", text: "?", replyTo }), {
      timeoutMs: 500,
    });
    answer
      .catch(() => {})
      .finally(() => {
        settled = true;
      });
    await clock.advance(499);
    expect(settled).toBe(false);
    await clock.advance(1);
    await expect(answer).rejects.toBeInstanceOf(AskTimeoutError);
    expect(() => pendingReply?.tell("too late")).not.toThrow();
    expect(letters).toContainEqual(expect.objectContaining({ message: "too late", reason: "ask-completed" }));
  });

  it("rejects at once when the target has stopped", async () => {
    newSystem();
    const ref = system.spawn(
      props<Question>(() => ({ receive() {} })),
      "gone",
    );
    await system.stop(ref as ActorRef<never>);
    await expect(
      ref.ask<string>((replyTo) => ({ type: "question", text: "?", replyTo }), { timeoutMs: 50 }),
    ).rejects.toBeInstanceOf(ActorStoppedError);
  });
});

describe("dead letters and backpressure", () => {
  it("tell to a full bounded mailbox never throws and dead-letters the message; offer hands it back", async () => {
    newSystem();
    const letters = deadLettersOf(system);
    let release: () => void = () => {};
    let open = false;
    const ref = system.spawn(
      props<number>(
        () => ({
          receive: () =>
            open
              ? undefined
              : new Promise<void>((resolve) => {
                  release = resolve;
                }),
        }),
        { mailboxCapacity: 2 },
      ),
      "bounded",
    );
    ref.tell(1);
    await flushMicrotasks(); // 1 is being handled; the mailbox is empty
    ref.tell(2);
    ref.tell(3);
    expect(() => ref.tell(4)).not.toThrow();
    expect(letters).toEqual([{ message: 4, recipient: "/user/bounded", reason: "mailbox-full" }]);
    const offered = ref.offer(5);
    expect(offered.ok).toBe(false);
    if (!offered.ok) {
      expect(offered.error).toBeInstanceOf(MailboxFullError);
      expect(offered.error.rejectedMessage).toBe(5);
    }
    open = true;
    release();
  });

  it("tell to a stopped actor goes to dead letters with reason stopped", async () => {
    newSystem();
    const letters = deadLettersOf(system);
    const ref = system.spawn(
      props<string>(() => ({ receive() {} })),
      "stopped",
    );
    await system.stop(ref as ActorRef<never>);
    expect(() => ref.tell("hello")).not.toThrow();
    expect(letters).toEqual([{ message: "hello", recipient: "/user/stopped", reason: "stopped" }]);
    const offered = ref.offer("again");
    expect(offered.ok === false && offered.error instanceof ActorStoppedError).toBe(true);
  });
});

describe("lifecycle and death watch", () => {
  it("stops children before the parent (postStop child first)", async () => {
    newSystem();
    const events: string[] = [];
    const leaf = (name: string): Actor<never> => ({
      receive() {},
      postStop: () => void events.push(`stop ${name}`),
    });
    const parent = system.spawn(
      props<never>((context) => {
        context.spawn(
          props<never>((inner) => {
            inner.spawn(
              props<never>(() => leaf("grandchild")),
              "grandchild",
            );
            return leaf("child");
          }),
          "child",
        );
        return leaf("parent");
      }),
      "parent",
    );
    await flushMicrotasks();
    await system.stop(parent as ActorRef<never>);
    expect(events).toEqual(["stop grandchild", "stop child", "stop parent"]);
  });

  it("gives watchers a terminated signal, or their chosen message, when the watched actor stops", async () => {
    newSystem();
    const signals: Signal[] = [];
    const messages: string[] = [];
    const target = system.spawn(
      props<string>(() => ({ receive() {} })),
      "target",
    );
    system.spawn(
      props<string>((context: ActorContext<string>) => {
        context.watch(target as ActorRef<never>);
        return { receive() {}, onSignal: (signal) => void signals.push(signal) };
      }),
      "watcher",
    );
    system.spawn(
      props<string>((context: ActorContext<string>) => {
        context.watchWith(target as ActorRef<never>, "target-gone");
        return { receive: (message) => void messages.push(message) };
      }),
      "watcher-with",
    );
    await flushMicrotasks();
    await system.stop(target as ActorRef<never>);
    await flushMicrotasks();
    expect(signals).toEqual([{ type: "terminated", ref: target }]);
    expect(messages).toEqual(["target-gone"]);
  });

  it("sends messages left in the mailbox of a stopping actor to dead letters", async () => {
    newSystem();
    const letters = deadLettersOf(system);
    let release: () => void = () => {};
    const ref = system.spawn(
      props<number>(() => ({
        receive: () =>
          new Promise<void>((resolve) => {
            release = resolve;
          }),
      })),
      "busy",
    );
    ref.tell(1);
    ref.tell(2);
    await flushMicrotasks();
    const stopped = system.stop(ref as ActorRef<never>);
    release();
    await stopped;
    expect(letters).toEqual([{ message: 2, recipient: "/user/busy", reason: "stopped" }]);
  });

  it("terminate() resolves only after every postStop has run, including async ones", async () => {
    newSystem();
    const stopped: string[] = [];
    for (const name of ["a", "b", "c"]) {
      system.spawn(
        props<never>((context) => {
          context.spawn(
            props<never>(() => ({
              receive() {},
              async postStop() {
                await flushMicrotasks(1);
                stopped.push(`${name}/child`);
              },
            })),
            "child",
          );
          return { receive() {}, postStop: () => void stopped.push(name) };
        }),
        name,
      );
    }
    await flushMicrotasks();
    await system.terminate();
    expect(stopped.sort()).toEqual(["a", "a/child", "b", "b/child", "c", "c/child"]);
    expect(() =>
      system.spawn(
        props<never>(() => ({ receive() {} })),
        "late",
      ),
    ).toThrow(/terminating/);
  });
});

describe("timers", () => {
  it("scheduleOnce and scheduleRepeatedly run on the injected clock and stop with the actor", async () => {
    newSystem();
    const ticks: Array<[string, number]> = [];
    const ref = system.spawn(
      props<string>((context) => ({
        preStart() {
          context.scheduleOnce(1000, "once");
          context.scheduleRepeatedly(300, "tick");
        },
        receive: (message) => void ticks.push([message, clock.now() - Date.UTC(2026, 0, 1)]),
      })),
      "timed",
    );
    await flushMicrotasks();
    await clock.advance(999);
    expect(ticks).toEqual([
      ["tick", 300],
      ["tick", 600],
      ["tick", 900],
    ]);
    await clock.advance(1);
    expect(ticks.at(-1)).toEqual(["once", 1000]);
    await system.stop(ref as ActorRef<never>);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(10_000);
    expect(ticks).toHaveLength(4);
  });

  it("a cancelled timer never fires", async () => {
    newSystem();
    const seen: string[] = [];
    system.spawn(
      props<string>((context) => ({
        preStart() {
          context.scheduleOnce(100, "late").cancel();
        },
        receive: (message) => void seen.push(message),
      })),
      "cancel",
    );
    await flushMicrotasks();
    await clock.advance(1000);
    expect(seen).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe("names and paths", () => {
  it("gives children paths under their parent and refuses a taken name", async () => {
    newSystem();
    let childPath = "";
    system.spawn(
      props<never>((context) => {
        childPath = context.spawn(
          props<never>(() => ({ receive() {} })),
          "request-42",
        ).path;
        expect(() =>
          context.spawn(
            props<never>(() => ({ receive() {} })),
            "request-42",
          ),
        ).toThrow(/taken/);
        return { receive() {} };
      }),
      "gateway",
    );
    expect(childPath).toBe("/user/gateway/request-42");
    expect(() =>
      system.spawn(
        props<never>(() => ({ receive() {} })),
        "gateway",
      ),
    ).toThrow(/taken/);
  });
});
