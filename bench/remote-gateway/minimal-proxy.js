// The least a Node proxy does (bench/remote-gateway/run.js): node:http in, an undici keep-alive
// Pool out, the upstream's status, content type and body piped through as they come.
// Usage: node bench/remote-gateway/minimal-proxy.js UPSTREAM_ORIGIN (e.g. http://127.0.0.1:PORT)

import { createServer } from "node:http";
import { pipeline } from "node:stream/promises";
import { Pool } from "undici";

const pool = new Pool(process.argv[2], { connections: 128, keepAliveTimeout: 60_000 });
const server = createServer(async (request, response) => {
  try {
    const upstream = await pool.request({
      path: request.url,
      method: request.method,
      headers: { "content-type": request.headers["content-type"] ?? "application/json" },
      body: request,
    });
    const headers = { "content-type": upstream.headers["content-type"] };
    if (upstream.headers["content-length"]) headers["content-length"] = upstream.headers["content-length"];
    response.writeHead(upstream.statusCode, headers);
    await pipeline(upstream.body, response);
  } catch (error) {
    if (!response.headersSent) response.writeHead(502).end(String(error));
    else response.destroy(error);
  }
});
server.listen(0, "127.0.0.1", () =>
  console.log(JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${server.address().port}` })),
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
