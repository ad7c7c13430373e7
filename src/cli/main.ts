// The `rakka` command line: parses arguments and dispatches to a command.

import { parseArgs } from "node:util";
import { defaultRuntimeRegistry } from "../index.js";
import { serveCommand } from "./serve-command.js";
import { type CommandIo, validateCommand } from "./validate-command.js";

const usage = `usage: rakka <command> [options]

commands:
  serve --config FILE [--bind host:port]   serve the project file's deployments over HTTP
  validate --config FILE                   check a project file; print its deployments or every problem`;

const consoleIo: CommandIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export async function main(argv: readonly string[], io: CommandIo = consoleIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "help") {
    io.out(usage);
    return command === undefined ? 1 : 0;
  }
  let values: { config?: string; bind?: string };
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: { config: { type: "string", short: "c" }, bind: { type: "string" } },
      strict: true,
    }));
  } catch (error) {
    io.err(`rakka ${command}: ${(error as Error).message}`);
    return 2;
  }
  switch (command) {
    case "validate":
      if (!values.config) {
        io.err("rakka validate: --config FILE is required");
        return 2;
      }
      return validateCommand(values.config, defaultRuntimeRegistry(), io);
    case "serve":
      if (!values.config) {
        io.err("rakka serve: --config FILE is required");
        return 2;
      }
      return serveCommand({ configPath: values.config, ...(values.bind ? { bind: values.bind } : {}) }, io);
    default:
      io.err(`rakka: unknown command "${command}"\n${usage}`);
      return 2;
  }
}
