// Forwarding an embedding request and a token count between two nodes over loopback HTTP: the
// entry node's PeerEngineActor and the owning node's peer endpoint, with a stand-in for the owning
// node's engines. The answer comes back whole (vectors bit for bit, the count and its flag), a
// failure comes back typed, and an entry node that leaves frees the owner.

import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../actor/index.js";
import type { ExecuteBatch } from "../core/batch.js";
import type { EmbedBatch, Embeddings, TokenCount } from "../core/embedding.js";
import { errors, InferenceError } from "../core/inference-error.js";
import { Secret } from "../core/secret.js";
import type { EngineWork, ResultSink } from "../protocol/engine-messages.js";
import { until } from "../testkit/manual-clock.js";
import { createPeerRoutes } from "./peer-endpoint.js";
import { PeerEngineActor } from "./peer-engine-actor.js";

const NODE_KEY = "node-key-1";

let server: Server;
let peer: PeerEngineActor;
/** What the owning node's engines were handed, and how the test answers them. */
let received: EngineWork[];
let answer: (work: EngineWork) => void;

async function readBody(request: IncomingMessage) {
  const pieces: Buffer[] = [];
  for await (const piece of request) pieces.push(piece as Buffer);
  return { kind: "ok" as const, bytes: Buffer.concat(pieces) };
}

beforeEach(async () => {
  received = [];
  answer = () => {};
  const routes = createPeerRoutes({
    nodeKey: Secret.inline(NODE_KEY),
    execute: (work) => {
      received.push(work);
      answer(work);
    },
    clock: { now: () => 1_000 },
    logger: silentLogger,
  });
  server = createServer((request, response) => {
    void routes(request, response, new URL(request.url ?? "/", "http://x").pathname, { readBody });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  peer = new PeerEngineActor({
    nodeId: "node-b",
    url: `http://127.0.0.1:${port}`,
    nodeKey: NODE_KEY,
    clock: { now: () => 0 },
    logger: silentLogger,
  });
});

afterEach(async () => {
  await peer.postStop();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A ResultSink whose outcome is a promise. */
function resultSink<T>() {
  let settle: (outcome: { resolved?: T; failed?: unknown; closed?: true }) => void = () => {};
  const outcome = new Promise<{ resolved?: T; failed?: unknown; closed?: true }>((resolve) => {
    settle = resolve;
  });
  const sink: ResultSink<T> = {
    resolve: (resolved) => settle({ resolved }),
    fail: (failed) => settle({ failed }),
    close: () => settle({ closed: true }),
  };
  return { sink, outcome };
}

const embedBatch = (signal = new AbortController().signal): EmbedBatch => ({
  requestId: "a-1",
  model: "tiny",
  input: ["hello", "world"],
  dimensions: 2,
  priority: 1,
  estimatedTokens: 4,
  deadline: 5_000,
  signal,
});

const countBatch: ExecuteBatch = {
  requestId: "a-2",
  model: "tiny",
  messages: [{ role: "user", content: "hello there" }],
  sampling: { maxTokens: 8 },
  stream: false,
  priority: 0,
  estimatedTokens: 10,
  features: {},
  deadline: 5_000,
  signal: new AbortController().signal,
};

const vectors: Embeddings = {
  vectors: [new Float32Array([0.1, -0.2]), new Float32Array([3e-9, 1e9])],
  usage: { inputTokens: 4 },
};

describe("forwarding embeddings and token counts", () => {
  it("an embedding request reaches the owner whole and its vectors come back bit for bit", async () => {
    answer = (work) => {
      if (work.type === "embed") work.request.output.resolve(vectors);
    };
    const { sink, outcome } = resultSink<Embeddings>();
    peer.receive({ type: "embed", request: { batch: embedBatch(), output: sink } });
    const { resolved } = await outcome;
    expect(resolved?.usage).toEqual({ inputTokens: 4 });
    expect(resolved?.vectors.map((vector) => [...new Uint8Array(vector.buffer)])).toEqual(
      vectors.vectors.map((vector) => [...new Uint8Array(vector.buffer)]),
    );
    const work = received[0];
    expect(work?.type).toBe("embed");
    if (work?.type !== "embed") return;
    const { signal: _signal, ...batch } = work.request.batch;
    // the deadline travelled as the time left: 5 000 ms on the sender's clock at 0, the owner's at 1 000
    expect(batch).toEqual({
      requestId: "a-1",
      model: "tiny",
      input: ["hello", "world"],
      dimensions: 2,
      priority: 1,
      estimatedTokens: 4,
      deadline: 6_000,
    });
  });

  it("a token count reaches the owner as count-tokens and its count comes back with its flag", async () => {
    answer = (work) => {
      if (work.type === "count-tokens") work.request.output.resolve({ inputTokens: 11, estimated: true });
    };
    const { sink, outcome } = resultSink<TokenCount>();
    peer.receive({ type: "count-tokens", request: { batch: countBatch, output: sink } });
    expect((await outcome).resolved).toEqual({ inputTokens: 11, estimated: true });
    expect(received[0]?.type).toBe("count-tokens");
    expect(received[0]?.request.batch.model).toBe("tiny");
  });

  it("a failure on the owner comes back as the same typed error", async () => {
    answer = (work) =>
      work.request.output.fail(
        errors.badRequest("dimensions: this model embeds in 128 dimensions", "dimensions"),
      );
    const { sink, outcome } = resultSink<Embeddings>();
    peer.receive({ type: "embed", request: { batch: embedBatch(), output: sink } });
    const { failed } = await outcome;
    expect(failed).toBeInstanceOf(InferenceError);
    expect((failed as InferenceError).details).toEqual({ kind: "bad_request", field: "dimensions" });
    expect((failed as InferenceError).message).toBe("dimensions: this model embeds in 128 dimensions");
  });

  it("a node that is gone is unavailable", async () => {
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    const { sink, outcome } = resultSink<TokenCount>();
    peer.receive({ type: "count-tokens", request: { batch: countBatch, output: sink } });
    const { failed } = await outcome;
    expect((failed as InferenceError).kind).toBe("unavailable");
    expect((failed as InferenceError).message).toMatch(/^node node-b is unreachable/);
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });

  it("an entry node that leaves aborts the owner's request", async () => {
    let ownerSignal: AbortSignal | undefined;
    answer = (work) => {
      ownerSignal = work.request.batch.signal;
    };
    const controller = new AbortController();
    const { sink } = resultSink<Embeddings>();
    peer.receive({ type: "embed", request: { batch: embedBatch(controller.signal), output: sink } });
    await until(() => ownerSignal !== undefined);
    expect(ownerSignal?.aborted).toBe(false);
    controller.abort();
    await until(() => ownerSignal?.aborted === true);
    expect(ownerSignal?.aborted).toBe(true);
  });
});
