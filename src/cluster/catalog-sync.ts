// One catalog for the whole cluster (docs/cluster.md, "One catalog"): CatalogSync keeps this node's
// deployments equal to the shared catalog in Redis. It writes the admin API's apply / remove there
// (versioned; `if_version` is a compare-and-set), publishes a change notification on
// `${prefix}catalog`, and reconciles on each notification and every second, so a missed message
// heals: it applies each record's version this node has not applied and removes what left the catalog.

import type { Clock, Logger } from "../actor/index.js";
import { Deployment, type RuntimeSchemas } from "../core/config/deployment-schema.js";
import type { Problem } from "../core/config/problem.js";
import type { DeploymentSpec } from "../core/deployment.js";
import type { SecretEnvironment } from "../core/secret.js";
import type { DeploymentCatalog, DeploymentRecord } from "../core/stores/index.js";
import { reconcileCatalog } from "./catalog-reconcile.js";
import {
  type CatalogCipher,
  CatalogSecretError,
  inlineSecretValues,
  openTable,
  sealTable,
} from "./catalog-secrets.js";
import type { UnresolvedDeployments } from "./unresolved-deployments.js";

/** What a local apply or remove answered (the serving layer's ApplyResult, `S` its status). */
export type LocalResult<S> =
  | { readonly ok: true; readonly status: S }
  | { readonly ok: false; readonly reason: string; readonly status?: S };

/** This node's serving layer, as the package entry lends it to the sync. */
export interface LocalServing<S> {
  /** Creates or updates the deployment here; resolves once it serves or failed. */
  apply(deployment: DeploymentSpec): Promise<LocalResult<S>>;
  /** Removes it here; resolves once it drained. */
  remove(name: string): Promise<LocalResult<S>>;
  /** The deployments this node serves, leaving out those being removed. */
  served(): Promise<readonly string[]>;
}

/** The change notification between the nodes. */
export interface CatalogChannel {
  /** Called after each catalog write. */
  publish(name: string): Promise<void>;
  /** Called once at start: `onChange` runs on every notification, this node's own included. */
  subscribe(onChange: () => void): Promise<void>;
  close(): Promise<void>;
}

/** The record's `spec` in the shared catalog: the table as written, secrets sealed. */
interface StoredDeployment {
  readonly table: Record<string, unknown>;
  /** The admin API's egress guard (`[server] admin_allowed_hosts` of the node that accepted it). */
  readonly egress_guard?: { readonly allowed_hosts: readonly string[] };
}

/** A config-file deployment for the startup rule: its table as written and its validated form. */
export interface CatalogSeed {
  readonly table: Readonly<Record<string, unknown>>;
  readonly deployment: DeploymentSpec;
}

export type CatalogApplyOutcome<S> =
  | { readonly type: "applied"; readonly version: number; readonly result: LocalResult<S> }
  | { readonly type: "conflict"; readonly currentVersion: number }
  | { readonly type: "invalid"; readonly problems: readonly Problem[] };

export interface CatalogSyncOptions<S> {
  readonly catalog: DeploymentCatalog;
  readonly channel: CatalogChannel;
  readonly cipher: CatalogCipher;
  readonly runtimes: RuntimeSchemas;
  /** Where this node resolves secret sources (default: the process's environment and files). */
  readonly secrets?: SecretEnvironment;
  readonly unresolved: UnresolvedDeployments;
  readonly local: LocalServing<S>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often to reconcile without a notification. Default 1000 ms. */
  readonly intervalMs?: number;
  /** How long an admin apply / remove waits for this node to act on its write. Default 10 minutes. */
  readonly waitMs?: number;
}

/**
 * A secret environment where every source reads as the same stand-in value, so a table can be
 * checked apart from its secrets. A deployment validated with it is marked unresolved and its
 * engines never start: the stand-in never reaches an upstream.
 */
const standInSecrets: SecretEnvironment = {
  env: new Proxy({}, { get: () => "unresolved" }),
  readFile: () => "unresolved",
};

const WRITE_ATTEMPTS = 10;

