// Readings of the gateway under soak: open file descriptors and RSS from /proc, and the counts of
// its /metrics exposition (rakka_requests_total by deployment and outcome, and a heap gauge when
// the server exports one).

import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { exchange } from "../lib/http.js";
import { vmKib } from "../lib/measure.js";

/** Open file descriptors of process `pid` (entries of /proc/<pid>/fd); NaN when unreadable. */
export function openFds(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

/** The open fds of `pid` by kind ("socket", "pipe", "anon_inode", "file", …): a count each. */
export function fdKinds(pid) {
  const kinds = {};
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target = "gone";
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        // closed meanwhile
      }
      const kind = /^(\w+):/.exec(target)?.[1] ?? (target.startsWith("/") ? "file" : target);
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
  } catch {
    // the process is gone
  }
  return kinds;
}

/**
 * How many of `pid`'s sockets are TCP connections to `port` on loopback (the gateway's pooled
 * connections to the soak's upstream): their inodes matched against /proc/<pid>/net/tcp{,6}.
 */
export function socketsToPort(pid, port) {
  const inodes = new Set();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1]);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return 0;
  }
  let count = 0;
  for (const table of ["tcp", "tcp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const remote = fields[2];
      const inode = fields[9];
      if (remote === undefined || inode === undefined) continue;
      if (Number.parseInt(remote.slice(remote.indexOf(":") + 1), 16) === port && inodes.has(inode)) count++;
    }
  }
  return count;
}

/** VmRSS of `pid` in KiB; NaN once it is gone. */
export function rssKib(pid) {
  try {
    return vmKib(pid, "VmRSS");
  } catch {
    return Number.NaN;
  }
}

/** `name{a="x",b="y"} value` lines of a Prometheus text exposition: { labels, value } each. */
function samplesOf(text, name) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[1] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ labels, value: Number(match[2]) });
  }
  return samples;
}

/**
 * One scrape of `url`/metrics: `requests` maps "deployment outcome" to rakka_requests_total;
 * `heapUsedBytes` is nodejs_heap_size_used_bytes when the server exports it (undefined if not).
 */
export async function scrapeMetrics(url) {
  const answer = await exchange(`${url}/metrics`, "GET");
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}`);
  const requests = new Map();
  for (const { labels, value } of samplesOf(answer.body, "rakka_requests_total"))
    requests.set(`${labels.deployment} ${labels.outcome}`, value);
  const heap = samplesOf(answer.body, "nodejs_heap_size_used_bytes")[0]?.value;
  return { requests, heapUsedBytes: heap };
}

/** `after` − `before` of two scrapes' request counts (keys with no change left out). */
export function countsBetween(before, after) {
  const delta = new Map();
  for (const [key, value] of after.requests) {
    const change = value - (before.requests.get(key) ?? 0);
    if (change !== 0) delta.set(key, change);
  }
  return delta;
}

/** Sums "deployment outcome" counts per outcome. */
export function byOutcome(counts) {
  const sums = new Map();
  for (const [key, value] of counts) {
    const outcome = key.slice(key.lastIndexOf(" ") + 1);
    sums.set(outcome, (sums.get(outcome) ?? 0) + value);
  }
  return sums;
}
