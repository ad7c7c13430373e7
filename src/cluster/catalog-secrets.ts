// How a deployment table's secrets are kept in the shared catalog (docs/cluster.md, "One catalog"):
// sources ({ from_env }, { from_file }) stay sources, each node resolving them itself; inline values
// become { encrypted: base64(iv | tag | ciphertext) }, AES-256-GCM under a key derived from
// `[cluster] node_key` (HKDF-SHA256), so what Redis holds reveals no secret without the node key.

import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import type { DeploymentSpec } from "../core/deployment.js";
import { Secret } from "../core/secret.js";

const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT = "rakka catalog";
const INFO = "inline deployment secrets v1";

/** A stored position that held an inline secret. */
export interface EncryptedValue {
  readonly encrypted: string;
}

export class CatalogSecretError extends Error {
  readonly code = "catalog_secret";
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CatalogSecretError";
  }
}

/** Encrypts and decrypts inline secret values with the key derived from one node_key. */
export interface CatalogCipher {
  encrypt(plain: string): EncryptedValue;
  /** Throws CatalogSecretError when the value was sealed under another node_key or is corrupt. */
  decrypt(value: EncryptedValue): string;
}

/** The cluster node builds one from `[cluster] node_key`; every node of a cluster must share it. */
export function createCatalogCipher(nodeKey: string): CatalogCipher {
  const key = Buffer.from(hkdfSync("sha256", nodeKey, SALT, INFO, 32));
  return {
    encrypt(plain) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return { encrypted: Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64") };
    },
    decrypt(value) {
      const bytes = Buffer.from(value.encrypted, "base64");
      if (bytes.length < IV_BYTES + TAG_BYTES)
        throw new CatalogSecretError("an encrypted secret in the catalog is truncated");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV_BYTES));
        decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([
          decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)),
          decipher.final(),
        ]).toString("utf8");
      } catch (error) {
        throw new CatalogSecretError(
          "cannot decrypt an inline secret from the catalog: this node's [cluster] node_key is not the one that stored it",
          { cause: error },
        );
      }
    },
  };
}

/** The inline secret values of a validated deployment (sources are left alone). */
export function inlineSecretValues(deployment: DeploymentSpec): string[] {
  const values: string[] = [];
  const visit = (node: unknown): void => {
    if (node instanceof Secret) {
      if (node.source.kind === "inline" && node.loaded) values.push(node.reveal());
      return;
    }
    if (Array.isArray(node)) for (const item of node) visit(item);
    else if (node !== null && typeof node === "object") for (const item of Object.values(node)) visit(item);
  };
  visit(deployment.runtimeConfig);
  return values;
}

/**
 * The table as the catalog stores it: a deep copy in which every string equal to one of
 * `inlineValues` is encrypted. Throws CatalogSecretError when a value would still show in the
 * JSON (an inline secret inside a longer string), so a plain secret never reaches Redis.
 */
export function sealTable(
  table: Readonly<Record<string, unknown>>,
  inlineValues: readonly string[],
  cipher: CatalogCipher,
): Record<string, unknown> {
  const secrets = new Set(inlineValues.filter((value) => value !== ""));
  const seal = (node: unknown): unknown => {
    if (typeof node === "string") return secrets.has(node) ? cipher.encrypt(node) : node;
    if (Array.isArray(node)) return node.map(seal);
    if (node !== null && typeof node === "object")
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, seal(value)]));
    return node;
  };
  const sealed = seal(JSON.parse(JSON.stringify(table))) as Record<string, unknown>;
  const json = JSON.stringify(sealed);
  for (const value of secrets) {
    if (json.includes(JSON.stringify(value).slice(1, -1)))
      throw new CatalogSecretError(
        "an inline secret appears inside another value and cannot be stored encrypted; give it as { from_env } or { from_file }",
      );
  }
  return sealed;
}

/**
 * The stored table with its inline secrets decrypted. A value this node cannot decrypt becomes
 * the string "unresolved" and its reason is returned, so the caller can still validate the table
 * and mark the replica failed with that reason.
 */
export function openTable(stored: unknown, cipher: CatalogCipher): { table: unknown; unresolved: string[] } {
  const unresolved: string[] = [];
  const open = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(open);
    if (node === null || typeof node !== "object") return node;
    if (isEncrypted(node)) {
      try {
        return cipher.decrypt(node);
      } catch (error) {
        unresolved.push((error as Error).message);
        return "unresolved";
      }
    }
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, open(value)]));
  };
  return { table: open(stored), unresolved: [...new Set(unresolved)] };
}

function isEncrypted(node: object): node is EncryptedValue {
  const keys = Object.keys(node);
  return (
    keys.length === 1 && keys[0] === "encrypted" && typeof (node as EncryptedValue).encrypted === "string"
  );
}
