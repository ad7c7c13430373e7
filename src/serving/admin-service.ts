// What the admin API can do, on top of the serving actors: list deployments with their live
// numbers, apply (validated like the config file, secrets only from the allowed sources) or
// remove one, force a circuit, rebuild a session, report spend. Never returns a secret.

import type { ActorRef } from "../actor/index.js";
import type { Problem } from "../core/config/problem.js";
import { Deployment } from "../core/deployment.js";
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
}): AdminService {
  const { manager, metrics, budget } = options;
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
      if (!validated.ok) return { type: "invalid", problems: validated.problems };
      const deployment = validated.value;
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
