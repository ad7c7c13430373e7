// The [server] table: where the gateway listens, client keys, limits and deadlines.

import { z } from "zod";
import { hostRangeMessage, parseHostRange } from "../egress-guard.js";
import type { Secret } from "../secret.js";
import { secretSchema } from "./secret-schema.js";

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly apiKeys: readonly Secret[];
  readonly maxBodyBytes: number;
  readonly requestTimeoutMs: number;
  readonly drainTimeoutMs: number;
  /** How long reading a request's headers and body may take (also bounded by requestTimeoutMs). */
  readonly bodyTimeoutMs: number;
  /** On shutdown, how long /readyz answers 503 `draining` before the listener closes. */
  readonly drainDelayMs: number;
  /** Bearer key of the admin API under /admin/v1/; the API is off when unset. */
  readonly adminKey?: Secret;
  /** Secret sources ("env:NAME", "file:/path") a deployment applied through the admin API may use. */
  readonly adminSecretSources: readonly string[];
  /**
   * Link-local or metadata addresses (IPs or CIDR ranges) a deployment applied through the admin
   * API may still connect to; every other such address is refused at connect time.
   */
  readonly adminAllowedHosts: readonly string[];
  /** How long the Responses API keeps a stored response, in seconds (default 3600). */
  readonly responsesTtlS?: number;
  /** The most responses one process keeps in memory (default 10000); a cluster keeps them in Redis. */
  readonly responsesMaxStored?: number;
}

/** Keys of [server] whose behaviour this build does not have yet. */
export const unavailableServerKeys: readonly string[] = [];

export const serverDefaults = {
  bind: "127.0.0.1:8080",
  maxBodyBytes: 4 * 1024 * 1024,
  requestTimeoutMs: 600_000,
  drainTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  /** For `rakka serve` (the config file); an embedded system without the key drains at once. */
  drainDelayMs: 5_000,
  /** The Responses API's stored responses (docs/configuration.md, `responses_ttl_s`). */
  responsesTtlS: 3_600,
  responsesMaxStored: 10_000,
} as const;

/** "host:port", "[::1]:port" or ":port"; port 0 picks a free one. */
export function parseBind(bind: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(bind);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65_535) return undefined;
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

export const serverTableSchema = z
  .strictObject({
    bind: z
      .string()
      .default(serverDefaults.bind)
      .refine((value) => parseBind(value) !== undefined, 'must be "host:port"'),
    api_keys: z.array(secretSchema).default([]),
    admin_key: secretSchema.optional(),
    admin_secret_sources: z
      .array(
        z
          .string()
          .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, 'must be "env:NAME" or "file:/absolute/path"'),
      )
      .default([]),
    max_body_bytes: z.int().min(1024).default(serverDefaults.maxBodyBytes),
    request_timeout_ms: z.int().min(1).default(serverDefaults.requestTimeoutMs),
    drain_timeout_ms: z.int().min(0).default(serverDefaults.drainTimeoutMs),
    body_timeout_ms: z.int().min(1).default(serverDefaults.bodyTimeoutMs),
    drain_delay_ms: z.int().min(0).default(serverDefaults.drainDelayMs),
    responses_ttl_s: z.int().min(1).max(2_592_000).default(serverDefaults.responsesTtlS),
    responses_max_stored: z.int().min(1).max(10_000_000).default(serverDefaults.responsesMaxStored),
    admin_allowed_hosts: z
      .array(z.string().refine((value) => parseHostRange(value) !== undefined, hostRangeMessage))
      .default([]),
  })
  .prefault({});
