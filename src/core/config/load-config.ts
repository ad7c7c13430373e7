// Reads the TOML project file: [server] plus [[deployment]] tables. Returns the whole config or
// every problem by path (`rakka validate` prints them; `rakka serve` refuses to start).

import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import type { Deployment } from "../deployment-types.js";
import { processSecretEnvironment, type SecretEnvironment } from "../secret.js";
import {
  type ClusterConfig,
  clusterTableProblems,
  clusterTableSchema,
  toClusterConfig,
} from "./cluster-schema.js";
import { Deployment as DeploymentValidator, type RuntimeSchemas } from "./deployment-schema.js";
import { joinPath, type Problem, type Validated } from "./problem.js";
import { loadSecrets } from "./secret-schema.js";
import { parseBind, type ServerConfig, serverTableSchema, unavailableServerKeys } from "./server-schema.js";
import { zodProblems } from "./zod-problems.js";

export interface ProjectConfig {
  readonly server: ServerConfig;
  /** Present when the file has a [cluster] table: this process is one node of a cluster. */
  readonly cluster?: ClusterConfig;
  readonly deployments: readonly Deployment[];
}

export interface LoadConfigOptions {
  readonly runtimes: RuntimeSchemas;
  readonly secrets?: SecretEnvironment;
}

const fileSchema = z.strictObject({
  server: z.unknown().optional(),
  cluster: z.unknown().optional(),
  deployment: z.array(z.unknown()).default([]),
});

/**
 * "TOML syntax error at line 3, column 7: invalid value" from smol-toml's TomlError (whose message
 * goes on with a code excerpt over several lines; only its first line is kept).
 */
export function tomlSyntaxMessage(error: unknown): string {
  if (!(error instanceof TomlError)) return `TOML syntax error: ${String(error)}`;
  const first = (error.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
  return `TOML syntax error at line ${error.line}, column ${error.column}: ${first}`;
}

/** Parses TOML text. `source` names the file in problems about the file as a whole. */
export function parseConfig(text: string, options: LoadConfigOptions): Validated<ProjectConfig> {
  let document: unknown;
  try {
    document = parseToml(text);
  } catch (error) {
    return { ok: false, problems: [{ path: "(file)", message: tomlSyntaxMessage(error) }] };
  }
  const top = fileSchema.safeParse(document);
  if (!top.success) return { ok: false, problems: zodProblems("", top.error, document) };

  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const environment = options.secrets ?? processSecretEnvironment;

  let server: ServerConfig | undefined;
  const serverParsed = serverTableSchema.safeParse(top.data.server);
  if (!serverParsed.success) problems.push(...zodProblems("server", serverParsed.error, top.data.server));
  else {
    const table = serverParsed.data;
    for (const key of unavailableServerKeys) {
      if ((table as Record<string, unknown>)[key] !== undefined) {
        problems.push({
          path: joinPath("server", [key]),
          message: `"${key}" is not available in this build`,
        });
      }
    }
    const secrets = loadSecrets(
      { api_keys: table.api_keys, ...(table.admin_key ? { admin_key: table.admin_key } : {}) },
      "server",
      environment,
    );
    problems.push(...secrets.problems);
    warnings.push(...secrets.warnings);
    const bind = parseBind(table.bind) as { host: string; port: number };
    server = {
      host: bind.host,
      port: bind.port,
      apiKeys: table.api_keys,
      maxBodyBytes: table.max_body_bytes,
      requestTimeoutMs: table.request_timeout_ms,
      drainTimeoutMs: table.drain_timeout_ms,
      bodyTimeoutMs: table.body_timeout_ms,
      drainDelayMs: table.drain_delay_ms,
      ...(table.admin_key ? { adminKey: table.admin_key } : {}),
      adminSecretSources: table.admin_secret_sources,
      adminAllowedHosts: table.admin_allowed_hosts,
      responsesTtlS: table.responses_ttl_s,
      responsesMaxStored: table.responses_max_stored,
    };
  }

  let cluster: ClusterConfig | undefined;
  if (top.data.cluster !== undefined) {
    const clusterParsed = clusterTableSchema.safeParse(top.data.cluster);
    if (!clusterParsed.success)
      problems.push(...zodProblems("cluster", clusterParsed.error, top.data.cluster));
    else {
      const secrets = loadSecrets(
        { redis_url: clusterParsed.data.redis_url, node_key: clusterParsed.data.node_key },
        "cluster",
        environment,
      );
      problems.push(...clusterTableProblems(clusterParsed.data), ...secrets.problems);
      const urlProblem = redisUrlProblem(clusterParsed.data.redis_url);
      if (urlProblem) problems.push({ path: "cluster.redis_url", message: urlProblem });
      // an inline Redis URL without a password is ordinary; one with a password gets the warning
      const inlineUrl = clusterParsed.data.redis_url.source.kind === "inline";
      warnings.push(
        ...secrets.warnings.filter(
          (warning) =>
            !(
              inlineUrl &&
              warning.path === "cluster.redis_url" &&
              !redisUrlHasPassword(clusterParsed.data.redis_url)
            ),
        ),
      );
      cluster = toClusterConfig(clusterParsed.data);
    }
  }

  const tables = top.data.deployment;
  const names = tables
    .map((table) => (table && typeof table === "object" ? (table as { name?: unknown }).name : undefined))
    .filter((name): name is string => typeof name === "string");
  const deployments: Deployment[] = [];
  const seen = new Set<string>();
  tables.forEach((table, index) => {
    const path = `deployment[${index}]`;
    const result = DeploymentValidator.validate(table, {
      runtimes: options.runtimes,
      knownDeployments: names,
      secrets: environment,
      path,
    });
    if (!result.ok) {
      problems.push(...result.problems);
      return;
    }
    warnings.push(...result.warnings);
    if (seen.has(result.value.name)) {
      problems.push({ path: `${path}.name`, message: `duplicate deployment name "${result.value.name}"` });
      return;
    }
    seen.add(result.value.name);
    deployments.push(result.value);
  });

  if (problems.length > 0 || server === undefined) return { ok: false, problems };
  return { ok: true, value: { server, ...(cluster ? { cluster } : {}), deployments }, warnings };
}

/** What is wrong with a loaded Redis URL, without quoting it (it may hold a password). */
function redisUrlProblem(url: { loaded: boolean; reveal(): string }): string | undefined {
  if (!url.loaded) return undefined;
  try {
    const parsed = new URL(url.reveal());
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
      return `must be a redis:// or rediss:// URL (got ${parsed.protocol.slice(0, 16)}//...)`;
    if (parsed.hostname === "") return "must name a host";
    return undefined;
  } catch {
    return "must be a redis:// or rediss:// URL";
  }
}

/** Whether a loaded Redis URL carries a password (`redis://:pw@host` or `redis://user:pw@host`). */
function redisUrlHasPassword(url: { loaded: boolean; reveal(): string }): boolean {
  if (!url.loaded) return false;
  try {
    return new URL(url.reveal()).password !== "";
  } catch {
    return false;
  }
}

/** Secrets in [server] are loaded by parseConfig; re-exported for callers that build configs in code. */
export { loadSecrets };
