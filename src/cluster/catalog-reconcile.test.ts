import { describe, expect, it } from "vitest";
import { type LocalCatalogState, reconcileCatalog } from "./catalog-reconcile.js";

const local = (state: Partial<LocalCatalogState>): LocalCatalogState => ({
  served: new Set(),
  applied: new Map(),
  busy: new Set(),
  ...state,
});

describe("reconcileCatalog", () => {
  it("applies every record a fresh node has not applied", () => {
    const decision = reconcileCatalog(
      [
        { name: "a", version: 1 },
        { name: "b", version: 3 },
      ],
      local({}),
    );
    expect(decision).toEqual({
      apply: [
        { name: "a", version: 1 },
        { name: "b", version: 3 },
      ],
      remove: [],
    });
  });

  it("leaves a record alone once its version is applied, and applies a newer version", () => {
    const state = local({
      served: new Set(["a", "b"]),
      applied: new Map([
        ["a", 1],
        ["b", 2],
      ]),
    });
    expect(
      reconcileCatalog(
        [
          { name: "a", version: 1 },
          { name: "b", version: 3 },
        ],
        state,
      ),
    ).toEqual({ apply: [{ name: "b", version: 3 }], remove: [] });
  });

  it("removes what this node serves and the catalog no longer holds", () => {
    const state = local({ served: new Set(["gone", "kept", "also-gone"]), applied: new Map([["kept", 1]]) });
    expect(reconcileCatalog([{ name: "kept", version: 1 }], state)).toEqual({
      apply: [],
      remove: ["also-gone", "gone"],
    });
  });

  it("waits while a deployment has an apply or remove in flight", () => {
    const state = local({
      served: new Set(["a", "b"]),
      applied: new Map([["a", 1]]),
      busy: new Set(["a", "b"]),
    });
    expect(reconcileCatalog([{ name: "a", version: 2 }], state)).toEqual({ apply: [], remove: [] });
  });

  it("a record re-created after its removal (version 1 again) is applied again", () => {
    expect(reconcileCatalog([{ name: "a", version: 1 }], local({ applied: new Map() }))).toEqual({
      apply: [{ name: "a", version: 1 }],
      remove: [],
    });
  });
});
