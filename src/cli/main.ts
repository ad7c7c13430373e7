// The `rakka` command line: parses arguments and dispatches to a command.

import { parseArgs } from "node:util";
import { defaultRuntimeRegistry } from "../index.js";
import type { ModelQuant, ModelSize } from "../runtimes/llama/random-llama-model.js";
import { clusterStatusCommand, costReportCommand, deploymentsCommand } from "./admin-commands.js";
import { makeModelCommand, makeModelDefaults } from "./make-model-command.js";
import { serveCommand } from "./serve-command.js";
import { type CommandIo, validateCommand } from "./validate-command.js";

const usage = `usage: rakka <command> [options]

commands:
  serve --config FILE [--bind host:port]   serve the project file's deployments over HTTP
  validate --config FILE                   check a project file; print its deployments or every problem
  make-model --out FILE [--size tiny|small|medium] [--seed N] [--quant f16|q8_0] [--if-missing]
                                           write a generated llama GGUF model (random weights)
  deployments list|apply FILE.toml|remove NAME --url URL
                                           manage a running server's deployments (admin key in RAKKA_ADMIN_KEY)
  cost-report --url URL                    spend per deployment this UTC hour and day (RAKKA_ADMIN_KEY)
  cluster status --url URL                 the cluster's live nodes, as the node at URL sees them, and where
                                           each placed replica runs, with its state (RAKKA_ADMIN_KEY)`;

const consoleIo: CommandIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

const options = {
  config: { type: "string", short: "c" },
  bind: { type: "string" },
  out: { type: "string" },
  size: { type: "string" },
  seed: { type: "string" },
  quant: { type: "string" },
  "if-missing": { type: "boolean" },
  url: { type: "string" },
} as const;

export async function main(argv: readonly string[], io: CommandIo = consoleIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.err(usage);
    return 2;
  }
  // `rakka --help`, `rakka help [command]`, `rakka COMMAND --help|-h`: the usage, exit 0
  if (["--help", "-h", "help"].includes(command) || rest.some((arg) => arg === "--help" || arg === "-h")) {
    io.out(usage);
    return 0;
  }
  let values: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>["values"];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...rest], options, strict: true, allowPositionals: true }));
  } catch (error) {
    io.err(`rakka ${command}: ${(error as Error).message}`);
    return 2;
  }
  // `deployments list`, `deployments apply FILE`, `deployments remove NAME`: at most two
  const allowed =
    command === "deployments" ? (positionals[0] === "list" ? 1 : 2) : command === "cluster" ? 1 : 0;
  if (positionals.length > allowed) {
    io.err(`rakka ${command}: unexpected argument "${positionals[allowed]}"`);
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
    case "make-model": {
      const seed = values.seed === undefined ? makeModelDefaults.seed : Number(values.seed);
      if (!Number.isSafeInteger(seed) || seed < 0) {
        io.err(`rakka make-model: --seed must be a non-negative integer, got "${values.seed}"`);
        return 2;
      }
      return makeModelCommand(
        {
          out: values.out ?? "",
          size: (values.size ?? makeModelDefaults.size) as ModelSize,
          seed,
          quant: (values.quant ?? makeModelDefaults.quant) as ModelQuant,
          ifMissing: values["if-missing"] === true,
        },
        io,
      );
    }
    case "cluster":
      if (positionals[0] !== "status") {
        io.err(
          `rakka cluster: expected "status", got ${positionals[0] === undefined ? "nothing" : `"${positionals[0]}"`}`,
        );
        return 2;
      }
      if (!values.url) {
        io.err("rakka cluster status: --url URL (the server's address) is required");
        return 2;
      }
      return clusterStatusCommand({ url: values.url, adminKey: process.env.RAKKA_ADMIN_KEY }, io);
    case "deployments":
    case "cost-report": {
      if (!values.url) {
        io.err(`rakka ${command}: --url URL (the server's address) is required`);
        return 2;
      }
      const client = { url: values.url, adminKey: process.env.RAKKA_ADMIN_KEY };
      return command === "deployments"
        ? deploymentsCommand(positionals[0], positionals[1], client, io)
        : costReportCommand(client, io);
    }
    default:
      io.err(`rakka: unknown command "${command}"\n${usage}`);
      return 2;
  }
}
