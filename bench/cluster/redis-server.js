// The Redis of the cluster benchmark (bench/cluster/run.js): $REDIS_URL when set, else a private
// `redis-server` on a free 127.0.0.1 port, no persistence, in a process group of its own (killed by
// group when the run ends, however it ends). Every wait is bounded in time.

import net from "node:net";
import { Redis } from "ioredis";
import { killGroupAtExit, ownGroup, stopGroup } from "../lib/process-group.js";
import { spawnTracked } from "../lib/processes.js";

/** A free loopback port (listen on 0, read it, close). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** True once `host:port` answers PING with +PONG, false on refusal or after `timeoutMs`. */
function ping(host, port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = "";
    const done = (ok) => {
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

/**
 * { url, external, tracked (our server's process, for CPU readings; undefined when external), stop() }.
 * Our own server is pinned to `cpu` when given.
 */
export async function startRedis({ cpu, readyTimeoutMs = 10_000 } = {}) {
  const external = process.env.REDIS_URL;
  if (external !== undefined && external !== "")
    return { url: external, external: true, tracked: undefined, stop: async () => {} };
  const port = await freePort();
  const command = [
    "redis-server",
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ];
  const [file, ...argv] = cpu === undefined ? command : ["taskset", "-c", String(cpu), ...command];
  const tracked = spawnTracked("redis-server", file, argv, ownGroup);
  killGroupAtExit(tracked);
  const deadlineAt = Date.now() + readyTimeoutMs;
  for (;;) {
    if (tracked.exit !== undefined)
      throw new Error(`redis-server exited (${tracked.exit})\n${tracked.tails()}`);
    if (await ping("127.0.0.1", port, 500)) break;
    if (Date.now() > deadlineAt) {
      await stopGroup(tracked, { signal: "SIGKILL", timeoutMs: 5_000 });
      throw new Error(`redis-server on port ${port} did not answer PING within ${readyTimeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  tracked.started = true;
  return {
    url: `redis://127.0.0.1:${port}`,
    external: false,
    tracked,
    stop: () => stopGroup(tracked, { timeoutMs: 5_000 }),
  };
}

/**
 * Removes the run's keys (SCAN + UNLINK of `prefix`*) from an external server ($REDIS_URL), touching
 * nothing else; our own server is simply killed. Bounded: 10 s to connect and per command.
 */
export async function deleteKeys(url, prefix) {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 10_000,
    commandTimeout: 10_000,
    maxRetriesPerRequest: 1,
  });
  try {
    await client.connect();
    const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}
