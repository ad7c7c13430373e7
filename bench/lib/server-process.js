// Benchmark servers as child processes: started (their "listening" line) and ready (/readyz); the gateway.

import { fileURLToPath } from "node:url";
import { exchange } from "./http.js";
import { assertRunning, spawnTracked } from "./processes.js";

const HOST = "127.0.0.1";
const rakka = fileURLToPath(new URL("../../bin/rakka.js", import.meta.url));

/**
 * Spawns `node [nodeArgs] script args` (pinned to `cpu` when given) and resolves once it prints a
 * JSON line whose msg is "listening" (pino's line from `rakka serve`, or a child server's) on
 * 127.0.0.1, with its url; fails after `timeoutMs`. `spawnOptions` go to spawnTracked (e.g.
 * process-group.js's `ownGroup`).
 */
export function startServer(
  name,
  script,
  args,
  { nodeArgs = [], cpu, timeoutMs = 20_000, spawnOptions } = {},
) {
  // `taskset -c CPU node ...` execs node, so child.pid is the server's pid either way.
  const command = [process.execPath, ...nodeArgs, script, ...args];
  const [file, ...argv] = cpu === undefined ? command : ["taskset", "-c", String(cpu), ...command];
  const server = spawnTracked(name, file, argv, spawnOptions);
  server.url = undefined;
  return new Promise((resolve, reject) => {
    let pending = "";
    const fail = (error) => {
      clearTimeout(timer);
      reject(new Error(`${name}: ${error.message}\n${server.tails()}`));
    };
    const timer = setTimeout(
      () => fail(new Error(`no "listening" line within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    server.child.once("error", fail);
    server.exited.then(() => {
      if (!server.url) fail(new Error(`exited (${server.exit}) before listening`));
    });
    server.child.stdout.on("data", (text) => {
      if (server.url) return;
      pending += text;
      for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        let record;
        try {
          record = JSON.parse(line);
        } catch {
          continue;
        }
        if (record?.msg !== "listening" || typeof record.url !== "string") continue;
        if (new URL(record.url).hostname !== HOST) {
          fail(new Error(`listens on ${record.url}, not on ${HOST}`));
          return;
        }
        server.url = record.url;
        server.started = true;
        clearTimeout(timer);
        resolve(server);
        return;
      }
    });
  });
}

/** Polls `/readyz` every `pollMs` until it answers 200; fails after `timeoutMs` or when the server exits. */
export async function waitUntilReady(server, { timeoutMs = 20_000, pollMs = 50 } = {}) {
  const deadlineAt = Date.now() + timeoutMs;
  for (;;) {
    assertRunning(server);
    const answer = await exchange(`${server.url}/readyz`, "GET").catch(() => undefined);
    if (answer?.status === 200) return;
    if (Date.now() > deadlineAt)
      throw new Error(`${server.name}: /readyz not 200 within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** `rakka serve --config configFile` as the child "gateway", resolved once it is ready. */
export async function startGateway(configFile, { timeoutMs, pollMs, ...options } = {}) {
  const gateway = await startServer("gateway", rakka, ["serve", "--config", configFile], {
    timeoutMs,
    ...options,
  });
  await waitUntilReady(gateway, { timeoutMs, pollMs });
  return gateway;
}
