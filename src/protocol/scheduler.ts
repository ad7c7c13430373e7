// Admission rules shared by the local EngineCoreActor and the RemoteEngineCoreActor, as pure steps
// (no clock, no model): which waiting request runs next, what waits, what is refused. Arrival
// order and priority are data. llama.cpp (or the remote worker pool) does the work; this only
// decides who is admitted.

import type { OnCapacityExhausted } from "../core/deployment.js";

export interface SchedulerLimits {
  readonly maxConcurrent: number;
  readonly queueCapacity: number;
  readonly onCapacityExhausted: OnCapacityExhausted;
  readonly queueTimeoutMs: number;
}

export interface WaitingEntry<T> {
  readonly id: string;
  /** Lower runs first (vLLM convention). */
  readonly priority: number;
  /** Arrival sequence number: ties on priority run in arrival order. */
  readonly seq: number;
  /** Absolute time after which the entry leaves the queue with `backpressure`. */
  readonly deadline: number;
  readonly item: T;
}

export type Admission =
  | { readonly type: "run" }
  | { readonly type: "enqueue"; readonly deadline: number }
  | { readonly type: "refuse"; readonly reason: "at-capacity" | "queue-full" };

/**
 * Decides what happens to a request arriving now. `canRun` is false while the engine cannot
 * start work (model loading or a context rebuild): then even a free slot means waiting.
 */
export function admit(
  limits: SchedulerLimits,
  state: { readonly running: number; readonly waiting: number; readonly canRun: boolean },
  now: number,
): Admission {
  const hasSlot = state.canRun && state.running < limits.maxConcurrent && state.waiting === 0;
  if (hasSlot) return { type: "run" };
  if (limits.onCapacityExhausted !== "queue") return { type: "refuse", reason: "at-capacity" };
  if (state.waiting >= limits.queueCapacity) return { type: "refuse", reason: "queue-full" };
  return { type: "enqueue", deadline: now + limits.queueTimeoutMs };
}

/** Inserts keeping the queue ordered by (priority, seq). */
export function enqueue<T>(queue: WaitingEntry<T>[], entry: WaitingEntry<T>): void {
  let low = 0;
  let high = queue.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const other = queue[middle] as WaitingEntry<T>;
    if (other.priority < entry.priority || (other.priority === entry.priority && other.seq < entry.seq))
      low = middle + 1;
    else high = middle;
  }
  queue.splice(low, 0, entry);
}

/** Removes and returns the entries to start now, best first, while slots are free. */
export function takeRunnable<T>(
  limits: SchedulerLimits,
  queue: WaitingEntry<T>[],
  state: { readonly running: number; readonly canRun: boolean },
): WaitingEntry<T>[] {
  if (!state.canRun) return [];
  const free = Math.max(0, limits.maxConcurrent - state.running);
  return queue.splice(0, Math.min(free, queue.length));
}

/** Removes and returns the entries whose queue deadline has passed. */
export function takeExpired<T>(queue: WaitingEntry<T>[], now: number): WaitingEntry<T>[] {
  const expired: WaitingEntry<T>[] = [];
  for (let i = queue.length - 1; i >= 0; i--) {
    const entry = queue[i] as WaitingEntry<T>;
    if (entry.deadline <= now) {
      expired.unshift(entry);
      queue.splice(i, 1);
    }
  }
  return expired;
}

/** Removes one entry by id (a request cancelled while queued). */
export function removeWaiting<T>(queue: WaitingEntry<T>[], id: string): WaitingEntry<T> | undefined {
  const index = queue.findIndex((entry) => entry.id === id);
  if (index < 0) return undefined;
  return queue.splice(index, 1)[0];
}
