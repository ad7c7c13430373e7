// The machine a benchmark runs on: its one-line description, and CPU pinning of this process.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

/**
 * Pins this process (all its threads) to CPU 0 with `taskset`, unless the environment variable
 * `knob` is "0" or the machine has one CPU; true when pinned (false: no taskset, or not allowed).
 */
export function pinToCpu0(knob) {
  if (process.env[knob] === "0" || os.cpus().length < 2) return false;
  try {
    execFileSync("taskset", ["-a", "-cp", "0", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** "node vX, N CPUs (model), OS release; placement", N all CPUs whatever this process's affinity. */
export function describeMachine(placement) {
  const cpus = os.cpus();
  let model = cpus[0]?.model ?? "unknown";
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? model;
  } catch {
    // not Linux: os.cpus() it is
  }
  return `node ${process.version}, ${cpus.length} CPUs (${model}), ${os.type()} ${os.release()}; ${placement}`;
}
