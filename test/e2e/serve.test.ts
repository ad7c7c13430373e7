// `rakka serve` as a user runs it: a real process on real time, a few short requests, then
// SIGTERM while a stream is in flight: the stream finishes, the process exits 0. A llama
// deployment is in the file too: node-llama-cpp brings signal-exit, whose own SIGTERM listener
// re-sends the signal once it is the last one left, so the drain must keep its listeners.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeModel } from "../../src/runtimes/llama/make-model.js";

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill("SIGKILL");
  child = undefined;
});

const config = (modelPath: string) => `
[server]
bind = "127.0.0.1:0"
drain_timeout_ms = 5000
drain_delay_ms = 800

[[deployment]]
name = "echo"
model = "echo-1"
runtime = "mock"
[deployment.runtime_config]
tokens_per_second = 20

[[deployment]]
name = "broken"
model = "echo-1"
runtime = "mock"
[deployment.runtime_config]
poison_after_requests = 0

[[deployment]]
name = "tiny"
model = ${JSON.stringify(modelPath)}
runtime = "llama"
[deployment.runtime_config]
threads = 1
context_size = 128
`;

interface Started {
  url: string;
  lines: string[];
  exited: Promise<number | null>;
  /** Resolves once a stdout line satisfies `test` (lines already seen included). */
  waitForLine(test: (line: string) => boolean): Promise<void>;
}

function startServer(path: string): Promise<Started> {
  const proc = spawn(process.execPath, ["bin/rakka.js", "serve", "--config", path], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  const lines: string[] = [];
  const watchers: Array<{ test: (line: string) => boolean; resolve: () => void }> = [];
  const waitForLine = (test: (line: string) => boolean) =>
    new Promise<void>((resolve) => {
      if (lines.some(test)) resolve();
      else watchers.push({ test, resolve });
    });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffer = "";
    proc.stdout?.on("data", (data: Buffer) => {
      buffer += data.toString();
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        for (const watcher of watchers.filter((w) => w.test(line))) {
          watchers.splice(watchers.indexOf(watcher), 1);
          watcher.resolve();
        }
        const parsed = JSON.parse(line) as { msg?: string; url?: string };
        if (parsed.msg === "listening" && parsed.url)
          resolve({ url: parsed.url, lines, exited, waitForLine });
      }
    });
    proc.stderr?.on("data", (data: Buffer) => lines.push(data.toString()));
    proc.on("exit", (code) => reject(new Error(`rakka serve exited early (${code}): ${lines.join("\n")}`)));
  });
}

