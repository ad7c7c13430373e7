// `rakka deployments list|apply FILE.toml|remove NAME --url URL`, `rakka cost-report --url URL` and
// `rakka cluster status --url URL`:
// clients of a running server's admin API, authenticated with the key in RAKKA_ADMIN_KEY.

import { readFile } from "node:fs/promises";
import { parse as parseToml } from "smol-toml";
import { tomlSyntaxMessage } from "../core/config/load-config.js";
import type { CommandIo } from "./validate-command.js";

export interface AdminClientOptions {
  readonly url: string;
  readonly adminKey: string | undefined;
  /** Injected for tests; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A failure that ends the command with a message (and exit code) instead of a stack trace. */
class CommandFailure extends Error {
  constructor(
    message: string,
    readonly code: 1 | 2 = 1,
  ) {
    super(message);
  }
}

/** The server's origin (and path prefix) from `--url`, or a CommandFailure naming the problem. */
function baseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CommandFailure(
      `--url must be the server's http(s) URL (http://127.0.0.1:8080), got "${url}"`,
      2,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new CommandFailure(`--url must be an http(s) URL, got "${url}"`, 2);
  }
  return url.replace(/\/+$/, "");
}

async function call(
  options: AdminClientOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  const url = `${baseUrl(options.url)}/admin/v1/${path}`;
  let response: Response;
  let text: string;
  try {
    response = await (options.fetch ?? fetch)(url, {
      method,
      headers: {
        authorization: `Bearer ${options.adminKey ?? ""}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    text = await response.text();
  } catch (error) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is in its cause
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new CommandFailure(`cannot reach ${options.url}: ${reason}`);
  }
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { error: { message: text.slice(0, 200) } };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    parsed = { error: { message: text.slice(0, 200) } };
  }
  return { status: response.status, body: parsed };
}

/** `body[key]` as an array, or a CommandFailure: the server at --url did not answer like rakka's admin API. */
function arrayField<T>(options: AdminClientOptions, reply: Reply, key: string): T[] {
  const value = reply.body[key];
  if (!Array.isArray(value)) {
    throw new CommandFailure(`${options.url} did not answer like a rakka admin API (no "${key}" list)`);
  }
  return value as T[];
}

/** Runs a command body, turning a CommandFailure into its message on stderr and its exit code. */
async function reported(io: CommandIo, command: string, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof CommandFailure)) throw error;
    io.err(`rakka ${command}: ${error.message}`);
    return error.code;
  }
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

/**
 * Prints the admin API's refusal. `prefix` names what was refused (`deployment[1] "name"`) and
 * prefixes the problem paths, so each problem of a multi-table file says which table it is about.
 */
function failure(io: CommandIo, reply: Reply, prefix?: string): number {
  const error = reply.body.error as { message?: unknown } | undefined;
  const message = typeof error?.message === "string" ? error.message : "error";
  const hint =
    reply.status === 404 && message.startsWith("unknown path")
      ? " (is the admin API on? it needs [server] admin_key)"
      : "";
  io.err(`${prefix ? `${prefix}: ` : ""}admin API answered ${reply.status}: ${message}${hint}`);
  const problems = reply.body.problems as Array<{ path: string; message: string }> | undefined;
  const base = prefix?.split(" ")[0];
  for (const problem of Array.isArray(problems) ? problems : []) {
    io.err(`${base ? `${base}.` : ""}${problem.path}: ${problem.message}`);
  }
  return 1;
}

const usd = (value: unknown) => `$${(typeof value === "number" ? value : 0).toFixed(6)}`;

export async function deploymentsCommand(
  action: string | undefined,
  argument: string | undefined,
  options: AdminClientOptions,
  io: CommandIo,
): Promise<number> {
  if (options.adminKey === undefined || options.adminKey === "") {
    io.err("rakka deployments: set RAKKA_ADMIN_KEY to the server's [server] admin_key");
    return 2;
  }
  return reported(io, "deployments", async () => {
    switch (action) {
      case "list": {
        const reply = await call(options, "GET", "deployments");
        if (reply.status !== 200) return failure(io, reply);
        const deployments = arrayField<Record<string, unknown>>(options, reply, "deployments");
        const rows = [
          ["NAME", "STATE", "RUNTIME", "READY", "RUNNING", "WAITING", "CIRCUIT", "SPEND/H", "SPEND/DAY"],
        ];
        for (const d of deployments) {
          const circuits = ((d.circuits as Array<{ state: string }> | undefined) ?? [])
            .map((c) => c.state)
            .join(",");
          const spend = (d.spend as { hour_usd?: number; day_usd?: number } | undefined) ?? {};
          rows.push([
            String(d.name),
            String(d.state),
            String(d.runtime),
            `${d.ready_replicas}/${d.replicas}`,
            String(d.running),
            String(d.waiting),
            circuits || "-",
            usd(spend.hour_usd),
            usd(spend.day_usd),
          ]);
        }
        for (const line of table(rows)) io.out(line);
        return 0;
      }
      case "apply": {
        if (!argument) {
          io.err("rakka deployments apply FILE.toml: a file with [[deployment]] tables is required");
          return 2;
        }
        const tables = await deploymentTables(argument);
        let code = 0;
        for (const [index, deploymentTable] of tables.entries()) {
          const reply = await call(options, "POST", "deployments", deploymentTable);
          if (reply.status !== 200) {
            const name = (deploymentTable as { name?: unknown }).name;
            code = failure(io, reply, `deployment[${index}]${typeof name === "string" ? ` "${name}"` : ""}`);
          } else {
            const deployment = reply.body.deployment as { name: string; state: string };
            io.out(`applied ${deployment.name}: ${deployment.state}`);
          }
        }
        return code;
      }
      case "remove": {
        if (!argument) {
          io.err("rakka deployments remove NAME: the deployment's name is required");
          return 2;
        }
        const reply = await call(options, "DELETE", `deployments/${encodeURIComponent(argument)}`);
        if (reply.status !== 200) return failure(io, reply);
        io.out(`removed ${argument}`);
        return 0;
      }
      default:
        io.err("usage: rakka deployments list|apply FILE.toml|remove NAME --url URL");
        return 2;
    }
  });
}

/** The `[[deployment]]` tables of a TOML file, or a CommandFailure that names the file. */
async function deploymentTables(path: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new CommandFailure(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let document: Record<string, unknown>;
  try {
    document = parseToml(text);
  } catch (error) {
    throw new CommandFailure(`${path}: ${tomlSyntaxMessage(error)}`);
  }
  const tables = document.deployment;
  if (tables !== undefined && !Array.isArray(tables)) {
    throw new CommandFailure(`${path}: "deployment" must be [[deployment]] tables`);
  }
  if (tables === undefined || tables.length === 0)
    throw new CommandFailure(`${path}: no [[deployment]] table`);
  return tables;
}

export async function costReportCommand(options: AdminClientOptions, io: CommandIo): Promise<number> {
  if (options.adminKey === undefined || options.adminKey === "") {
    io.err("rakka cost-report: set RAKKA_ADMIN_KEY to the server's [server] admin_key");
    return 2;
  }
  return reported(io, "cost-report", async () => {
    const reply = await call(options, "GET", "spend");
    if (reply.status !== 200) return failure(io, reply);
    const rows = [["DEPLOYMENT", "THIS HOUR (UTC)", "TODAY (UTC)", "RESERVED"]];
    let hour = 0;
    let day = 0;
    for (const row of arrayField<{
      deployment: string;
      hour_usd: number;
      day_usd: number;
      reserved_usd: number;
    }>(options, reply, "spend")) {
      rows.push([row.deployment, usd(row.hour_usd), usd(row.day_usd), usd(row.reserved_usd)]);
      hour += row.hour_usd;
      day += row.day_usd;
    }
    rows.push(["TOTAL", usd(hour), usd(day), ""]);
    for (const line of table(rows)) io.out(line);
    return 0;
  });
}

/**
 * `rakka cluster status`: one row per live node, from the node at --url's last heartbeat round;
 * then one row per placed replica with its state and failure reason (docs/cluster.md, "Placement").
 */
export async function clusterStatusCommand(options: AdminClientOptions, io: CommandIo): Promise<number> {
  if (options.adminKey === undefined || options.adminKey === "") {
    io.err("rakka cluster status: set RAKKA_ADMIN_KEY to the server's [server] admin_key");
    return 2;
  }
  return reported(io, "cluster status", async () => {
    const reply = await call(options, "GET", "cluster");
    if (reply.status !== 200) return failure(io, reply);
    const rows = [["NODE", "URL", "HEARTBEAT AGE", "REPLICAS", "IN FLIGHT", "STORE"]];
    const self = String(reply.body.node ?? "");
    const store = String(reply.body.store ?? "");
    for (const node of arrayField<{
      node_id: string;
      url: string;
      heartbeat_age_ms: number;
      replicas: Array<{ deployment: string }>;
      in_flight: number;
    }>(options, reply, "nodes")) {
      rows.push([
        node.node_id === self ? `${node.node_id} (this)` : node.node_id,
        node.url,
        `${(node.heartbeat_age_ms / 1000).toFixed(1)} s`,
        node.replicas.map((replica) => replica.deployment).join(", ") || "-",
        String(node.in_flight),
        node.node_id === self ? store : "",
      ]);
    }
    for (const line of table(rows)) io.out(line);
    if (!("placement" in reply.body)) return 0; // a server without the placement fields
    const placement = reply.body.placement as PlacementJson | null;
    if (placement === null || typeof placement !== "object") {
      io.err(
        `rakka cluster status: placement unavailable: ${String(reply.body.placement_error ?? "no answer")}`,
      );
      return 1;
    }
    io.out("");
    for (const line of replicaLines(placement)) io.out(line);
    return 0;
  });
}

/** GET /admin/v1/cluster's `placement` (docs/api.md). */
interface PlacementJson {
  version?: number;
  lease_holder?: string | null;
  plan?: Array<{ deployment: string; index: number; node_id: string }>;
  unplaced?: Array<{ deployment: string; index: number; reason: string }>;
  reports?: Array<{ deployment: string; index: number; node_id: string; state: string; reason?: string }>;
}

/**
 * The replica table of `rakka cluster status`: one row per placed replica (state `placed` until its
 * node reports it), then any replica a node reports that the plan no longer places there (one
 * draining after a move), and one per replica no node can take (node `-`, state `unplaced`, the
 * reason), sorted by deployment, index, node; then the lease holder.
 */
function replicaLines(placement: PlacementJson): string[] {
  const plan = Array.isArray(placement.plan) ? placement.plan : [];
  const reports = Array.isArray(placement.reports) ? placement.reports : [];
  const key = (entry: { deployment: string; index: number; node_id: string }) =>
    JSON.stringify([entry.deployment, entry.index, entry.node_id]);
  const reported = new Map(reports.map((report) => [key(report), report]));
  const unplaced = Array.isArray(placement.unplaced) ? placement.unplaced : [];
  const entries = [
    ...plan.map((entry) => ({ ...entry, report: reported.get(key(entry)) })),
    ...reports
      .filter((report) => !plan.some((entry) => key(entry) === key(report)))
      .map((report) => ({ ...report, report })),
    ...unplaced.map((entry) => ({
      deployment: entry.deployment,
      index: entry.index,
      node_id: "-",
      report: { state: "unplaced", reason: entry.reason },
    })),
  ].sort((a, b) => compare(a.deployment, b.deployment) || a.index - b.index || compare(a.node_id, b.node_id));
  const holder = `placement lease: ${placement.lease_holder ?? "none"} (plan version ${placement.version ?? 0})`;
  if (entries.length === 0) return ["no placed replicas", holder];
  const rows = [["DEPLOYMENT", "REPLICA", "NODE", "STATE", "REASON"]];
  for (const entry of entries)
    rows.push([
      entry.deployment,
      String(entry.index),
      entry.node_id,
      entry.report?.state ?? "placed",
      entry.report?.reason ?? "",
    ]);
  return [...table(rows), holder];
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
