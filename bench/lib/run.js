// A benchmark run's frame: temporary folder, cleanup at exit (children killed), deadline, error handling.

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { killChildren } from "./processes.js";

/**
 * A temporary folder for this run (under os.tmpdir(), named `prefix` + random): when this process
 * exits, every child is killed and the folder removed; SIGINT, SIGTERM and SIGHUP exit (130).
 */
export function setUpRun(prefix) {
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on("exit", () => {
    killChildren();
    rmSync(tmpDir, { recursive: true, force: true });
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(signal, () => {
      console.error(`\nreceived ${signal}: stopping the servers`);
      process.exit(130); // the exit handler kills the children
    });
  }
  return tmpDir;
}

/** Ends the run (exit code 124) once it has run `seconds` (the value of the knob `name`). */
export function exitAfter(seconds, name) {
  const deadline = setTimeout(() => {
    console.error(`the benchmark ran past ${name} = ${seconds} s: stopping`);
    process.exit(124);
  }, seconds * 1000);
  deadline.unref();
  return deadline;
}

/** Runs `main`: an error is printed and fails the run; then `finish`, and every child is killed. */
export async function runBenchmark(main, finish = () => {}) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  } finally {
    // Nothing may outlive the benchmark: kill what is left (the exit handler does it again).
    finish();
    killChildren();
  }
}
