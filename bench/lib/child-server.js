// Child servers of the benchmarks: a free 127.0.0.1 port, the "listening" JSON line, SIGTERM/SIGINT close.

/** Listens and prints the line; SIGTERM or SIGINT closes the server (and its connections), then exits. */
export function listenOnLoopback(server) {
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    process.stdout.write(`${JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}` })}\n`);
  });
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  }
}
