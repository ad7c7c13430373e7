// A Clock that only moves when a test says so. `advance(ms)` fires due timers in order and
// flushes pending promise callbacks after each, so code under test runs to its next wait.

import type { CancelTimer, Clock } from "../actor/clock.js";

interface Timer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** Lets queued promise callbacks and actor turns run (a few event-loop turns, no time passes). */
export async function flushMicrotasks(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Lets the event loop turn (I/O included, no time passes on any clock) until `condition` holds;
 * throws after `maxTurns`. For waiting on loopback I/O without sleeping.
 */
export async function until(condition: () => boolean, maxTurns = 5000): Promise<void> {
  for (let turn = 0; turn < maxTurns; turn++) {
    if (condition()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`condition not met after ${maxTurns} event-loop turns`);
}

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];
  #waiters: Array<() => void> = [];

  /** Starts at `startMs` (default 2026-01-01T00:00:00Z, a UTC midnight). */
  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimer(delayMs: number, fn: () => void): CancelTimer {
    const timer: Timer = { due: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn };
    this.#timers.push(timer);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
    return () => {
      const index = this.#timers.indexOf(timer);
      if (index >= 0) this.#timers.splice(index, 1);
    };
  }

  /** Timers armed and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Whether a timer is armed to fire exactly at `at` (absolute ms). */
  hasTimerAt(at: number): boolean {
    return this.#timers.some((timer) => timer.due === at);
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in due-time then arming order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.#earliestDue(target);
      if (next === undefined) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#now = next.due;
      next.fn();
      await flushMicrotasks();
    }
    this.#now = target;
    await flushMicrotasks();
  }

  /** Advances to the next pending timer and fires it (and any due at the same time). */
  async advanceToNextTimer(): Promise<void> {
    const next = this.#earliestDue(Number.POSITIVE_INFINITY);
    if (next) await this.advance(next.due - this.#now);
  }

  /** Resolves the next time code under test arms a timer. */
  nextTimerScheduled(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
    });
  }

  #earliestDue(limit: number): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.#timers) {
      if (timer.due > limit) continue;
      if (!best || timer.due < best.due || (timer.due === best.due && timer.seq < best.seq)) best = timer;
    }
    return best;
  }
}
