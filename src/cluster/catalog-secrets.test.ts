import { describe, expect, it } from "vitest";
import { Deployment } from "../core/deployment.js";
import { defaultRuntimeRegistry } from "../index.js";
import {
  CatalogSecretError,
  createCatalogCipher,
  inlineSecretValues,
  openTable,
  sealTable,
} from "./catalog-secrets.js";

const table = {
  name: "chat",
  model: "gpt-4o-mini",
  runtime: "openai-compatible",
  runtime_config: { base_url: "http://127.0.0.1:9/v1", api_key: "sk-inline-very-secret" },
};

function validated(input: unknown) {
  const result = Deployment.validate(input, { runtimes: defaultRuntimeRegistry() });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.value;
}

describe("catalog secrets", () => {
  it("an inline secret round-trips through seal and open under the same node_key", () => {
    const sealed = sealTable(table, inlineSecretValues(validated(table)), createCatalogCipher("node-key-1"));
    const opened = openTable(sealed, createCatalogCipher("node-key-1"));
    expect(opened.unresolved).toEqual([]);
    expect(opened.table).toEqual(table);
  });

  it("the stored JSON holds no inline secret in plain text, and each seal uses a fresh IV", () => {
    const cipher = createCatalogCipher("node-key-1");
    const values = inlineSecretValues(validated(table));
    const first = sealTable(table, values, cipher);
    const second = sealTable(table, values, cipher);
    expect(JSON.stringify(first)).not.toContain("sk-inline-very-secret");
    expect((first.runtime_config as { api_key: unknown }).api_key).toEqual({ encrypted: expect.any(String) });
    expect(JSON.stringify(first)).not.toBe(JSON.stringify(second));
    expect((first.runtime_config as { base_url: unknown }).base_url).toBe("http://127.0.0.1:9/v1");
  });

  it("sources are stored as sources, never resolved", () => {
    const withEnv = { ...table, runtime_config: { ...table.runtime_config, api_key: { from_env: "PATH" } } };
    const sealed = sealTable(withEnv, inlineSecretValues(validated(withEnv)), createCatalogCipher("k"));
    expect((sealed.runtime_config as { api_key: unknown }).api_key).toEqual({ from_env: "PATH" });
  });

  it("another node_key cannot open it: the position is unresolved with a reason naming node_key", () => {
    const sealed = sealTable(table, inlineSecretValues(validated(table)), createCatalogCipher("node-key-1"));
    const opened = openTable(sealed, createCatalogCipher("node-key-2"));
    expect((opened.table as typeof table).runtime_config.api_key).toBe("unresolved");
    expect(opened.unresolved).toHaveLength(1);
    expect(opened.unresolved[0]).toContain("node_key");
    expect(() =>
      createCatalogCipher("node-key-2").decrypt(
        (sealed.runtime_config as { api_key: { encrypted: string } }).api_key,
      ),
    ).toThrow(CatalogSecretError);
  });

  it("an inline secret inside a longer value is refused rather than stored in plain text", () => {
    const leaky = { ...table, model: "prefix-sk-inline-very-secret" };
    expect(() => sealTable(leaky, ["sk-inline-very-secret"], createCatalogCipher("k"))).toThrow(
      CatalogSecretError,
    );
  });
});
