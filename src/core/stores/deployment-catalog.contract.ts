// The behaviour every DeploymentCatalog must have, as one vitest suite each implementation runs:
// memory-deployment-catalog.test.ts today, the Redis catalog with the cluster work.
// Call it with a factory that returns a fresh, empty catalog for each test.

import { describe, expect, it } from "vitest";
import type { DeploymentCatalog, DeploymentRecord } from "./deployment-catalog.js";

function deployment(name: string, overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    name,
    spec: { name, model: "gpt-4o-mini", replicas: 1, serving: { maxConcurrent: 32 }, fallbacks: ["backup"] },
    state: "pending",
    version: 1,
    updatedAt: 1_000,
    ...overrides,
  };
}

export function deploymentCatalogContract(
  name: string,
  create: () => Promise<DeploymentCatalog> | DeploymentCatalog,
): void {
  describe(`${name} (DeploymentCatalog contract)`, () => {
    it("an unknown name reads as undefined and the empty catalog lists nothing", async () => {
      const catalog = await create();
      expect(await catalog.get("chat")).toBeUndefined();
      expect(await catalog.list()).toEqual([]);
    });

    it("get returns what put stored, spec included", async () => {
      const catalog = await create();
      const record = deployment("chat", { state: "failed", reason: "model file not found: /m.gguf" });
      await catalog.put(record);
      expect(await catalog.get("chat")).toEqual(record);
    });

    it("put replaces an existing record whatever its version", async () => {
      const catalog = await create();
      await catalog.put(deployment("chat", { version: 5 }));
      await catalog.put(deployment("chat", { version: 2, state: "serving", updatedAt: 2_000 }));
      expect(await catalog.get("chat")).toEqual(
        deployment("chat", { version: 2, state: "serving", updatedAt: 2_000 }),
      );
      expect(await catalog.list()).toHaveLength(1);
    });

    it("remove deletes the record and reports whether it was there", async () => {
      const catalog = await create();
      await catalog.put(deployment("chat"));
      await catalog.put(deployment("embed"));
      expect(await catalog.remove("chat")).toBe(true);
      expect(await catalog.remove("chat")).toBe(false);
      expect(await catalog.get("chat")).toBeUndefined();
      expect((await catalog.list()).map((r) => r.name)).toEqual(["embed"]);
    });

    it("list returns every record sorted by name", async () => {
      const catalog = await create();
      for (const name of ["zeta", "alpha", "Mid", "beta"]) await catalog.put(deployment(name));
      const listed = await catalog.list();
      expect(listed.map((r) => r.name)).toEqual(["Mid", "alpha", "beta", "zeta"]);
      expect(listed[1]).toEqual(deployment("alpha"));
    });

    it("compareAndPut with expected version 0 creates a record that does not exist yet", async () => {
      const catalog = await create();
      expect(await catalog.compareAndPut(deployment("chat", { version: 1 }), 0)).toBe(true);
      expect(await catalog.get("chat")).toEqual(deployment("chat", { version: 1 }));
    });

    it("compareAndPut with expected version 0 refuses when the record exists, even at version 0", async () => {
      const catalog = await create();
      await catalog.put(deployment("chat", { version: 3 }));
      expect(await catalog.compareAndPut(deployment("chat", { version: 1, state: "failed" }), 0)).toBe(false);
      expect(await catalog.get("chat")).toEqual(deployment("chat", { version: 3 }));
      await catalog.put(deployment("embed", { version: 0 }));
      expect(await catalog.compareAndPut(deployment("embed", { version: 1 }), 0)).toBe(false);
      expect((await catalog.get("embed"))?.version).toBe(0);
    });

    it("compareAndPut writes when the stored version matches", async () => {
      const catalog = await create();
      await catalog.put(deployment("chat", { version: 3 }));
      const next = deployment("chat", { version: 4, state: "serving", updatedAt: 5_000 });
      expect(await catalog.compareAndPut(next, 3)).toBe(true);
      expect(await catalog.get("chat")).toEqual(next);
    });

    it("compareAndPut refuses a stale or future expected version and leaves the record alone", async () => {
      const catalog = await create();
      await catalog.put(deployment("chat", { version: 3 }));
      expect(await catalog.compareAndPut(deployment("chat", { version: 3, state: "draining" }), 2)).toBe(
        false,
      );
      expect(await catalog.compareAndPut(deployment("chat", { version: 5, state: "draining" }), 4)).toBe(
        false,
      );
      expect(await catalog.get("chat")).toEqual(deployment("chat", { version: 3 }));
    });

    it("compareAndPut with a non-zero expected version refuses a record that does not exist", async () => {
      const catalog = await create();
      expect(await catalog.compareAndPut(deployment("chat", { version: 2 }), 1)).toBe(false);
      expect(await catalog.get("chat")).toBeUndefined();
    });

    it("of two writers racing from the same version exactly one wins", async () => {
      const catalog = await create();
      await catalog.put(deployment("chat", { version: 1 }));
      const results = await Promise.all([
        catalog.compareAndPut(deployment("chat", { version: 2, state: "serving" }), 1),
        catalog.compareAndPut(deployment("chat", { version: 2, state: "failed", reason: "x" }), 1),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await catalog.get("chat"))?.state).toBe(results[0] ? "serving" : "failed");
    });

    it("a removed record can be created again with expected version 0", async () => {
      const catalog = await create();
      await catalog.put(deployment("chat", { version: 7 }));
      await catalog.remove("chat");
      expect(await catalog.compareAndPut(deployment("chat", { version: 1 }), 0)).toBe(true);
    });

    it("records are stored as JSON: no object is shared with callers", async () => {
      const catalog = await create();
      const record = deployment("chat");
      await catalog.put(record);
      (record.spec as { replicas: number }).replicas = 9;
      const read = await catalog.get("chat");
      (read!.spec as { replicas: number }).replicas = 8;
      const [listed] = await catalog.list();
      (listed!.spec as { fallbacks: string[] }).fallbacks.push("other");
      expect(await catalog.get("chat")).toEqual(deployment("chat"));
    });

    it("a field holding undefined reads back as absent", async () => {
      const catalog = await create();
      await catalog.put({ ...deployment("chat"), reason: undefined });
      const read = await catalog.get("chat");
      expect(read !== undefined && "reason" in read).toBe(false);
    });

    it("a new catalog is not marked; once marked it stays marked, records or none", async () => {
      const catalog = await create();
      expect(await catalog.marked()).toBe(false);
      await catalog.put(deployment("chat"));
      expect(await catalog.marked()).toBe(false);
      await catalog.mark();
      await catalog.mark();
      expect(await catalog.marked()).toBe(true);
      await catalog.remove("chat");
      expect(await catalog.marked()).toBe(true);
    });

    it("a spec that cannot be serialised as JSON is refused and nothing is stored", async () => {
      const catalog = await create();
      await expect(catalog.put(deployment("chat", { spec: { tokens: 1n } }))).rejects.toThrow(TypeError);
      await expect(catalog.compareAndPut(deployment("chat", { spec: { tokens: 1n } }), 0)).rejects.toThrow(
        TypeError,
      );
      expect(await catalog.get("chat")).toBeUndefined();
    });
  });
}
