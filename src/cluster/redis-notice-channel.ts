// Change notices between the nodes of a cluster on Redis pub/sub (docs/cluster.md): a node
// publishes after it wrote shared state, and every node re-reads that state when any notice
// arrives instead of waiting for its next heartbeat. One channel per kind of state:
//   - `catalog`: CatalogSync publishes a deployment's name after each write ("One catalog");
//   - `routing`: RoutingSync publishes after a heartbeat added, removed or (un)drained a target
//     ("Forwarding");
//   - `placement`: the lease holder publishes after each plan it writes ("Placement").
// A missed notice heals at the next heartbeat or reconciliation, so delivery is best effort.

import type { Redis } from "ioredis";
import type { Logger } from "../actor/index.js";

export type NoticeTopic = "catalog" | "routing" | "placement";

export interface NoticeChannel {
  /** Sends a notice (with an optional payload, e.g. the catalog's deployment name). */
  publish(message?: string): Promise<void>;
  /** Called once at start: `onNotice` runs on every notice of the topic, this node's own included. */
  subscribe(onNotice: (message: string) => void): Promise<void>;
  /** Closes the listening connection. */
  close(): Promise<void>;
}

/** Publishes on the shared client; listens on a duplicate (a subscribed connection can do nothing else). */
export function redisNoticeChannel(
  client: Redis,
  prefix: string,
  topic: NoticeTopic,
  logger: Logger,
): NoticeChannel {
  const channel = `${prefix}${topic}`;
  let subscriber: Redis | undefined;
  return {
    async publish(message = "") {
      await client.publish(channel, message);
    },
    async subscribe(onNotice) {
      const listener = client.duplicate();
      subscriber = listener;
      listener.on("error", (error: Error) =>
        logger.debug({ error: error.message, topic }, "notice subscriber error"),
      );
      listener.on("message", (from: string, message: string) => {
        if (from === channel) onNotice(message);
      });
      await listener.subscribe(channel);
    },
    async close() {
      await subscriber?.quit().catch(() => subscriber?.disconnect());
    },
  };
}
