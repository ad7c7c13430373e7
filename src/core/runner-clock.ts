// The time source a runtime is given (pacing, load delays). Runtimes may import only core, so
// this is the structural slice of the actor kernel's Clock they need; the kernel's Clock and the
// testkit's ManualClock both satisfy it, and the engine passes its own clock down.

export interface RunnerClock {
  /** Milliseconds since the Unix epoch; read by a runner when it needs the current time. */
  now(): number;
  /**
   * Runs `fn` once after `delayMs` (clamped at 0); called by a runner for every wait it makes.
   * The returned function cancels the timer (a no-op once it fired); runners call it when the
   * request is aborted so no timer outlives its request.
   */
  setTimer(delayMs: number, fn: () => void): () => void;
}

/**
 * Waits `delayMs` on `clock`. Resolves true when the time passed, false as soon as `signal` is
 * aborted (already aborted included); on abort the timer is cancelled and the listener removed.
 */
export function sleepOn(clock: RunnerClock, delayMs: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = () => {
      cancel();
      resolve(false);
    };
    const cancel = clock.setTimer(delayMs, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits until `promise` settles or `delayMs` passes on `clock`, whichever comes first; the timer
 * is cancelled either way. True when the promise settled in time.
 */
export async function settledWithin(
  clock: RunnerClock,
  delayMs: number,
  promise: Promise<unknown>,
): Promise<boolean> {
  let cancel = () => {};
  const timedOut = new Promise<false>((resolve) => {
    cancel = clock.setTimer(delayMs, () => resolve(false));
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timedOut,
    ]);
  } finally {
    cancel();
  }
}
