// The connect-time egress guard over real loopback sockets: 169.254.x cannot be bound here, so the
// guard is given loopback as its blocked list and the same code path checks socket.remoteAddress.

import { createServer, type Server } from "node:http";
import type { AddressInfo, LookupFunction } from "node:net";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecuteBatch } from "../core/batch.js";
import { createEgressGuard } from "../core/egress-guard.js";
import { httpStatusOf } from "../core/http-error.js";
import { ManualClock } from "../testkit/manual-clock.js";
import { EgressRefusedError, guardedConnector } from "./guarded-connector.js";
import { baseUrlAdapter, baseUrlConfigSchema } from "./providers/openai/base-url-provider.js";
import { callUpstream } from "./upstream-call.js";

let server: Server;
let port: number;
let requests = 0;
let connections = 0;

beforeAll(async () => {
  server = createServer((_request, response) => {
    requests++;
    response.end("ok");
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const loopbackBlocked = createEgressGuard({ allowedHosts: [], blockedHosts: ["127.0.0.0/8", "::1"] });

/** A resolver that answers 127.0.0.1 for every name (what a rebinding DNS server would do). */
const resolveToLoopback: LookupFunction = (_hostname, options, callback) => {
  if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
  else callback(null, "127.0.0.1", 4);
};

async function get(origin: string, connect: ReturnType<typeof guardedConnector>) {
  const pool = new Pool(origin, { connect });
  try {
    const response = await pool.request({ path: "/", method: "GET" });
    return { status: response.statusCode, body: await response.body.text() };
  } finally {
    await pool.close().catch(() => {});
  }
}

describe("guardedConnector", () => {
  it("refuses a connection whose resolved address is blocked, naming it, before any request is sent", async () => {
    const before = { requests, connections };
    const error = await get(`http://127.0.0.1:${port}`, guardedConnector(loopbackBlocked)).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(EgressRefusedError);
    expect((error as Error).message).toBe(
      "connection to 127.0.0.1 refused: link-local/metadata addresses are not allowed for deployments applied through the admin API (see [server] admin_allowed_hosts)",
    );
    expect(connections).toBeGreaterThan(before.connections); // it did connect, then checked
    expect(requests).toBe(before.requests);
  });

  it("checks the address a DNS name resolved to, not the name", async () => {
    const error = await get(
      `http://metadata.rebinding.test:${port}`,
      guardedConnector(loopbackBlocked, { lookup: resolveToLoopback }),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EgressRefusedError);
    expect((error as EgressRefusedError).address).toBe("127.0.0.1");
    // the same name is fine when its address is not blocked
    const open = createEgressGuard({ allowedHosts: [] });
    expect(
      await get(
        `http://metadata.rebinding.test:${port}`,
        guardedConnector(open, { lookup: resolveToLoopback }),
      ),
    ).toEqual({ status: 200, body: "ok" });
  });

  it("lets an allowed address through the blocked ranges", async () => {
    const allowing = createEgressGuard({ allowedHosts: ["127.0.0.1"], blockedHosts: ["127.0.0.0/8"] });
    expect(await get(`http://127.0.0.1:${port}`, guardedConnector(allowing))).toEqual({
      status: 200,
      body: "ok",
    });
  });

  it("lets ordinary addresses through with the default (metadata) ranges", async () => {
    const guard = createEgressGuard({ allowedHosts: [] });
    expect(await get(`http://127.0.0.1:${port}`, guardedConnector(guard))).toEqual({
      status: 200,
      body: "ok",
    });
  });

  it("passes a failed connect on unchanged", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await get(`http://127.0.0.1:${closedPort}`, guardedConnector(loopbackBlocked)).catch(
      (caught: unknown) => caught,
    );
    expect(error).not.toBeInstanceOf(EgressRefusedError);
    expect((error as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  it("fails the upstream attempt as a network_error (502 to the client) naming the address", async () => {
    const config = baseUrlConfigSchema(0).parse({ base_url: `http://127.0.0.1:${port}/v1` });
    const adapter = baseUrlAdapter("openai-compatible", "m", config, () => 0);
    const batch: ExecuteBatch = {
      requestId: "r-1",
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      sampling: {},
      stream: true,
      priority: 0,
      estimatedTokens: 1,
      features: {},
      signal: new AbortController().signal,
    };
    const pool = new Pool(adapter.origin, { connect: guardedConnector(loopbackBlocked) });
    const before = requests;
    try {
      const result = await callUpstream({
        dispatcher: pool,
        adapter,
        request: adapter.buildRequest(batch, undefined),
        batch,
        clock: new ManualClock(),
        timeouts: config.resilience.timeouts,
        signal: new AbortController().signal,
        onChunk: () => {},
      });
      expect(result.type).toBe("failed");
      if (result.type !== "failed") return;
      expect(result.error.kind).toBe("network_error");
      expect(httpStatusOf(result.error.kind)).toBe(502);
      expect(result.error.message).toBe(
        "upstream connection failed: connection to 127.0.0.1 refused: link-local/metadata addresses are not allowed for deployments applied through the admin API (see [server] admin_allowed_hosts)",
      );
      expect(requests).toBe(before);
    } finally {
      await pool.close().catch(() => {});
    }
  });
});
