// The benchmarks' knobs: environment variables read as numbers, whole numbers and folders.

import path from "node:path";

export const numberFromEnv = (name, fallback) => {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) throw new Error(`${name} must be a number ≥ 0, got "${value}"`);
  return number;
};

/** A whole-number knob: numberFromEnv, rounded, and at least `min`. */
export const countFromEnv = (name, fallback, min = 0) =>
  Math.max(min, Math.round(numberFromEnv(name, fallback)));

/** A folder knob, resolved against the working directory; `fallback` when unset. */
export const folderFromEnv = (name, fallback) => path.resolve(process.env[name] ?? fallback);
