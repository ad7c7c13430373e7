// Summarises a V8 CPU profile (`node --cpu-prof` writes one `.cpuprofile` per process): the
// functions with the most self time, each with its file:line (mapped through the compiled file's
// source map to src/*.ts when there is one), and the self time per area (Node internals, each
// dist/ folder, each npm package, GC, idle).
//
// Usage: node bench/gateway/summarize-profile.js FILE.cpuprofile [TOP [INCLUSIVE]]
//   TOP (default 25): functions by self time; INCLUSIVE (default 15; 0: none): this repository's
//   functions by inclusive time (self + callees).
// Also imported by bench/gateway/run.js (summarizeProfile).

import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Self time in microseconds per profile node id. V8 records, for sample i, the time since sample
 * i-1 in timeDeltas[i]; the interval after sample i (timeDeltas[i+1]) is the time spent in it.
 */
function selfTimes(profile) {
  const self = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  for (let i = 0; i < samples.length; i++) {
    const delta = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    if (delta > 0) self.set(samples[i], (self.get(samples[i]) ?? 0) + delta);
  }
  return self;
}

const sourceMaps = new Map();

/** The SourceMap of a compiled file in this repository (dist/**.js next to its .js.map), or null. */
function sourceMapOf(file) {
  if (sourceMaps.has(file)) return sourceMaps.get(file);
  let map = null;
  const mapFile = `${file}.map`;
  if (file.startsWith(repoRoot) && existsSync(mapFile)) {
    try {
      map = { map: new SourceMap(JSON.parse(readFileSync(mapFile, "utf8"))), dir: path.dirname(file) };
    } catch {
      map = null;
    }
  }
  sourceMaps.set(file, map);
  return map;
}

/** `file:line` of a call frame (1-based line), as src/…ts:line when a source map knows it. */
function locationOf(callFrame) {
  const { url, lineNumber, columnNumber } = callFrame;
  if (!url) return "";
  if (url.startsWith("node:")) return `${url}:${lineNumber + 1}`;
  let file = url;
  if (url.startsWith("file://")) {
    try {
      file = fileURLToPath(url);
    } catch {
      return `${url}:${lineNumber + 1}`;
    }
  }
  const relative = file.startsWith(repoRoot) ? path.relative(repoRoot, file) : file;
  const compiled = `${relative}:${lineNumber + 1}`;
  const sourceMap = sourceMapOf(file);
  if (sourceMap && lineNumber >= 0) {
    const entry = sourceMap.map.findEntry(lineNumber, Math.max(columnNumber, 0));
    if (entry && typeof entry.originalSource === "string" && entry.originalLine !== undefined) {
      const source = entry.originalSource.startsWith("file://")
        ? fileURLToPath(entry.originalSource)
        : path.resolve(sourceMap.dir, entry.originalSource);
      return `${path.relative(repoRoot, source)}:${entry.originalLine + 1} (${compiled})`;
    }
  }
  return compiled;
}

