// The baseline of the gateway benchmark (bench/gateway/run.js): a bare node:http server that
// answers with the response bytes the gateway sent once at the start of the run, so the benchmark
// can set the gateway's whole serving path beside the least a Node HTTP server can do for the
// same exchange.
//
// Usage: node bench/gateway/baseline-server.js CAPTURE.json
//
// CAPTURE.json: { "unary": { "headers": {...}, "body": "..." },
//                 "streaming": { "headers": {...}, "events": ["data: ...\n\n", ...] } }
//
// Every request body is read to its end (as the gateway must), then a request whose body holds
// `"stream":true` gets the streaming answer: the captured headers, one `res.write` per SSE event,
// then `res.end()`; any other request gets the unary answer: the captured headers and JSON body in
// one `res.end(body)`. It listens on 127.0.0.1, on a free port, and prints one JSON line
// `{"msg":"listening","url":"http://127.0.0.1:PORT"}` on stdout, like the gateway's log line.
// SIGTERM or SIGINT closes it.

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { listenOnLoopback } from "../lib/child-server.js";

const capturePath = process.argv[2];
if (!capturePath) {
  console.error("usage: node bench/gateway/baseline-server.js CAPTURE.json");
  process.exit(2);
}
const capture = JSON.parse(readFileSync(capturePath, "utf8"));

// Strings, as the gateway writes them (node:http encodes them as it writes).
const unaryBody = capture.unary.body;
const unaryHeaders = { ...capture.unary.headers, "content-length": String(Buffer.byteLength(unaryBody)) };
const streamingHeaders = capture.streaming.headers;
const streamingEvents = capture.streaming.events;
const streamMarker = Buffer.from('"stream":true');

const server = createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (body.includes(streamMarker)) {
      response.writeHead(200, streamingHeaders);
      for (const event of streamingEvents) response.write(event);
      response.end();
    } else {
      response.writeHead(200, unaryHeaders);
      response.end(unaryBody);
    }
  });
});

listenOnLoopback(server);
