// `rakka serve --config FILE [--bind host:port]`: starts the actor system, listens, applies the
// file's deployments (one log line each when it serves or fails), and on SIGINT/SIGTERM stops
// accepting, lets in-flight requests finish (up to drain_timeout_ms) and exits 0. On a cluster
// node the file's deployments go through the catalog's startup rule instead (docs/cluster.md,
// "One catalog"): those it lacks are added, and the catalog's version of the others is served.

import { readFile } from "node:fs/promises";
import pino from "pino";
import { parse as parseToml } from "smol-toml";
import { parseConfig } from "../core/config/load-config.js";
import { parseBind } from "../core/config/server-schema.js";
import { createInferenceSystem, type DeploymentInput, defaultRuntimeRegistry } from "../index.js";
import type { CommandIo } from "./validate-command.js";

export interface ServeOptions {
  readonly configPath: string;
  readonly bind?: string;
  /** Resolves when the process should shut down (default: SIGINT or SIGTERM). */
  readonly shutdownSignal?: Promise<string>;
}

/**
 * The first SIGINT or SIGTERM; a second one during the drain calls `onRepeat` (the user insists).
 * The listeners stay installed until `release()` (after the drain): libraries that use signal-exit
 * (node-llama-cpp loads one) re-send a signal to the process when theirs are the only listeners
 * left, which would kill it mid-drain with the default action.
 */
function processSignal(
  given: Promise<string> | undefined,
  onRepeat: (signal: NodeJS.Signals) => void,
): {
  received: Promise<string>;
  release: () => void;
} {
  if (given !== undefined) return { received: given, release: () => {} };
  let resolve: (signal: string) => void = () => {};
  const received = new Promise<string>((settle) => {
    resolve = settle;
  });
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) resolve(signal);
    else onRepeat(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    received,
    release: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

export async function serveCommand(options: ServeOptions, io: CommandIo): Promise<number> {
  let text: string;
  try {
    text = await readFile(options.configPath, "utf8");
  } catch (error) {
    io.err(`${options.configPath}: cannot read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    return 1;
  }
  const registry = defaultRuntimeRegistry();
  const config = parseConfig(text, { runtimes: registry });
  if (!config.ok) {
    for (const problem of config.problems) io.err(`${problem.path}: ${problem.message}`);
    return 1;
  }
  const logger = pino({ name: "rakka" });
  for (const warning of config.warnings) logger.warn({ path: warning.path }, warning.message);
  let server = config.value.server;
  if (options.bind !== undefined) {
    const bind = parseBind(options.bind);
    if (!bind) {
      io.err(`--bind: must be "host:port", got "${options.bind}"`);
      return 2;
    }
    server = { ...server, ...bind };
  }
  const shutdown = processSignal(options.shutdownSignal, (signal) => {
    logger.warn({ signal }, "second signal: exiting now without waiting for in-flight requests");
    logger.flush();
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
  try {
    const cluster = config.value.cluster;
    // the catalog stores tables as written; the file parsed above, so this parse succeeds
    const tables = cluster ? ((parseToml(text).deployment ?? []) as Record<string, unknown>[]) : [];
    const system = await createInferenceSystem({
      server,
      registry,
      logger,
      ...(cluster ? { cluster, deployments: tables as DeploymentInput[] } : {}),
    });
    let listening: Awaited<ReturnType<typeof system.listen>>;
    try {
      listening = await system.listen();
    } catch (error) {
      await system.close().catch(() => {});
      const host = server.host.includes(":") ? `[${server.host}]` : server.host;
      io.err(`rakka serve: cannot listen on ${host}:${server.port}: ${listenProblem(error)}`);
      logger.flush();
      return 1;
    }
    logger.info({ url: listening.url }, "listening");
    const applied = Promise.all(
      (cluster ? [] : config.value.deployments).map((deployment) =>
        system.apply(deployment).catch((error: unknown) => {
          logger.error({ deployment: deployment.name, error: String(error) }, "deployment failed");
        }),
      ),
    );
    const signal = await shutdown.received;
    logger.info(
      { signal, drainDelayMs: server.drainDelayMs, drainTimeoutMs: server.drainTimeoutMs },
      "shutting down: draining in-flight requests",
    );
    await system.close();
    await applied.catch(() => {});
    logger.info({}, "stopped");
    logger.flush();
    return 0;
  } finally {
    shutdown.release();
  }
}

/** "address in use (EADDRINUSE)" for the common listen failures, else the error's own message. */
function listenProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    EADDRINUSE: "address in use",
    EACCES: "permission denied",
    EADDRNOTAVAIL: "address not available on this machine",
  };
  if (code !== undefined && reasons[code] !== undefined) return `${reasons[code]} (${code})`;
  return error instanceof Error ? error.message : String(error);
}
