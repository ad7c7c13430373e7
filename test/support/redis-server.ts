// Test harness for the Redis stores and, later, cluster failure tests: starts a private
// `redis-server` on a free loopback port (or uses $REDIS_URL), and hands out key prefixes so tests
// never see each other's keys. Nothing here flushes a database; every wait is bounded in time.

import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import type { Redis } from "ioredis";

export interface RedisServer {
  /** redis://127.0.0.1:PORT, or $REDIS_URL. */
  readonly url: string;
  /** True when $REDIS_URL named the server: it cannot be stopped, killed or restarted from here. */
  readonly external: boolean;
  /** Test files call this in afterAll: SIGTERM to the server's process group, SIGKILL if it lingers. */
  stop(): Promise<void>;
  /** Failure tests call this to lose Redis abruptly (SIGKILL, nothing saved: the server has no persistence). */
  kill(): Promise<void>;
  /** Failure tests call this to bring an empty server back on the same port (stopping it first if running). */
  restart(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** How long to wait for the first PONG. Default 10 s. */
  readyTimeoutMs?: number;
  /** The redis-server binary. Default "redis-server" on PATH. */
  binary?: string;
}

/** Test files call this in beforeAll and keep the server for the whole file. */
export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServer> {
  const external = process.env.REDIS_URL;
  if (external !== undefined && external !== "") return externalServer(external);
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const binary = options.binary ?? "redis-server";
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(binary, port, readyTimeoutMs);

  const signal = async (name: NodeJS.Signals, graceMs: number): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, "exit");
    killGroup(running, name);
    if (!(await within(exited, graceMs))) {
      killGroup(running, "SIGKILL");
      if (!(await within(exited, 5_000))) throw new Error(`redis-server on port ${port} did not exit`);
    }
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    external: false,
    stop: () => signal("SIGTERM", 5_000),
    kill: () => signal("SIGKILL", 5_000),
    restart: async () => {
      await signal("SIGTERM", 5_000);
      child = await launch(binary, port, readyTimeoutMs);
    },
  };
}

/**
 * Each test calls this (through its store factory) for a prefix no other test uses. Prefixes of
 * one file share `filePrefix`, so afterAll can delete exactly that file's keys (deleteKeys).
 */
export function uniqueKeyPrefix(filePrefix: string): string {
  return `${filePrefix}${randomUUID().slice(0, 8)}:`;
}

/** A file-level prefix: `rakka-test:<random>:`. */
export function fileKeyPrefix(): string {
  return `rakka-test:${randomUUID()}:`;
}

/**
 * Test files call this in afterAll when they ran against an external server ($REDIS_URL): removes
 * the keys under `prefix` with SCAN + UNLINK, touching nothing else.
 */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${escapeGlob(prefix)}*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== "0");
}

function externalServer(url: string): RedisServer {
  const refuse = async (): Promise<void> => {
    throw new Error("REDIS_URL names an external server: this harness cannot kill or restart it");
  };
  return { url, external: true, stop: async () => {}, kill: refuse, restart: refuse };
}

async function launch(binary: string, port: number, readyTimeoutMs: number): Promise<ChildProcess> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  // Detached: the server leads its own process group, so stop/kill reach everything it started.
  const child = spawn(binary, args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const failed = new Promise<never>((_, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      reject(new Error(`redis-server exited early (code ${code}, signal ${signal}): ${stderr.trim()}`)),
    );
  });
  failed.catch(() => {});
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    const answered = await Promise.race([ping(port, 500), failed]);
    if (answered) {
      child.removeAllListeners("exit");
      child.removeAllListeners("error");
      child.stderr?.removeAllListeners("data");
      child.stderr?.resume();
      return child;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  killGroup(child, "SIGKILL");
  throw new Error(`redis-server on port ${port} did not answer PING within ${readyTimeoutMs} ms`);
}

/** Resolves true once the server at `port` answers PING with PONG, false on refusal or after timeoutMs. */
function ping(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.once("error", () => done(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
