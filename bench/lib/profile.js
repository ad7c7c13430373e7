// CPU profiles (`node --cpu-prof`) of benchmark servers: new files, cut to the measured part, summarised.

import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Creates `dir` when missing; the names in it now, for newProfiles. */
export function profilesBefore(dir) {
  mkdirSync(dir, { recursive: true });
  return new Set(readdirSync(dir));
}

/** The .cpuprofile files (not cut windows) written into `dir` since `before`, newest first. */
export function newProfiles(dir, before) {
  return readdirSync(dir)
    .filter(
      (name) => name.endsWith(".cpuprofile") && !name.endsWith(".window.cpuprofile") && !before.has(name),
    )
    .map((name) => path.join(dir, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

/**
 * The samples of a profile inside [startUs, endUs], written next to it as NAME.window.cpuprofile:
 * V8 stamps its samples on the monotonic clock that process.hrtime reads (in µs), in every process.
 */
export function profileWindow(file, startUs, endUs) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  let time = profile.startTime;
  let first = -1;
  let last = -1;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i];
    if (time < startUs) continue;
    if (time > endUs) break;
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0) throw new Error(`${file}: no samples between ${startUs} and ${endUs} µs`);
  const windowFile = file.replace(/\.cpuprofile$/, ".window.cpuprofile");
  writeFileSync(
    windowFile,
    JSON.stringify({
      ...profile,
      startTime: startUs,
      endTime: endUs,
      samples: profile.samples.slice(first, last + 1),
      timeDeltas: profile.timeDeltas.slice(first, last + 1),
    }),
  );
  return windowFile;
}

/** `node bench/gateway/summarize-profile.js file top inclusive`'s output (its own process). */
export function summarizeWithTool(file, top, inclusive) {
  return execFileSync(
    process.execPath,
    [path.join(repoRoot, "bench", "gateway", "summarize-profile.js"), file, String(top), String(inclusive)],
    { cwd: repoRoot, encoding: "utf8", timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  ).trimEnd();
}
