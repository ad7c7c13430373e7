// The routing table's change notices on Redis pub/sub (docs/cluster.md, "Forwarding"):
// RoutingSync publishes after a heartbeat's writes added, removed or (un)drained a target, and
// every node re-reads the table when any node's notice arrives.

import type { Redis } from "ioredis";
import type { Logger } from "../actor/index.js";
import type { RoutingChannel } from "./routing-sync.js";

/** The routing channel on Redis pub/sub: publishes on the shared client, listens on a duplicate. */
export function redisRoutingChannel(client: Redis, prefix: string, logger: Logger): RoutingChannel {
  const channel = `${prefix}routing`;
  let subscriber: Redis | undefined;
  return {
    async publish() {
      await client.publish(channel, "");
    },
    async subscribe(onChange) {
      const listener = client.duplicate();
      subscriber = listener;
      listener.on("error", (error: Error) =>
        logger.debug({ error: error.message }, "routing subscriber error"),
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
