// The placement plan's change notices on Redis pub/sub (docs/cluster.md, "Placement"): the lease
// holder publishes after each plan it writes, and every node re-reads the placement snapshot when
// any notice arrives instead of waiting for its next heartbeat.

import type { Redis } from "ioredis";
import type { Logger } from "../actor/index.js";

/** How nodes tell each other that a new placement plan was written. */
export interface PlacementChannel {
  /** Called after each plan written. */
  publish(): Promise<void>;
  /** Called once at start: `onChange` runs on every notification, this node's own included. */
  subscribe(onChange: () => void): Promise<void>;
  close(): Promise<void>;
}

/** The placement channel on Redis pub/sub: publishes on the shared client, listens on a duplicate. */
export function redisPlacementChannel(client: Redis, prefix: string, logger: Logger): PlacementChannel {
  const channel = `${prefix}placement`;
  let subscriber: Redis | undefined;
  return {
    async publish() {
      await client.publish(channel, "");
    },
    async subscribe(onChange) {
      const listener = client.duplicate();
      subscriber = listener;
      listener.on("error", (error: Error) =>
        logger.debug({ error: error.message }, "placement subscriber error"),
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
