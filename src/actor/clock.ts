// The one source of time for the actor system and everything it runs.
// Every timer and every time read in the project goes through a Clock, so tests
// can drive time with the testkit's ManualClock instead of sleeping.

/** Cancels a timer; calling it after the timer fired (or twice) does nothing. */
export type CancelTimer = () => void;

export interface Clock {
  /** Milliseconds since the Unix epoch (wall time on the system clock). */
  now(): number;
  /** Runs `fn` once after `delayMs` (clamped at 0). Callers keep the returned canceller. */
  setTimer(delayMs: number, fn: () => void): CancelTimer;
}

/** The real clock: Date.now and setTimeout. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, fn) {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    return () => clearTimeout(handle);
  },
};