export class CatalogSync<S> {
  readonly #options: CatalogSyncOptions<S>;
  /** The catalog version applied (or being applied) here, per deployment. */
  readonly #applied = new Map<string, number>();
  /** The records of the last catalog read (written back if the store loses them). */
  #known: readonly DeploymentRecord[] = [];
  readonly #busy = new Set<string>();
  readonly #applies = new Map<string, { version: number; result: Promise<LocalResult<S>> }>();
  readonly #removes = new Map<string, Promise<LocalResult<S>>>();
  readonly #waiters: Array<{
    name: string;
    version: number;
    settle: (result: Promise<LocalResult<S>>) => void;
  }> = [];
  #seeds: CatalogSeed[] = [];
  /** The config file's order: its deployments are applied in it (then the others, by name). */
  #fileOrder: readonly string[] = [];
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #cancel: () => void = () => {};
  #stopped = false;
  #lastError = "";

  constructor(options: CatalogSyncOptions<S>) {
    this.#options = options;
  }

  /**
   * The package entry calls this once, with the config file's deployments: the startup rule adds
   * those the catalog does not have and keeps the catalog's version of the others (logging each
   * difference); then the first round runs and one follows every interval and notification.
   */
  async start(seeds: readonly CatalogSeed[] = []): Promise<void> {
    this.#seeds = [...seeds];
    this.#fileOrder = seeds.map((seed) => seed.deployment.name);
    await this.#options.channel
      .subscribe(() => void this.reconcileNow())
      .catch((error: unknown) =>
        this.#options.logger.warn(
          { error: String(error) },
          "catalog notifications unavailable: reconciling every interval",
        ),
      );
    await this.reconcileNow();
    this.#schedule();
  }

  /** At shutdown, before the serving layer stops: no more rounds. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#cancel();
    await this.#running?.catch(() => {});
    await this.#options.channel.close().catch(() => {});
  }

  /** One round now, or right after the running one (so it sees every write made before the call). */
  reconcileNow(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (!this.#running) {
      this.#running = this.#round().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined;
      return this.reconcileNow();
    });
    return this.#queued;
  }

  /**
   * The admin API's apply (through the AdminCatalog hook): writes the sealed table as the next
   * version (only over `ifVersion` when given), notifies, and resolves with this node's apply of it.
   */
  async apply(
    table: Readonly<Record<string, unknown>>,
    deployment: DeploymentSpec,
    ifVersion?: number,
  ): Promise<CatalogApplyOutcome<S>> {
    let stored: StoredDeployment;
    try {
      stored = this.#seal(table, deployment);
    } catch (error) {
      if (!(error instanceof CatalogSecretError)) throw error;
      return { type: "invalid", problems: [{ path: "runtime_config", message: error.message }] };
    }
    const name = deployment.name;
    let version: number | undefined;
    for (let attempt = 0; attempt < WRITE_ATTEMPTS && version === undefined; attempt++) {
      const current = (await this.#options.catalog.get(name))?.version ?? 0;
      if (ifVersion !== undefined && current !== ifVersion)
        return { type: "conflict", currentVersion: current };
      if (await this.#options.catalog.compareAndPut(this.#record(name, stored, current + 1), current))
        version = current + 1;
    }
    if (version === undefined) {
      const current = (await this.#options.catalog.get(name))?.version ?? 0;
      return { type: "conflict", currentVersion: current };
    }
    await this.#publish(name);
    const result = await this.#appliedHere(name, version);
    return { type: "applied", version, result };
  }

  /** The admin API's remove: deletes the record, notifies, resolves with this node's removal. */
  async remove(name: string): Promise<LocalResult<S>> {
    if (!(await this.#options.catalog.remove(name)))
      return { ok: false, reason: `deployment ${name} does not exist` };
    await this.#publish(name);
    await this.reconcileNow();
    const removal = this.#removes.get(name);
    if (removal) {
      this.#removes.delete(name);
      return removal;
    }
    return {
      ok: false,
      reason: `deployment ${name} was removed from the catalog; this node did not serve it`,
    };
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#cancel = this.#options.clock.setTimer(this.#options.intervalMs ?? 1_000, () => {
      void this.reconcileNow().finally(() => this.#schedule());
    });
  }

  async #round(): Promise<void> {
    try {
      await this.#seed();
      await this.#keepMark();
      const records = await this.#options.catalog.list();
      this.#known = records;
      const served = new Set(await this.#options.local.served());
      const decision = reconcileCatalog(records, { served, applied: this.#applied, busy: this.#busy });
      const names = records.map((record) => record.name);
      const rank = (name: string) => {
        const index = this.#fileOrder.indexOf(name);
        return index < 0 ? this.#fileOrder.length : index;
      };
      const ordered = [...decision.apply].sort((x, y) => rank(x.name) - rank(y.name));
      for (const wanted of ordered) {
        const record = records.find((r) => r.name === wanted.name) as DeploymentRecord;
        this.#applyRecord(record, names);
      }
      for (const name of decision.remove) this.#removeHere(name);
      if (this.#lastError !== "") this.#options.logger.info({}, "catalog reachable again");
      this.#lastError = "";
    } catch (error) {
      const message = String(error);
      if (message !== this.#lastError)
        this.#options.logger.warn({ error: message }, "catalog sync failed: serving what this node has");
      this.#lastError = message;
    }
  }

  /**
   * The catalog's mark (DeploymentCatalog.mark): set once; gone after this node read records means
   * the store lost them, so it writes back the records of its last read that are still missing
   * (another node may have won the race) before the round compares, and nothing is removed.
   */
  async #keepMark(): Promise<void> {
    const { catalog, logger } = this.#options;
    if (await catalog.marked()) return;
    if (this.#known.length > 0) {
      const restored: string[] = [];
      for (const record of this.#known)
        if (await catalog.compareAndPut(record, 0)) restored.push(record.name);
      logger.warn(
        { restored, known: this.#known.length },
        "the catalog was lost (its store restarted empty): written back from this node's copy",
      );
      for (const name of restored) await this.#publish(name);
    }
    await catalog.mark();
  }

  /** The startup rule, retried each round until Redis has answered for every seed. */
  async #seed(): Promise<void> {
    const { catalog, logger } = this.#options;
    while (this.#seeds.length > 0) {
      const seed = this.#seeds[0] as CatalogSeed;
      const name = seed.deployment.name;
      const record = await catalog.get(name);
      if (record === undefined) {
        let stored: StoredDeployment;
        try {
          stored = this.#seal(seed.table, seed.deployment);
        } catch (error) {
          if (!(error instanceof CatalogSecretError)) throw error;
          logger.error(
            { deployment: name, reason: error.message },
            "config file deployment not added to the catalog",
          );
          this.#seeds.shift();
          continue;
        }
        if (await catalog.compareAndPut(this.#record(name, stored, 1), 0)) {
          logger.info({ deployment: name, version: 1 }, "config file deployment added to the catalog");
          await this.#publish(name);
          this.#seeds.shift();
        }
        continue; // lost a race: compare with the record that won
      }
      const opened = openTable(storedOf(record).table, this.#options.cipher).table;
      const differences = tableDifferences(opened, seed.table);
      if (differences.length > 0) {
        logger.warn(
          { deployment: name, version: record.version, differences },
          "config file deployment differs from the catalog: serving the catalog's version",
        );
      }
      this.#seeds.shift();
    }
  }

  #applyRecord(record: DeploymentRecord, names: readonly string[]): void {
    this.#removes.delete(record.name);
    const { name, version } = record;
    this.#applied.set(name, version);
    const deployment = this.#deploymentOf(record, names);
    let result: Promise<LocalResult<S>>;
    if (typeof deployment === "string") {
      this.#options.logger.error(
        { deployment: name, version, reason: deployment },
        "catalog deployment not applied",
      );
      result = Promise.resolve({ ok: false, reason: deployment });
    } else {
      this.#busy.add(name);
      result = this.#options.local
        .apply(deployment)
        .catch((error: unknown): LocalResult<S> => ({ ok: false, reason: String(error) }))
        .then(async (outcome) => {
          // refused without an entry here (e.g. still draining a removal): try again next round
          const served = await this.#options.local.served().catch((): readonly string[] => []);
          if (!outcome.ok && !served.includes(name)) {
            if (this.#applied.get(name) === version) this.#applied.delete(name);
          }
          return outcome;
        })
        .finally(() => this.#busy.delete(name));
    }
    this.#applies.set(name, { version, result });
    for (const waiter of this.#waiters.filter((w) => w.name === name && w.version <= version)) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.settle(result);
    }
  }

  #removeHere(name: string): void {
    this.#busy.add(name);
    const removal = this.#options.local
      .remove(name)
      .catch((error: unknown): LocalResult<S> => ({ ok: false, reason: String(error) }))
      .finally(() => {
        this.#busy.delete(name);
        this.#applied.delete(name);
        this.#applies.delete(name);
      });
    // kept after it settled, so an admin remove whose own reconcile found it done by a round the
    // notification started still answers with it; dropped when read or when the name comes back
    this.#removes.set(name, removal);
  }

  /** Resolves with this node's apply of `version` (or a later one) of `name`, bounded by waitMs. */
  async #appliedHere(name: string, version: number): Promise<LocalResult<S>> {
    const waitMs = this.#options.waitMs ?? 10 * 60_000;
    const found = new Promise<Promise<LocalResult<S>>>((settle) => {
      const last = this.#applies.get(name);
      if (last && last.version >= version) settle(last.result);
      else this.#waiters.push({ name, version, settle });
    });
    void this.reconcileNow();
    let cancel = () => {};
    const timedOut = new Promise<LocalResult<S>>((resolve) => {
      cancel = this.#options.clock.setTimer(waitMs, () =>
        resolve({
          ok: false,
          reason: `version ${version} is in the catalog; this node had not applied it within ${waitMs} ms`,
        }),
      );
    });
    try {
      return await Promise.race([found.then((result) => result), timedOut]);
    } finally {
      cancel();
      const index = this.#waiters.findIndex((w) => w.name === name && w.version === version);
      if (index >= 0) this.#waiters.splice(index, 1);
    }
  }

  /**
   * The record as this node's deployment, or why it cannot be one. A table valid apart from its
   * secrets becomes a deployment marked unresolved: its replicas fail with the reason.
   */
  #deploymentOf(record: DeploymentRecord, names: readonly string[]): DeploymentSpec | string {
    const stored = storedOf(record);
    const { table, unresolved } = openTable(stored.table, this.#options.cipher);
    const options = { runtimes: this.#options.runtimes, knownDeployments: names };
    const validated = Deployment.validate(table, {
      ...options,
      ...(this.#options.secrets ? { secrets: this.#options.secrets } : {}),
    });
    const egress = stored.egress_guard
      ? { egressGuard: { allowedHosts: [...stored.egress_guard.allowed_hosts] } }
      : {};
    if (validated.ok && unresolved.length === 0) return { ...validated.value, ...egress };
    const structural = Deployment.validate(table, { ...options, secrets: standInSecrets });
    if (!structural.ok) return (validated.ok ? structural : validated).problems.map(problemText).join("; ");
    const reasons = [...unresolved, ...(validated.ok ? [] : validated.problems.map(problemText))];
    const deployment = { ...structural.value, ...egress };
    this.#options.unresolved.mark(deployment, `secret not resolved on this node: ${reasons.join("; ")}`);
    return deployment;
  }

  #seal(table: Readonly<Record<string, unknown>>, deployment: DeploymentSpec): StoredDeployment {
    const sealed = sealTable(table, inlineSecretValues(deployment), this.#options.cipher);
    const guard = deployment.egressGuard;
    return guard
      ? { table: sealed, egress_guard: { allowed_hosts: [...guard.allowedHosts] } }
      : { table: sealed };
  }

  #record(name: string, stored: StoredDeployment, version: number): DeploymentRecord {
    // in the shared catalog `state` is the intent (serve it); each node reports its own state
    return { name, spec: stored, state: "serving", version, updatedAt: this.#options.clock.now() };
  }

  async #publish(name: string): Promise<void> {
    await this.#options.channel
      .publish(name)
      .catch((error: unknown) =>
        this.#options.logger.debug(
          { error: String(error) },
          "catalog notification not sent: the next round heals",
        ),
      );
  }
}

function storedOf(record: DeploymentRecord): StoredDeployment {
  const spec = record.spec as Partial<StoredDeployment> | null;
  const table = spec?.table;
  if (table === null || typeof table !== "object" || Array.isArray(table))
    throw new Error(`catalog record ${record.name} has no deployment table`);
  return spec as StoredDeployment;
}

function problemText(problem: Problem): string {
  return problem.path === "" ? problem.message : `${problem.path}: ${problem.message}`;
}

/**
 * The paths (`replicas`, `runtime_config.base_url`) at which two tables differ; values never
 * appear, as they may be secrets. Tables are compared as written: an explicit default differs.
 */
export function tableDifferences(a: unknown, b: unknown, path = ""): string[] {
  const isTable = (value: unknown): value is Record<string, unknown> =>
    value !== null && typeof value === "object" && !Array.isArray(value);
  if (isTable(a) && isTable(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((key) => tableDifferences(a[key], b[key], path === "" ? key : `${path}.${key}`));
  }
  return canonical(a) === canonical(b) ? [] : [path];
}

function canonical(value: unknown): string {
  return (
    JSON.stringify(value, (_key, item: unknown) =>
      item !== null && typeof item === "object" && !Array.isArray(item)
        ? Object.fromEntries(Object.entries(item).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
        : item,
    ) ?? "undefined"
  );
}
