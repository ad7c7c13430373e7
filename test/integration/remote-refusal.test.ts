// A model's refusal (OpenAI's `delta.refusal`) through the whole system over real HTTP: a scripted
// SSE upstream on loopback (the testkit's mock provider sends no refusals) → remote engine →
// gateway → the official openai client, on the manual clock. The refusal reaches a streaming chat
// client as `delta.refusal`, a legacy completions client as text, and it commits the response.

import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type RemoteSetup, startRemote } from "./remote-helpers.js";

const REFUSAL = ["I'm sorry, ", "I can't help with that."];

const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: "chatcmpl-up", object: "chat.completion.chunk", created: 1, model: "gpt-4o", choices, ...extra })}\n\n`;
const delta = (d: Record<string, unknown>, finishReason: string | null = null) =>
  event([{ index: 0, delta: d, logprobs: null, finish_reason: finishReason }]);

/** How the upstream answers: a whole refusal, or the first refusal piece and then a dropped connection. */
type Script = "refuse" | "refuse-then-drop";

interface RefusingUpstream {
  readonly url: string;
  /** Requests received. */
  readonly arrivals: number;
  /** How the next requests are answered; default "refuse". */
  script: Script;
  close(): Promise<void>;
}

/** Streams a refusal (role-only first delta, two refusal pieces, stop, usage) to every request. */
function answer(response: ServerResponse, script: Script): void {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  response.write(delta({ role: "assistant", content: null, refusal: "" }));
  response.write(delta({ refusal: REFUSAL[0] }));
  if (script === "refuse-then-drop") {
    // flush what was written, then close mid-body (no final chunk of the chunked encoding)
    const socket = response.socket;
    socket?.once("finish", () => socket.destroy());
    socket?.end();
    return;
  }
  response.write(delta({ refusal: REFUSAL[1] }));
  response.write(delta({}, "stop"));
  response.write(event([], { usage: { prompt_tokens: 9, completion_tokens: 8, total_tokens: 17 } }));
  response.end("data: [DONE]\n\n");
}

async function startRefusingUpstream(): Promise<RefusingUpstream> {
  let arrivals = 0;
  const state = { script: "refuse" as Script };
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      arrivals++;
      answer(response, state.script);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get arrivals() {
      return arrivals;
    },
    get script() {
      return state.script;
    },
    set script(script: Script) {
      state.script = script;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let setup: RemoteSetup | undefined;
let upstream: RefusingUpstream | undefined;
afterEach(async () => {
  await setup?.close();
  await upstream?.close();
  setup = undefined;
  upstream = undefined;
});

async function start(runtimeConfig: Record<string, unknown> = {}): Promise<RemoteSetup> {
  upstream = await startRefusingUpstream();
  setup = await startRemote({ runtimeConfig: { base_url: `${upstream.url}/v1`, ...runtimeConfig } });
  return setup;
}

describe("a refusal reaches the client", () => {
  it("streaming chat: as delta.refusal pieces, then finish_reason stop and the usage", async () => {
    const s = await start();
    const stream = await s.client.chat.completions.create({
      model: "gpt",
      messages: [{ role: "user", content: "something bad" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const refusals: string[] = [];
    let content = "";
    let finishReason: string | null | undefined;
    let usage: unknown;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.refusal) refusals.push(choice.delta.refusal);
      content += choice?.delta.content ?? "";
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(refusals).toEqual(REFUSAL);
    expect(content).toBe("");
    expect(finishReason).toBe("stop");
    expect(usage).toEqual({ prompt_tokens: 9, completion_tokens: 8, total_tokens: 17 });
  });

  it("streaming legacy completions (no refusal field there): as the text", async () => {
    const s = await start();
    const stream = await s.client.completions.create({ model: "gpt", prompt: "something bad", stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(REFUSAL.join(""));
  });

  // The aggregate is built in src/serving/request/inference-service.ts (`complete`), which does not yet copy
  // Tokens.refusal into CompletionResult; chatCompletionJson already writes it (see docs/providers.md).
  it("unary chat: as message.refusal with null content", async () => {
    const s = await start();
    const completion = await s.client.chat.completions.create({
      model: "gpt",
      messages: [{ role: "user", content: "something bad" }],
    });
    expect(completion.choices[0]?.message.refusal).toBe(REFUSAL.join(""));
    expect(completion.choices[0]?.message.content).toBeNull();
  });
});

describe("a refusal commits the response", () => {
  it("a connection drop after the first refusal piece is not retried: the stream ends with an SSE error", async () => {
    const s = await start({ retry: { max_retries: 2 } });
    (upstream as RefusingUpstream).script = "refuse-then-drop";
    const response = await fetch(`${s.gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt",
        messages: [{ role: "user", content: "something bad" }],
        stream: true,
      }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain(`"refusal":${JSON.stringify(REFUSAL[0])}`);
    expect(text).toContain('"code":"network_error"');
    expect(text).not.toContain("[DONE]");
    expect(upstream?.arrivals).toBe(1);
  });
});
