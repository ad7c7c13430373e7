// The catalog's change notices on Redis pub/sub (docs/cluster.md, "One catalog"): CatalogSync
// publishes a deployment's name after each write and reconciles when any node's notice arrives.

import type { Redis } from "ioredis";
import type { Logger } from "../actor/index.js";
import type { CatalogChannel } from "./catalog-sync.js";

/** The catalog channel on Redis pub/sub: publishes on the shared client, listens on a duplicate. */
export function redisCatalogChannel(client: Redis, prefix: string, logger: Logger): CatalogChannel {
  const channel = `${prefix}catalog`;
  let subscriber: Redis | undefined;
  return {
    async publish(name) {
      await client.publish(channel, name);
    },
    async subscribe(onChange) {
      const listener = client.duplicate();
      subscriber = listener;
      listener.on("error", (error: Error) =>
        logger.debug({ error: error.message }, "catalog subscriber error"),
      );
      listener.on("message", (from: string) => {
        if (from === channel) onChange();
      });
      await listener.subscribe(channel);
    },
    async close() {
      await subscriber?.quit().catch(() => subscriber?.disconnect());
    },
  };
}
