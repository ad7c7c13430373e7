// Results of the interleaved rounds: kept per table row while the matrix runs, and summarised per row.

import { median } from "./measure.js";

/**
 * A matrix of `total` measurements: record(round, key, result) keeps `result` in `runs` (key →
 * results per round) and returns the progress prefix "[n/total] round R KEY", KEY padded to `keyWidth`.
 */
export function matrixResults(total, keyWidth) {
  const runs = new Map();
  let done = 0;
  const record = (round, key, result) => {
    if (!runs.has(key)) runs.set(key, []);
    runs.get(key).push(result);
    done++;
    return `[${done}/${total}] round ${round} ${key.padEnd(keyWidth)}`;
  };
  return { runs, record };
}

const statistics = {
  median,
  min: (values) => Math.min(...values),
  max: (values) => Math.max(...values),
};

/**
 * The rounds of one table row summarised: `spec` maps each field to [statistic, key], statistic
 * "median", "min" or "max" of result[key] over `results`.
 */
export function acrossRounds(results, spec) {
  return Object.fromEntries(
    Object.entries(spec).map(([field, [statistic, key]]) => [
      field,
      statistics[statistic](results.map((result) => result[key])),
    ]),
  );
}
