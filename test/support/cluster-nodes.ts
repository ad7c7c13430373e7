// Multi-process cluster tests' helper: `rakka serve` nodes on loopback sharing one redis-server,
// each spawned as the leader of its own process group (killed by group, whatever happens), with
// its log lines kept and waited on by predicate, every wait bounded in time.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";

export interface NodeProcess {
  readonly name: string;
  readonly url: string;
  readonly lines: string[];
  /** Resolves once a log line satisfies `test` (lines already seen included); rejects after `ms`. */
  waitForLine(test: (line: string) => boolean, ms?: number): Promise<void>;
  /** SIGKILL to the node's process group (a node that dies). */
  kill(): void;
  /** SIGTERM to the group, then SIGKILL if it has not exited within `ms`; resolves with the exit code. */
  stop(ms?: number): Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Tests call this in afterAll: every node still running is killed by process group. */
export function killAllNodes(): void {
  for (const child of running) killGroup(child, "SIGKILL");
  running.clear();
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Writes `config` to a temporary file and starts `rakka serve` on it; resolves once it listens. */
export async function startNode(name: string, config: string, startMs = 20_000): Promise<NodeProcess> {
  const dir = await mkdtemp(join(tmpdir(), `rakka-${name}-`));
  const path = join(dir, "rakka.toml");
  await writeFile(path, config);
  const child = spawn(process.execPath, ["bin/rakka.js", "serve", "--config", path], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  running.add(child);
  const lines: string[] = [];
  const watchers: Array<{ test: (line: string) => boolean; resolve: () => void }> = [];
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      running.delete(child);
      void rm(dir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  const waitForLine = (test: (line: string) => boolean, ms = 10_000) =>
    new Promise<void>((resolve, reject) => {
      if (lines.some(test)) return resolve();
      const timer = setTimeout(
        () => reject(new Error(`${name}: no such log line within ${ms} ms:\n${lines.join("\n")}`)),
        ms,
      );
      watchers.push({
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  let buffer = "";
  const onText = (data: Buffer) => {
    buffer += data.toString();
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      for (const watcher of watchers.filter((w) => w.test(line))) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve();
      }
    }
  };
  child.stdout?.on("data", onText);
  child.stderr?.on("data", onText);
  const listening = (line: string) => line.includes('"msg":"listening"');
  await Promise.race([
    waitForLine(listening, startMs),
    exited.then((code) => {
      throw new Error(`${name} exited early (${code}):\n${lines.join("\n")}`);
    }),
  ]);
  const line = lines.find(listening) ?? "";
  const url = (JSON.parse(line) as { url: string }).url;
  return {
    name,
    url,
    lines,
    waitForLine,
    kill: () => killGroup(child, "SIGKILL"),
    async stop(ms = 10_000) {
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), ms);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The [server] and [cluster] tables every cluster test node shares; `cluster` adds keys to [cluster]. */
export function nodeTables(options: {
  readonly redisUrl: string;
  readonly nodeId: string;
  readonly keyPrefix: string;
  readonly adminKey: string;
  readonly nodeKey: string;
  readonly cluster?: string;
  /** Default 1000: a node silent this long is dead (raise it where a loaded machine must not kill nodes). */
  readonly nodeTimeoutMs?: number;
  /** Default 2000: `[server] drain_timeout_ms`, which also bounds a SIGTERM's replica hand-over. */
  readonly drainTimeoutMs?: number;
}): string {
  return `
[server]
bind = "127.0.0.1:0"
admin_key = "${options.adminKey}"
drain_delay_ms = 0
drain_timeout_ms = ${options.drainTimeoutMs ?? 2000}

[cluster]
redis_url = "${options.redisUrl}"
node_key = "${options.nodeKey}"
node_id = "${options.nodeId}"
key_prefix = "${options.keyPrefix}"
heartbeat_ms = 200
node_timeout_ms = ${options.nodeTimeoutMs ?? 1000}
${options.cluster ?? ""}
`;
}

/** One chat request through the openai client (retries off): its status, error code and message. */
export async function chatOutcome(
  url: string,
  model: string,
): Promise<{ status: number; code?: string; message?: string; retryAfter?: string }> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
  try {
    await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
    });
    return { status: 200 };
  } catch (error) {
    const failure = error as { status?: number; code?: string; message?: string; headers?: Headers };
    const retryAfter = failure.headers?.get("retry-after");
    return {
      status: failure.status ?? 0,
      ...(failure.code ? { code: failure.code } : {}),
      ...(failure.message ? { message: failure.message } : {}),
      ...(retryAfter ? { retryAfter } : {}),
    };
  }
}

/** Polls `probe` every `everyMs` until it resolves true (a rejection counts as false); fails after `ms`. */
export async function eventually(
  probe: () => Promise<boolean>,
  ms: number,
  what: string,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The ids of the nodes whose /readyz shows a ready local replica of `deployment`, sorted. */
export async function nodesWithReadyReplica(
  nodes: ReadonlyMap<string, NodeProcess>,
  deployment: string,
): Promise<string[]> {
  const running: string[] = [];
  for (const [id, node] of nodes) {
    const ready = (await (await fetch(`${node.url}/readyz`)).json()) as {
      deployments: Array<{ name: string; ready_replicas: number }>;
    };
    if ((ready.deployments.find((d) => d.name === deployment)?.ready_replicas ?? 0) > 0) running.push(id);
  }
  return running.sort();
}
