// What the admin API can do, on top of the serving actors: list deployments with their live
// numbers, apply (validated like the config file, secrets only from the allowed sources, no
// link-local or metadata egress) or remove one, force a circuit, rebuild a session, report spend.
// Never returns a secret. In a cluster, apply and remove go to the shared catalog (an AdminCatalog,
// docs/cluster.md "One catalog") and answer once this node has applied the change.

import type { ActorRef } from "../../actor/index.js";
import { joinPath, type Problem } from "../../core/config/problem.js";
import { Deployment, type DeploymentSpec } from "../../core/deployment.js";
import { blockedUrlHost, createEgressGuard, type EgressGuard } from "../../core/egress-guard.js";
import type { RuntimeRegistry } from "../../protocol/runtime-registry.js";
import type { DeploymentSnapshot, MetricsMessage } from "../metrics/metrics-messages.js";
import type { BudgetMessage, SpendRow } from "../request/budget-actor.js";
import type { DeploymentStatus } from "../service-types.js";
import type { ApplyResult, CommandResult, ManagerMessage } from "./deployment-manager-actor.js";

export interface AdminDeploymentView extends DeploymentStatus {
  readonly running: number;
  readonly waiting: number;
  readonly rateLimitUtilization: number | null;
  readonly circuits: DeploymentSnapshot["circuits"];
  readonly spend: { readonly hourUsd: number; readonly dayUsd: number };
}

export type AdminApplyResult =
  | { readonly type: "invalid"; readonly problems: readonly Problem[] }
  /** `version`: the catalog record's version, in a cluster. */
  | { readonly type: "applied"; readonly result: ApplyResult; readonly version?: number }
  /** A cluster's catalog holds `currentVersion` (0: no record), not the POST's `if_version`. */
  | { readonly type: "conflict"; readonly currentVersion: number; readonly expectedVersion: number };

/** What a catalog write answered: written and applied here, or refused for a stale if_version. */
export type AdminCatalogApply =
  | { readonly type: "applied"; readonly version: number; readonly result: ApplyResult }
  | { readonly type: "conflict"; readonly currentVersion: number }
  | { readonly type: "invalid"; readonly problems: readonly Problem[] };

/**
 * The shared catalog of a cluster, as the admin API sees it (the cluster layer implements it; the
 * package entry hands it to createAdminService). Absent outside a cluster.
 */
export interface AdminCatalog {
  /**
   * AdminService.apply calls this with a table it validated (`if_version` already taken out) and
   * its validated deployment: writes the record (only over version `ifVersion` when given; 0: only
   * if there is none), notifies every node, and resolves once this node applied the new version.
   */
  apply(
    table: Readonly<Record<string, unknown>>,
    deployment: DeploymentSpec,
    ifVersion?: number,
  ): Promise<AdminCatalogApply>;
  /**
   * AdminService.remove calls this: deletes the record, notifies every node, and resolves once this
   * node removed its replicas (ok: false, no status, when there was no record).
   */
  remove(name: string): Promise<ApplyResult>;
}

export interface AdminService {
  deployments(): Promise<readonly AdminDeploymentView[]>;
  apply(table: unknown): Promise<AdminApplyResult>;
  remove(name: string): Promise<ApplyResult>;
  forceCircuit(name: string, state: "open" | "closed" | "auto"): Promise<CommandResult>;
  rebuildSession(name: string): Promise<CommandResult>;
  spend(): Promise<readonly SpendRow[]>;
}

const ASK_TIMEOUT_MS = 10_000;
const APPLY_TIMEOUT_MS = 10 * 60_000;

