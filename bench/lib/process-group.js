// Benchmark servers in a process group of their own: spawned as the group's leader, signalled and
// killed by group, so nothing a server starts outlives the run (used with server-process.js).

/** spawn options that make the child the leader of a new process group (its pid is the group id). */
export const ownGroup = { detached: true };

/** Sends `signal` to the whole group led by `tracked` (a spawnTracked child); false when it is gone. */
export function signalGroup(tracked, signal) {
  try {
    process.kill(-tracked.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** The group is SIGKILLed when this process exits, however it exits (after setUpRun's own handler). */
export function killGroupAtExit(tracked) {
  process.on("exit", () => signalGroup(tracked, "SIGKILL"));
}

/**
 * `signal` (SIGTERM) to the group; the leader's exit as { exit, late } once it has exited, SIGKILL
 * to the group when it has not within `timeoutMs` (late: true). The group is SIGKILLed afterwards
 * either way, so no straggler is left.
 */
export async function stopGroup(tracked, { signal = "SIGTERM", timeoutMs = 30_000 } = {}) {
  if (tracked.exit === undefined) {
    tracked.stopping = true;
    signalGroup(tracked, signal);
  }
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
  });
  const late = await Promise.race([tracked.exited.then(() => false), timedOut]);
  clearTimeout(timer);
  signalGroup(tracked, "SIGKILL");
  if (late) await tracked.exited;
  return { exit: tracked.exit, late };
}