describe("rakka serve", () => {
  it("serves, logs each deployment once when it serves, and drains in-flight requests on SIGTERM", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rakka-e2e-"));
    const path = join(dir, "rakka.toml");
    const modelPath = join(dir, "tiny.gguf");
    await makeModel({ out: modelPath, size: "tiny", seed: 1, quant: "q8_0" });
    await writeFile(path, config(modelPath));
    const { url, lines, exited, waitForLine } = await startServer(path);
    // every deployment serves (the broken one too: it is poisoned only by requests)
    const serving = (name: string) => (line: string) =>
      line.includes('"msg":"deployment serving"') && line.includes(`"deployment":"${name}"`);
    await Promise.all(["echo", "broken", "tiny"].map((name) => waitForLine(serving(name))));
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);

    const unary = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "echo",
        messages: [{ role: "user", content: "ping pong" }],
        max_tokens: 2,
      }),
    });
    expect(unary.status).toBe(200);
    expect(
      ((await unary.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe("ping pong");

    // a 1 s stream (20 tokens at 20 tokens/s) still running when SIGTERM arrives: the signal is
    // sent once the first bytes of the stream came back, so the server surely holds the request
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "echo",
        stream: true,
        messages: [{ role: "user", content: "tick" }],
        max_tokens: 20,
      }),
    });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    if (!reader) throw new Error("no response body");
    const decoder = new TextDecoder();
    let body = "";
    const first = await reader.read();
    body += decoder.decode(first.value, { stream: true });
    child?.kill("SIGTERM");
    // first the drain delay: /readyz says draining (503) while requests are still served
    await waitForLine((line) => line.includes('"msg":"draining: /readyz answers 503'));
    const draining = await fetch(`${url}/readyz`);
    expect(draining.status).toBe(503);
    expect(((await draining.json()) as { status?: string }).status).toBe("draining");
    const during = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "echo", messages: [{ role: "user", content: "still" }], max_tokens: 1 }),
    });
    expect(during.status).toBe(200);
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      body += decoder.decode(next.value, { stream: true });
    }
    body += decoder.decode();
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(body.match(/"content":" ?tick"/g)).toHaveLength(20);
    expect(await exited).toBe(0);
    expect(lines.filter((l) => l.includes('"msg":"deployment serving"'))).toHaveLength(3);
    expect(lines.some((l) => l.includes("shutting down"))).toBe(true);
    await rm(dir, { recursive: true, force: true });
  });

  it("a second SIGINT during the drain exits at once (130) without waiting for the stream", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rakka-e2e-"));
    const path = join(dir, "slow.toml");
    // a 60 s stream (60 tokens at 1 token/s) against a 60 s drain: only the second signal ends it
    await writeFile(
      path,
      `[server]\nbind = "127.0.0.1:0"\ndrain_timeout_ms = 60000\n\n[[deployment]]\nname = "slow"\nmodel = "m"\nruntime = "mock"\n[deployment.runtime_config]\ntokens_per_second = 1\n`,
    );
    const { url, lines, exited, waitForLine } = await startServer(path);
    await waitForLine((line) => line.includes('"msg":"deployment serving"'));
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "slow",
        stream: true,
        messages: [{ role: "user", content: "tock" }],
        max_tokens: 60,
      }),
    });
    const reader = response.body?.getReader();
    await reader?.read();
    child?.kill("SIGINT");
    await waitForLine((line) => line.includes("shutting down"));
    child?.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(lines.some((line) => line.includes("second signal: exiting now"))).toBe(true);
    await reader?.cancel().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a bad config with every problem and exit code 1", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rakka-e2e-"));
    const path = join(dir, "bad.toml");
    await writeFile(path, '[[deployment]]\nname = "x"\nmodel = "m"\nruntime = "warp"\nreplicas = 0\n');
    const proc = spawn(process.execPath, ["bin/rakka.js", "serve", "--config", path], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    let stderr = "";
    proc.stderr?.on("data", (data: Buffer) => {
      stderr += data.toString();
    });
    const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toContain("deployment[0].replicas:");
    expect(stderr).toContain('deployment[0].runtime: unknown runtime "warp"');
  });

  it("a busy port: one clear line on stderr, nothing on stdout, exit code 1", async () => {
    const busy = createNetServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const dir = await mkdtemp(join(tmpdir(), "rakka-e2e-"));
      const path = join(dir, "rakka.toml");
      await writeFile(path, '[[deployment]]\nname = "echo"\nmodel = "echo-1"\nruntime = "mock"\n');
      const proc = spawn(
        process.execPath,
        ["bin/rakka.js", "serve", "--config", path, "--bind", `127.0.0.1:${port}`],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      child = proc;
      let stdout = "";
      let stderr = "";
      proc.stdout?.on("data", (data: Buffer) => {
        stdout += data.toString();
      });
      proc.stderr?.on("data", (data: Buffer) => {
        stderr += data.toString();
      });
      const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
      expect(code).toBe(1);
      expect(stderr).toBe(`rakka serve: cannot listen on 127.0.0.1:${port}: address in use (EADDRINUSE)\n`);
      expect(stdout).not.toContain("HTTP server error");
      expect(stdout).not.toContain("EADDRINUSE");
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
