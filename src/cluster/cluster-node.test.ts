// What a cluster node lets leave it in an error message (the admin API's `placement_error`): never
// the Redis URL, its password, or the node key.
import { describe, expect, it } from "vitest";
import { Secret } from "../core/secret.js";
import { redactSecrets } from "./cluster-node.js";

describe("redactSecrets", () => {
  const redisUrl = Secret.inline("redis://:p%40ss-word@redis.internal:6379/2");
  const nodeKey = Secret.inline("node-key-123456");

  it("replaces the Redis URL, its password (raw and decoded) and the node key", () => {
    const message =
      "connect to redis://:p%40ss-word@redis.internal:6379/2 failed; auth p@ss-word / p%40ss-word; key node-key-123456";
    expect(redactSecrets(message, [redisUrl, nodeKey])).toBe(
      "connect to [redacted] failed; auth [redacted] / [redacted]; key [redacted]",
    );
  });

  it("leaves a message without secrets as it is", () => {
    expect(redactSecrets("Connection is closed.", [redisUrl, nodeKey])).toBe("Connection is closed.");
    expect(redactSecrets("x", [Secret.inline("redis://127.0.0.1:6379")])).toBe("x");
  });
});
