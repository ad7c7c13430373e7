import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SseWriter } from "./sse-writer.js";

let closeServer: (() => Promise<void>) | undefined;

afterEach(async () => {
  await closeServer?.();
  closeServer = undefined;
});

/** A server whose one response is handed to the test, and a raw client request to it. */
async function exchange(): Promise<{ response: ServerResponse; client: IncomingMessage }> {
  let handOver: (response: ServerResponse) => void = () => undefined;
  const responded = new Promise<ServerResponse>((resolve) => {
    handOver = resolve;
  });
  const server = createServer((_request, response) => handOver(response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closeServer = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const { port } = server.address() as AddressInfo;
  const clientResponse = new Promise<IncomingMessage>((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port, path: "/" }, resolve);
    request.on("error", reject);
    request.end();
  });
  const response = await responded;
  const writer = new SseWriter(response);
  writer.begin({ "x-extra": "1" });
  response.flushHeaders();
  return { response, client: await clientResponse };
}

function readAll(client: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    client.setEncoding("utf8");
    client.on("data", (chunk: string) => {
      text += chunk;
    });
    client.on("end", () => resolve(text));
    client.on("error", () => resolve(text));
  });
}

describe("SseWriter", () => {
  it("writes framed events and ends with the last ones, with event-stream headers", async () => {
    const { response, client } = await exchange();
    expect(client.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(client.headers["cache-control"]).toBe("no-cache");
    expect(client.headers["x-extra"]).toBe("1");
    const writer = new SseWriter(response);
    const body = readAll(client);
    expect(await Promise.resolve(writer.events('data: {"a":1}\n\n'))).toBe(true);
    writer.end("data: [DONE]\n\n");
    expect(await body).toBe('data: {"a":1}\n\ndata: [DONE]\n\n');
    expect(writer.open).toBe(false);
  });

  it("ends with an error event and leaves the keep-alive connection open", async () => {
    const { response, client } = await exchange();
    const writer = new SseWriter(response);
    let socketClosed = false;
    client.socket.once("close", () => {
      socketClosed = true;
    });
    const body = readAll(client);
    await writer.events('data: {"a":1}\n\n');
    writer.end('data: {"error":{"message":"boom","type":"upstream_error","code":"server_error"}}\n\n');
    expect(await body).toBe(
      'data: {"a":1}\n\ndata: {"error":{"message":"boom","type":"upstream_error","code":"server_error"}}\n\n',
    );
    expect(client.complete).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(socketClosed).toBe(false);
    expect(writer.open).toBe(false);
    writer.end("data: [DONE]\n\n"); // a no-op once ended
  });

  it("waits for drain when the client reads slowly", async () => {
    const { response, client } = await exchange();
    client.pause();
    const writer = new SseWriter(response);
    const big = `data: ${JSON.stringify("x".repeat(64 * 1024))}\n\n`;
    let pending: Promise<boolean> | undefined;
    for (let i = 0; i < 1000 && pending === undefined; i++) {
      const written = Promise.resolve(writer.events(big));
      let settled = false;
      void written.then(() => {
        settled = true;
      });
      await new Promise((resolve) => setImmediate(resolve));
      if (!settled) pending = written;
    }
    expect(pending).toBeDefined();
    client.resume();
    client.on("data", () => undefined);
    expect(await pending).toBe(true);
  });

  it("resolves false when the client leaves during backpressure", async () => {
    const { response, client } = await exchange();
    client.pause();
    const writer = new SseWriter(response);
    const big = `data: ${JSON.stringify("x".repeat(64 * 1024))}\n\n`;
    let written = Promise.resolve(writer.events(big));
    for (let i = 0; i < 1000; i++) {
      written = Promise.resolve(writer.events(big));
      const state = await Promise.race([
        written.then(() => "settled"),
        new Promise((r) => setImmediate(() => r("pending"))),
      ]);
      if (state === "pending") break;
    }
    client.destroy();
    expect(await written).toBe(false);
    expect(await Promise.resolve(writer.events("data: {}\n\n"))).toBe(false);
  });
});
