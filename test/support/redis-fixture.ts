// The per-file setup of every test that talks to Redis: one server (or $REDIS_URL) started in
// beforeAll, clients made on demand and closed in afterAll, and a fresh key prefix per store.
// Call useRedis() at the top of a test file (or describe block).

import type { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { createRedisConnection } from "../../src/cluster/redis-connection.js";
import {
  deleteKeys,
  fileKeyPrefix,
  type RedisServer,
  startRedisServer,
  uniqueKeyPrefix,
} from "./redis-server.js";

export interface RedisFixture {
  /** The running server (valid from beforeAll on). */
  readonly server: RedisServer;
  /** A client shared by the file's stores (valid from beforeAll on). */
  readonly client: Redis;
  /** A further client, for tests that need a second node's connection; closed in afterAll. */
  connect(): Redis;
  /** A key prefix no other test uses. */
  prefix(): string;
}

/** Registers beforeAll/afterAll hooks in the calling file and returns the fixture they fill. */
export function useRedis(): RedisFixture {
  const filePrefix = fileKeyPrefix();
  const clients: Redis[] = [];
  let server: RedisServer | undefined;
  let client: Redis | undefined;

  const fixture: RedisFixture = {
    get server() {
      if (server === undefined) throw new Error("useRedis: server used before beforeAll ran");
      return server;
    },
    get client() {
      if (client === undefined) throw new Error("useRedis: client used before beforeAll ran");
      return client;
    },
    connect() {
      const extra = createRedisConnection(fixture.server.url, { connectionName: "rakka-test" });
      clients.push(extra);
      return extra;
    },
    prefix: () => uniqueKeyPrefix(filePrefix),
  };

  beforeAll(async () => {
    server = await startRedisServer();
    client = fixture.connect();
    await client.ping();
  });

  afterAll(async () => {
    if (server?.external === true && client !== undefined) await deleteKeys(client, filePrefix);
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    await server?.stop();
  });

  return fixture;
}