/** The area a call frame belongs to: node internals, a dist/ folder, an npm package, V8's own. */
function areaOf(callFrame) {
  const { url, functionName } = callFrame;
  if (!url) {
    if (functionName === "(garbage collector)") return "(garbage collector)";
    if (functionName === "(idle)") return "(idle)";
    if (functionName === "(program)") return "(program: V8/native, unattributed)";
    return "(native / V8 builtins)";
  }
  if (url.startsWith("node:")) return "node: internals";
  const file = url.startsWith("file://") ? fileURLToPath(url) : url;
  const modules = file.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const parts = file.slice(modules + "/node_modules/".length).split("/");
    return `npm: ${parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  if (file.startsWith(repoRoot)) {
    const relative = path.relative(repoRoot, file).split(path.sep);
    return relative[0] === "dist" && relative.length > 2 ? `dist/${relative[1]}/` : relative.join("/");
  }
  return file;
}

/**
 * Inclusive (total) time per function of this repository (dist/ or src/): each sample counts once
 * for every distinct function on its stack, so recursion is not counted twice.
 */
function inclusiveRepoTimes(profile) {
  const byId = new Map();
  const parent = new Map();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const keyOf = (frame) =>
    `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`;
  const totals = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  for (let i = 0; i < samples.length; i++) {
    const delta = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    if (delta <= 0) continue;
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (!frame?.url.startsWith("file://") || !fileURLToPath(frame.url).startsWith(repoRoot)) continue;
      if (fileURLToPath(frame.url).includes("/node_modules/")) continue;
      const key = keyOf(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = totals.get(key);
      if (entry) entry.micros += delta;
      else totals.set(key, { frame, micros: delta });
    }
  }
  return [...totals.values()].sort((a, b) => b.micros - a.micros);
}

const ms = (micros) => `${(micros / 1000).toFixed(1)} ms`;
const pct = (part, whole) => `${whole > 0 ? ((100 * part) / whole).toFixed(1) : "0.0"} %`;

/**
 * The summary as text: totals, the top `top` functions by self time (a markdown table), optionally
 * the top `inclusive` functions of this repository by inclusive time, and the self time per area.
 * "busy" excludes (idle).
 */
export function summarizeProfile(profile, top = 25, inclusive = 0) {
  const self = selfTimes(profile);
  const byFunction = new Map();
  const byArea = new Map();
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const micros = self.get(node.id) ?? 0;
    if (micros === 0) continue;
    total += micros;
    const frame = node.callFrame;
    if (frame.functionName === "(idle)") idle += micros;
    const key = `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`;
    const entry = byFunction.get(key);
    if (entry) entry.micros += micros;
    else byFunction.set(key, { frame, micros });
    const area = areaOf(frame);
    byArea.set(area, (byArea.get(area) ?? 0) + micros);
  }
  const busy = total - idle;
  const lines = [];
  lines.push(
    `sampled ${ms(total)}: busy ${ms(busy)} (${pct(busy, total)}), idle ${ms(idle)}; ` +
      `${profile.samples?.length ?? 0} samples`,
  );
  lines.push("");
  lines.push(`Top ${top} functions by self time (share of busy time):`);
  lines.push("");
  lines.push("| # | self | busy | function | location |");
  lines.push("|--:|-----:|-----:|----------|----------|");
  const functions = [...byFunction.values()]
    .filter((entry) => entry.frame.functionName !== "(idle)")
    .sort((a, b) => b.micros - a.micros)
    .slice(0, top);
  functions.forEach((entry, index) => {
    const name = entry.frame.functionName || "(anonymous)";
    const location = locationOf(entry.frame) || "—";
    lines.push(
      `| ${index + 1} | ${ms(entry.micros)} | ${pct(entry.micros, busy)} | \`${name}\` | ${location} |`,
    );
  });
  if (inclusive > 0) {
    lines.push("");
    lines.push(
      `Top ${inclusive} functions of this repository by inclusive time (self + callees; share of busy time):`,
    );
    lines.push("");
    lines.push("| # | total | busy | function | location |");
    lines.push("|--:|------:|-----:|----------|----------|");
    inclusiveRepoTimes(profile)
      .slice(0, inclusive)
      .forEach((entry, index) => {
        const name = entry.frame.functionName || "(anonymous)";
        lines.push(
          `| ${index + 1} | ${ms(entry.micros)} | ${pct(entry.micros, busy)} | \`${name}\` | ${locationOf(entry.frame)} |`,
        );
      });
  }
  lines.push("");
  lines.push("Self time by area (share of busy time):");
  lines.push("");
  lines.push("| area | self | busy |");
  lines.push("|------|-----:|-----:|");
  const areas = [...byArea.entries()].filter(([area]) => area !== "(idle)").sort((a, b) => b[1] - a[1]);
  for (const [area, micros] of areas) lines.push(`| ${area} | ${ms(micros)} | ${pct(micros, busy)} |`);
  return lines.join("\n");
}

const invokedDirectly =
  process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (invokedDirectly) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node bench/gateway/summarize-profile.js FILE.cpuprofile [TOP [INCLUSIVE]]");
    process.exit(2);
  }
  const count = (text, fallback) => (Number.isInteger(Number(text)) ? Number(text) : fallback);
  const profile = JSON.parse(readFileSync(file, "utf8"));
  console.log(summarizeProfile(profile, count(process.argv[3] ?? 25, 25), count(process.argv[4] ?? 15, 15)));
}
