import { describe, expect, it } from "vitest";
import {
  admit,
  enqueue,
  removeWaiting,
  type SchedulerLimits,
  takeExpired,
  takeRunnable,
  type WaitingEntry,
} from "./scheduler.js";

const queueLimits: SchedulerLimits = {
  maxConcurrent: 2,
  queueCapacity: 3,
  onCapacityExhausted: "queue",
  queueTimeoutMs: 1000,
};
const rejectLimits: SchedulerLimits = { ...queueLimits, onCapacityExhausted: "reject" };
const entry = (id: string, priority: number, seq: number, deadline = 10_000): WaitingEntry<string> => ({
  id,
  priority,
  seq,
  deadline,
  item: id,
});

describe("admit", () => {
  it("runs at once while a slot is free and nobody waits", () => {
    expect(admit(queueLimits, { running: 1, waiting: 0, canRun: true }, 0)).toEqual({ type: "run" });
  });

  it("queue: waits with a deadline of now + queue_timeout_ms when all slots are busy", () => {
    expect(admit(queueLimits, { running: 2, waiting: 0, canRun: true }, 500)).toEqual({
      type: "enqueue",
      deadline: 1500,
    });
  });

  it("queue: a full queue refuses at once", () => {
    expect(admit(queueLimits, { running: 2, waiting: 3, canRun: true }, 0)).toEqual({
      type: "refuse",
      reason: "queue-full",
    });
  });

  it("queue: does not overtake waiting requests even when a slot is free", () => {
    expect(admit(queueLimits, { running: 1, waiting: 1, canRun: true }, 0).type).toBe("enqueue");
  });

  it("reject: refuses as soon as max_concurrent are running", () => {
    expect(admit(rejectLimits, { running: 2, waiting: 0, canRun: true }, 0)).toEqual({
      type: "refuse",
      reason: "at-capacity",
    });
    expect(admit(rejectLimits, { running: 1, waiting: 0, canRun: true }, 0)).toEqual({ type: "run" });
  });

  it("waits while the engine cannot run (loading or rebuilding)", () => {
    expect(admit(queueLimits, { running: 0, waiting: 0, canRun: false }, 0).type).toBe("enqueue");
  });
});

describe("queue order", () => {
  it("orders by priority (lower first) then arrival", () => {
    const queue: WaitingEntry<string>[] = [];
    enqueue(queue, entry("a", 0, 1));
    enqueue(queue, entry("b", 5, 2));
    enqueue(queue, entry("c", -1, 3));
    enqueue(queue, entry("d", 0, 4));
    enqueue(queue, entry("e", 5, 5));
    expect(queue.map((e) => e.id)).toEqual(["c", "a", "d", "b", "e"]);
  });

  it("takes as many runnable entries as there are free slots, best first", () => {
    const queue = [entry("a", 0, 1), entry("b", 0, 2), entry("c", 0, 3)];
    expect(takeRunnable(queueLimits, queue, { running: 1, canRun: true }).map((e) => e.id)).toEqual(["a"]);
    expect(takeRunnable(queueLimits, queue, { running: 0, canRun: false })).toEqual([]);
    expect(takeRunnable(queueLimits, queue, { running: 0, canRun: true }).map((e) => e.id)).toEqual([
      "b",
      "c",
    ]);
    expect(queue).toEqual([]);
  });

  it("expires entries whose deadline passed and keeps the rest in order", () => {
    const queue = [entry("a", 0, 1, 100), entry("b", 0, 2, 300), entry("c", 0, 3, 200)];
    expect(takeExpired(queue, 200).map((e) => e.id)).toEqual(["a", "c"]);
    expect(queue.map((e) => e.id)).toEqual(["b"]);
  });

  it("removes a cancelled entry by id", () => {
    const queue = [entry("a", 0, 1), entry("b", 0, 2)];
    expect(removeWaiting(queue, "a")?.id).toBe("a");
    expect(removeWaiting(queue, "zzz")).toBeUndefined();
    expect(queue.map((e) => e.id)).toEqual(["b"]);
  });
});