export function createAdminService(options: {
  readonly manager: ActorRef<ManagerMessage>;
  readonly metrics: ActorRef<MetricsMessage>;
  readonly budget: ActorRef<BudgetMessage>;
  readonly registry: RuntimeRegistry;
  /** Secret sources a deployment applied here may read ("env:NAME", "file:/path"). */
  readonly allowedSecretSources: readonly string[];
  /** `[server] admin_allowed_hosts`: link-local / metadata addresses a deployment applied here may reach. */
  readonly allowedHosts: readonly string[];
  /** In a cluster: where apply and remove go instead of this node's manager. */
  readonly catalog?: AdminCatalog;
}): AdminService {
  const { manager, metrics, budget } = options;
  const egressGuard = { allowedHosts: [...options.allowedHosts] };
  const guard = createEgressGuard(egressGuard);
  const list = () =>
    manager.ask<readonly DeploymentStatus[]>((replyTo) => ({ type: "list", replyTo }), {
      timeoutMs: ASK_TIMEOUT_MS,
    });
  const spend = () =>
    budget.ask<readonly SpendRow[]>((replyTo) => ({ type: "report", replyTo }), {
      timeoutMs: ASK_TIMEOUT_MS,
    });
  return {
    async deployments() {
      const [statuses, snapshot, rows] = await Promise.all([
        list(),
        metrics.ask<ReadonlyMap<string, DeploymentSnapshot>>((replyTo) => ({ type: "snapshot", replyTo }), {
          timeoutMs: ASK_TIMEOUT_MS,
        }),
        spend(),
      ]);
      return statuses.map((status) => {
        const live = snapshot.get(status.name);
        const row = rows.find((r) => r.deployment === status.name);
        return {
          ...status,
          running: live?.running ?? 0,
          waiting: live?.waiting ?? 0,
          rateLimitUtilization: live?.rateLimitUtilization ?? null,
          circuits: live?.circuits ?? [],
          spend: { hourUsd: row?.hourUsd ?? 0, dayUsd: row?.dayUsd ?? 0 },
        };
      });
    },
    async apply(body) {
      const {
        table,
        ifVersion,
        problems: versionProblems,
      } = takeIfVersion(body, options.catalog !== undefined);
      const names = (await list()).map((status) => status.name);
      const validated = Deployment.validate(table, {
        runtimes: options.registry,
        knownDeployments: names,
        secretPolicy: { allowedSources: options.allowedSecretSources },
      });
      const egressProblems = [...versionProblems, ...literalHostProblems(table, guard)];
      if (!validated.ok) return { type: "invalid", problems: [...validated.problems, ...egressProblems] };
      if (egressProblems.length > 0) return { type: "invalid", problems: egressProblems };
      // the remote sessions check every connection's resolved address (DNS names, rebinding)
      const deployment = { ...validated.value, egressGuard };
      if (options.catalog) {
        const written = await options.catalog.apply(table as Record<string, unknown>, deployment, ifVersion);
        if (written.type === "conflict")
          return {
            type: "conflict",
            currentVersion: written.currentVersion,
            expectedVersion: ifVersion ?? 0,
          };
        if (written.type === "invalid") return written;
        return { type: "applied", result: written.result, version: written.version };
      }
      const result = await manager.ask<ApplyResult>((replyTo) => ({ type: "apply", deployment, replyTo }), {
        timeoutMs: APPLY_TIMEOUT_MS,
      });
      return { type: "applied", result };
    },
    remove: (name) =>
      options.catalog
        ? options.catalog.remove(name)
        : manager.ask<ApplyResult>((replyTo) => ({ type: "remove", name, replyTo }), {
            timeoutMs: APPLY_TIMEOUT_MS,
          }),
    forceCircuit: (name, state) =>
      manager.ask<CommandResult>(
        (replyTo) => ({
          type: "command",
          deployment: name,
          command: { type: "force-circuit", state },
          replyTo,
        }),
        { timeoutMs: ASK_TIMEOUT_MS },
      ),
    rebuildSession: (name) =>
      manager.ask<CommandResult>(
        (replyTo) => ({ type: "command", deployment: name, command: { type: "rebuild-session" }, replyTo }),
        { timeoutMs: ASK_TIMEOUT_MS },
      ),
    spend,
  };
}

/**
 * Splits the POSTed JSON into the deployment table and its `if_version` (a cluster catalog's
 * compare-and-set: a non-negative integer, 0 meaning "only if it does not exist yet").
 */
function takeIfVersion(
  body: unknown,
  clustered: boolean,
): { table: unknown; ifVersion?: number; problems: Problem[] } {
  if (body === null || typeof body !== "object" || Array.isArray(body) || !("if_version" in body))
    return { table: body, problems: [] };
  const { if_version: ifVersion, ...table } = body as Record<string, unknown>;
  if (!clustered)
    return {
      table,
      problems: [{ path: "if_version", message: "only a cluster node's catalog has versions" }],
    };
  if (typeof ifVersion !== "number" || !Number.isSafeInteger(ifVersion) || ifVersion < 0)
    return { table, problems: [{ path: "if_version", message: "must be a non-negative integer" }] };
  return { table, ifVersion, problems: [] };
}

/**
 * The early, clear refusal of a `runtime_config` URL (base_url, endpoint, …) whose host is a
 * literal blocked IP. The real guard is the connect-time check on the resolved address.
 */
function literalHostProblems(table: unknown, guard: EgressGuard): Problem[] {
  const config = (table as { runtime_config?: unknown } | null)?.runtime_config;
  if (config === null || typeof config !== "object" || Array.isArray(config)) return [];
  const problems: Problem[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (typeof value !== "string") continue;
    const message = blockedUrlHost(value, guard);
    if (message !== undefined) problems.push({ path: joinPath("", ["runtime_config", key]), message });
  }
  return problems;
}
