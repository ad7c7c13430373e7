// `rakka deployments list|apply FILE.toml|remove NAME --url URL` and `rakka cost-report --url URL`:
// clients of a running server's admin API, authenticated with the key in RAKKA_ADMIN_KEY.

import { readFile } from "node:fs/promises";
import { parse as parseToml } from "smol-toml";
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

async function call(
  options: AdminClientOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  const response = await (options.fetch ?? fetch)(`${options.url.replace(/\/+$/, "")}/admin/v1/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${options.adminKey ?? ""}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { error: { message: text.slice(0, 200) } };
  }
  return { status: response.status, body: parsed };
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

function failure(io: CommandIo, reply: Reply): number {
  const error = reply.body.error as { message?: string } | undefined;
  io.err(
    `admin API answered ${reply.status}: ${error?.message ?? (reply.body.reason as string | undefined) ?? "error"}`,
  );
  const problems = reply.body.problems as Array<{ path: string; message: string }> | undefined;
  for (const problem of problems ?? []) io.err(`${problem.path}: ${problem.message}`);
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
  switch (action) {
    case "list": {
      const reply = await call(options, "GET", "deployments");
      if (reply.status !== 200) return failure(io, reply);
      const deployments = reply.body.deployments as Array<Record<string, unknown>>;
      const rows = [
        ["NAME", "STATE", "RUNTIME", "READY", "RUNNING", "WAITING", "CIRCUIT", "SPEND/H", "SPEND/DAY"],
      ];
      for (const d of deployments) {
        const circuits = (d.circuits as Array<{ state: string }>).map((c) => c.state).join(",") || "-";
        const spend = d.spend as { hourUsd: number; dayUsd: number };
        rows.push([
          String(d.name),
          String(d.state),
          String(d.runtime),
          `${d.readyReplicas}/${d.replicas}`,
          String(d.running),
          String(d.waiting),
          circuits,
          usd(spend.hourUsd),
          usd(spend.dayUsd),
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
      const document = parseToml(await readFile(argument, "utf8")) as { deployment?: unknown[] };
      const tables = document.deployment ?? [];
      if (tables.length === 0) {
        io.err(`${argument}: no [[deployment]] table`);
        return 1;
      }
      let code = 0;
      for (const deploymentTable of tables) {
        const reply = await call(options, "POST", "deployments", deploymentTable);
        if (reply.status !== 200) code = failure(io, reply);
        else {
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
}

export async function costReportCommand(options: AdminClientOptions, io: CommandIo): Promise<number> {
  if (options.adminKey === undefined || options.adminKey === "") {
    io.err("rakka cost-report: set RAKKA_ADMIN_KEY to the server's [server] admin_key");
    return 2;
  }
  const reply = await call(options, "GET", "spend");
  if (reply.status !== 200) return failure(io, reply);
  const rows = [["DEPLOYMENT", "THIS HOUR (UTC)", "TODAY (UTC)", "RESERVED"]];
  let hour = 0;
  let day = 0;
  for (const row of reply.body.spend as Array<{
    deployment: string;
    hour_usd: number;
    day_usd: number;
    reserved_usd: number;
  }>) {
    rows.push([row.deployment, usd(row.hour_usd), usd(row.day_usd), usd(row.reserved_usd)]);
    hour += row.hour_usd;
    day += row.day_usd;
  }
  rows.push(["TOTAL", usd(hour), usd(day), ""]);
  for (const line of table(rows)) io.out(line);
  return 0;
}
