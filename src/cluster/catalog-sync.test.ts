import { describe, expect, it } from "vitest";
import { silentLogger } from "../actor/index.js";
import { Deployment, type DeploymentSpec } from "../core/deployment.js";
import { MemoryDeploymentCatalog } from "../core/stores/index.js";
import { defaultRuntimeRegistry } from "../index.js";
import { flushMicrotasks, ManualClock } from "../testkit/index.js";
import { createCatalogCipher } from "./catalog-secrets.js";
import { type CatalogChannel, CatalogSync, type LocalResult } from "./catalog-sync.js";
import { UnresolvedDeployments } from "./unresolved-deployments.js";

const runtimes = defaultRuntimeRegistry();
const table = (apiKey: unknown) => ({
  name: "chat",
  model: "m",
  runtime: "openai-compatible",
  runtime_config: { base_url: "http://127.0.0.1:9/v1", api_key: apiKey },
});

const quietChannel: CatalogChannel = {
  publish: async () => {},
  subscribe: async () => {},
  close: async () => {},
};

/** A node's sync over a shared memory catalog, recording what it applies and removes. */
function node(
  catalog: MemoryDeploymentCatalog,
  nodeKey: string,
  env: Record<string, string> = {},
  channel: CatalogChannel = quietChannel,
) {
  const applied: DeploymentSpec[] = [];
  const removed: string[] = [];
  const served = new Set<string>();
  const unresolved = new UnresolvedDeployments();
  const sync = new CatalogSync<string>({
    catalog,
    channel,
    cipher: createCatalogCipher(nodeKey),
    runtimes,
    secrets: {
      env,
      readFile: () => {
        throw Object.assign(new Error("no"), { code: "ENOENT" });
      },
    },
    unresolved,
    clock: new ManualClock(0),
    logger: silentLogger,
    waitMs: 1_000,
    local: {
      apply: async (deployment): Promise<LocalResult<string>> => {
        applied.push(deployment);
        served.add(deployment.name);
        return { ok: true, status: deployment.name };
      },
      remove: async (name): Promise<LocalResult<string>> => {
        removed.push(name);
        served.delete(name);
        return { ok: true, status: name };
      },
      served: async () => [...served],
    },
  });
  return { sync, applied, removed, unresolved };
}

function validated(input: unknown, env: Record<string, string> = {}): DeploymentSpec {
  const result = Deployment.validate(input, { runtimes, secrets: { env, readFile: () => "" } });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.value;
}

describe("CatalogSync", () => {
  it("a write on one node is applied by another on its next round, and a removal removes it there", async () => {
    const catalog = new MemoryDeploymentCatalog();
    const a = node(catalog, "k");
    const b = node(catalog, "k");
    const outcome = await a.sync.apply(table("sk-inline"), validated(table("sk-inline")));
    expect(outcome).toEqual({ type: "applied", version: 1, result: { ok: true, status: "chat" } });
    await b.sync.reconcileNow();
    expect(b.applied.map((d) => d.name)).toEqual(["chat"]);
    expect(b.unresolved.reasonFor(b.applied[0] as DeploymentSpec)).toBeUndefined();
    await b.sync.reconcileNow();
    expect(b.applied).toHaveLength(1);
    expect(await a.sync.remove("chat")).toEqual({ ok: true, status: "chat" });
    await b.sync.reconcileNow();
    expect(b.removed).toEqual(["chat"]);
  });

  it("a removal answers with this node's removal even when the change notification's round already did it", async () => {
    const catalog = new MemoryDeploymentCatalog();
    // as on Redis: this node's own notification starts a round, which may finish the removal
    // before the remove call's own round looks for it
    let onChange: () => Promise<void> = async () => {};
    const notifying: CatalogChannel = {
      publish: async () => {
        await onChange();
      },
      subscribe: async () => {},
      close: async () => {},
    };
    const a = node(catalog, "k", {}, notifying);
    onChange = async () => {
      await a.sync.reconcileNow();
      await flushMicrotasks(10);
    };
    await a.sync.apply(table("sk-inline"), validated(table("sk-inline")));
    expect(await a.sync.remove("chat")).toEqual({ ok: true, status: "chat" });
    expect(a.removed).toEqual(["chat"]);
  });

  it("if_version must match the stored version; without it the last writer wins", async () => {
    const catalog = new MemoryDeploymentCatalog();
    const a = node(catalog, "k");
    const spec = validated(table("sk-inline"));
    expect(await a.sync.apply(table("sk-inline"), spec, 0)).toMatchObject({ type: "applied", version: 1 });
    expect(await a.sync.apply(table("sk-inline"), spec, 0)).toEqual({ type: "conflict", currentVersion: 1 });
    expect(await a.sync.apply(table("sk-inline"), spec)).toMatchObject({ type: "applied", version: 2 });
  });

  it("a node with another node_key marks the deployment unresolved, with the reason", async () => {
    const catalog = new MemoryDeploymentCatalog();
    await node(catalog, "key-1").sync.apply(table("sk-inline"), validated(table("sk-inline")));
    const other = node(catalog, "key-2");
    await other.sync.reconcileNow();
    const deployment = other.applied[0] as DeploymentSpec;
    expect(other.unresolved.reasonFor(deployment)).toContain("node_key");
    const guarded = other.unresolved.guard(runtimes).get("openai-compatible");
    expect(() => guarded?.engineProps(deployment, { replicaId: "chat#1.0", index: 0 }, {} as never)).toThrow(
      /secret not resolved on this node/,
    );
  });

  it("a node that cannot resolve a from_env source marks the deployment unresolved, naming the variable", async () => {
    const catalog = new MemoryDeploymentCatalog();
    const source = table({ from_env: "CHAT_KEY" });
    await node(catalog, "k", { CHAT_KEY: "x" }).sync.apply(source, validated(source, { CHAT_KEY: "x" }));
    const without = node(catalog, "k");
    await without.sync.reconcileNow();
    expect(without.unresolved.reasonFor(without.applied[0] as DeploymentSpec)).toContain(
      "environment variable CHAT_KEY is not set",
    );
  });

  it("a catalog whose store restarted empty is written back from a node's copy, and nothing is removed", async () => {
    const catalog = new MemoryDeploymentCatalog();
    const a = node(catalog, "k");
    const b = node(catalog, "k");
    await a.sync.apply(table("sk-inline"), validated(table("sk-inline")));
    await a.sync.apply(table("sk-inline"), validated(table("sk-inline")));
    await b.sync.reconcileNow();
    const before = await catalog.get("chat");
    expect(before?.version).toBe(2);
    // the store loses everything: the records and the mark
    const lost = new MemoryDeploymentCatalog();
    const swapped = Object.assign(catalog, {
      list: () => lost.list(),
      get: (name: string) => lost.get(name),
      marked: () => lost.marked(),
      mark: () => lost.mark(),
      compareAndPut: (record: Parameters<MemoryDeploymentCatalog["compareAndPut"]>[0], expected: number) =>
        lost.compareAndPut(record, expected),
    });
    expect(swapped).toBe(catalog);
    await b.sync.reconcileNow();
    expect(b.removed).toEqual([]);
    expect(await lost.get("chat")).toEqual(before);
    expect(await lost.marked()).toBe(true);
    // the other node finds it there (it lost the race to write it back) and removes nothing either
    await a.sync.reconcileNow();
    expect(a.removed).toEqual([]);
    // a removal after the restart still removes
    expect(await lost.remove("chat")).toBe(true);
    await b.sync.reconcileNow();
    expect(b.removed).toEqual(["chat"]);
  });
});
