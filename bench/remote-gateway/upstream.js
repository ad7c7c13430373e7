// The mock OpenAI upstream of the remote gateway benchmark (bench/remote-gateway/run.js): a tiny
// node:http server that answers POST /v1/chat/completions at once, with no delays.
//   - `"stream": true`: the OpenAI SSE stream, one write per event: a role chunk, 32 content
//     chunks, a finish chunk, a usage chunk when `stream_options.include_usage` is true, [DONE].
//   - otherwise: the same completion as one chat.completion JSON body.
// Anything else gets 404. It listens on 127.0.0.1 on a free port and prints one JSON line
// `{"msg":"listening","url":"http://127.0.0.1:PORT"}` on stdout; SIGTERM or SIGINT closes it.
//
// Usage: node bench/remote-gateway/upstream.js

import { createServer } from "node:http";
import { listenOnLoopback } from "../lib/child-server.js";

const TOKENS = [
  "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa",
  "quebec romeo sierra tango uniform victor whiskey xray yankee zulu one two three four five six",
]
  .join(" ")
  .split(" ")
  .map((word, i) => (i === 0 ? word : ` ${word}`));
const ID = "chatcmpl-bench";
const MODEL = "bench-upstream";
const CREATED = 1_700_000_000;
const USAGE = { prompt_tokens: 12, completion_tokens: TOKENS.length, total_tokens: 12 + TOKENS.length };

const event = (value) => `data: ${JSON.stringify(value)}\n\n`;
const chunk = (delta, finishReason = null) =>
  event({
    id: ID,
    object: "chat.completion.chunk",
    created: CREATED,
    model: MODEL,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  });
const streamEvents = [
  chunk({ role: "assistant", content: "" }),
  ...TOKENS.map((token) => chunk({ content: token })),
  chunk({}, "stop"),
];
const usageEvent = event({
  id: ID,
  object: "chat.completion.chunk",
  created: CREATED,
  model: MODEL,
  choices: [],
  usage: USAGE,
});
const doneEvent = "data: [DONE]\n\n";
const unaryBody = JSON.stringify({
  id: ID,
  object: "chat.completion",
  created: CREATED,
  model: MODEL,
  choices: [{ index: 0, message: { role: "assistant", content: TOKENS.join("") }, finish_reason: "stop" }],
  usage: USAGE,
});
const unaryHeaders = {
  "content-type": "application/json",
  "content-length": String(Buffer.byteLength(unaryBody)),
};
const streamHeaders = { "content-type": "text/event-stream", "cache-control": "no-cache" };

const server = createServer((request, response) => {
  const chunks = [];
  request.on("data", (data) => chunks.push(data));
  request.on("end", () => {
    if (request.method !== "POST" || request.url !== "/v1/chat/completions") {
      response.writeHead(404, { "content-type": "application/json" });
      response.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
      return;
    }
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      response.writeHead(400, { "content-type": "application/json" });
      response.end('{"error":{"message":"bad JSON","type":"invalid_request_error"}}');
      return;
    }
    if (body.stream === true) {
      response.writeHead(200, streamHeaders);
      for (const text of streamEvents) response.write(text);
      if (body.stream_options?.include_usage === true) response.write(usageEvent);
      response.end(doneEvent);
    } else {
      response.writeHead(200, unaryHeaders);
      response.end(unaryBody);
    }
  });
});
server.keepAliveTimeout = 60_000;
listenOnLoopback(server);
