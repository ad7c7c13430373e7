// The schema of a secret in the config file: { from_env = "X" }, { from_file = "path" } or a plain
// string (tests only: accepted with a warning). Parsing builds an unloaded Secret; loadSecrets
// then reads every Secret in a parsed tree, reporting problems by path (never values).

import { z } from "zod";
import { Secret, type SecretEnvironment, SecretError } from "../secret.js";
import { joinPath, type Problem } from "./problem.js";

export const secretSchema = z
  .union([
    z.string().min(1),
    z.strictObject({
      from_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"),
    }),
    z.strictObject({ from_file: z.string().min(1) }),
  ])
  .transform((value) => {
    if (typeof value === "string") return Secret.inline(value);
    if ("from_env" in value) return Secret.fromEnv(value.from_env);
    return Secret.fromFile(value.from_file);
  });

export interface SecretPolicy {
  /** When set, only these sources may be used ("env:NAME" or "file:/path"); the admin API sets it. */
  readonly allowedSources?: readonly string[];
}

/** Loads every Secret found in `tree`; returns problems and warnings with their paths. */
export function loadSecrets(
  tree: unknown,
  base: string,
  environment: SecretEnvironment,
  policy: SecretPolicy = {},
): { problems: Problem[]; warnings: Problem[] } {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  // runtime schemas rename keys to camelCase; problems name the keys as written in the file
  const asWritten = (key: string) => key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
  const visit = (node: unknown, segments: PropertyKey[]): void => {
    if (node instanceof Secret) {
      const path = joinPath(base, segments);
      const source = node.source;
      if (source.kind === "inline") {
        warnings.push({
          path,
          message: "inline secret: use { from_env = ... } or { from_file = ... } outside tests",
        });
      }
      if (policy.allowedSources && source.kind !== "inline") {
        const id = source.kind === "env" ? `env:${source.name}` : `file:${source.path}`;
        if (!policy.allowedSources.includes(id)) {
          problems.push({ path, message: `secret source ${id} is not in [server] admin_secret_sources` });
          return;
        }
      }
      try {
        node.load(environment);
      } catch (error) {
        problems.push({
          path,
          message: error instanceof SecretError ? error.message : "secret cannot be loaded",
        });
      }
      return;
    }
    if (Array.isArray(node)) {
      node.forEach((item, index) => {
        visit(item, [...segments, index]);
      });
      return;
    }
    if (node !== null && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) visit(value, [...segments, asWritten(key)]);
    }
  };
  visit(tree, []);
  return { problems, warnings };
}
