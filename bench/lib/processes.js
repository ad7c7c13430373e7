// Child processes of a benchmark run: spawned and tracked (exit, output tails), checked, stopped, killed.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const STOP_TIMEOUT_MS = 30_000;
const children = new Set();

export function killChildren() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Spawns a child (cwd: the repository) and records its exit; stdout/stderr tails are kept for errors. */
export function spawnTracked(name, file, argv, options = {}) {
  const child = spawn(file, argv, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], ...options });
  children.add(child);
  const tracked = {
    name,
    child,
    pid: child.pid,
    exit: undefined,
    stopping: false,
    stdoutTail: "",
    stderrTail: "",
  };
  tracked.exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      children.delete(child);
      tracked.exit = signal ?? `code ${code}`;
      if (tracked.started && !tracked.stopping)
        console.error(
          `${name} (pid ${tracked.pid}) exited unexpectedly (${tracked.exit})\n${tracked.stderrTail}`,
        );
      resolve();
    });
  });
  tracked.tails = () =>
    `--- ${name} stdout (tail) ---\n${tracked.stdoutTail}\n--- ${name} stderr (tail) ---\n${tracked.stderrTail}`;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text) => {
    tracked.stderrTail = (tracked.stderrTail + text).slice(-4000);
  });
  // Keep reading stdout for the whole run, so a logging child never blocks on a full pipe.
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (text) => {
    tracked.stdoutTail = (tracked.stdoutTail + text).slice(-4000);
  });
  return tracked;
}

/** `signal` (SIGTERM), then SIGKILL if the child has not exited within 30 s. */
export async function stopProcess(tracked, signal = "SIGTERM") {
  if (!tracked || tracked.exit !== undefined) return;
  tracked.stopping = true;
  tracked.child.kill(signal);
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
  });
  const late = await Promise.race([tracked.exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    console.error(`${tracked.name} did not exit within ${STOP_TIMEOUT_MS / 1000} s of ${signal}: SIGKILL`);
    tracked.child.kill("SIGKILL");
    await tracked.exited;
  }
}

export function assertRunning(tracked) {
  if (tracked.exit !== undefined)
    throw new Error(`${tracked.name} is not running (${tracked.exit})\n${tracked.tails()}`);
}
