// What the admin API can do, on top of the serving actors: list deployments with their live
// numbers, apply (validated like the config file, secrets only from the allowed sources, no
// link-local or metadata egress) or remove one, force a circuit, rebuild a session, report spend.
// Never returns a secret.

import type { ActorRef } from "../actor/index.js";
import { joinPath, type Problem } from "../core/config/problem.js";
import { Deployment } from "../core/deployment.js";
import { blockedUrlHost, createEgressGuard, type EgressGuard } from "../core/egress-guard.js";
import type { RuntimeRegistry } from "../protocol/runtime-registry.js";
import type { BudgetMessage, SpendRow } from "./budget-actor.js";
import type { ApplyResult, CommandResult, ManagerMessage } from "./deployment-manager-actor.js";
import type { DeploymentSnapshot, MetricsMessage } from "./metrics-messages.js";
import type { DeploymentStatus } from "./service-types.js";

export interface AdminDeploymentView extends DeploymentStatus {
  readonly running: number;
  readonly waiting: number;
  readonly rateLimitUtilization: number | null;
  readonly circuits: DeploymentSnapshot["circuits"];
  readonly spend: { readonly hourUsd: number; readonly dayUsd: number };
}

export type AdminApplyResult =
  | { readonly type: "invalid"; readonly problems: readonly Problem[] }
  | { readonly type: "applied"; readonly result: ApplyResult };

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
    async apply(table) {
      const names = (await list()).map((status) => status.name);
      const validated = Deployment.validate(table, {
        runtimes: options.registry,
        knownDeployments: names,
        secretPolicy: { allowedSources: options.allowedSecretSources },
      });
      const egressProblems = literalHostProblems(table, guard);
      if (!validated.ok) return { type: "invalid", problems: [...validated.problems, ...egressProblems] };
      if (egressProblems.length > 0) return { type: "invalid", problems: egressProblems };
      // the remote sessions check every connection's resolved address (DNS names, rebinding)
      const deployment = { ...validated.value, egressGuard };
      const result = await manager.ask<ApplyResult>((replyTo) => ({ type: "apply", deployment, replyTo }), {
        timeoutMs: APPLY_TIMEOUT_MS,
      });
      return { type: "applied", result };
    },
    remove: (name) =>
      manager.ask<ApplyResult>((replyTo) => ({ type: "remove", name, replyTo }), {
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
