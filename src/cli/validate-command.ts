// `rakka validate --config FILE`: every problem as `path: message` (exit 1), or a table of the
// deployments (never a secret) (exit 0).

import { access, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { RuntimeSchemas } from "../core/config/deployment-schema.js";
import { parseConfig } from "../core/config/load-config.js";

export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
}

export async function validateCommand(
  configPath: string,
  registry: RuntimeSchemas,
  io: CommandIo,
): Promise<number> {
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch (error) {
    io.err(`${configPath}: cannot read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    return 1;
  }
  const result = parseConfig(text, { runtimes: registry });
  if (!result.ok) {
    for (const problem of result.problems) io.err(`${problem.path}: ${problem.message}`);
    return 1;
  }
  for (const warning of result.warnings) io.err(`${warning.path}: warning: ${warning.message}`);
  // A missing llama model file is only a warning: `rakka serve` fails that one deployment at load
  // time, and the file may be written just before serving (as `npm start` does).
  for (const [index, deployment] of result.value.deployments.entries()) {
    if (deployment.runtime !== "llama") continue;
    const modelPath = resolve(deployment.model);
    const found = await access(modelPath).then(
      () => true,
      () => false,
    );
    if (!found)
      io.err(
        `deployment[${index}].model: warning: model file not found: ${modelPath} (rakka serve will fail this deployment)`,
      );
  }
  const rows = [
    ["NAME", "MODEL", "RUNTIME", "REPLICAS"],
    ...result.value.deployments.map((d) => [d.name, d.model, d.runtime, String(d.replicas)]),
  ];
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  for (const row of rows)
    io.out(
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    );
  io.out(`${result.value.deployments.length} deployment(s) valid`);
  return 0;
}
