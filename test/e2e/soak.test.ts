// A short soak of `rakka serve`: bench/soak/run.js (built dist/, its own processes, loopback only)
// for 15 s at concurrency 8, mixed successes, failures, stalls, aborts and refusals over keep-alive
// and fresh connections; its JSON results must show every answer as documented, none lost, none
// ended twice, none hung, /metrics equal to what was sent and no file descriptors left behind.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

interface SoakResults {
  readonly requests: {
    readonly sent: number;
    readonly byVerdict: Record<"verified" | "unexpected" | "lost" | "double-ended" | "hung", number>;
    readonly byTransport: Record<"keep-alive" | "fresh", number>;
    readonly cancelled: number;
    readonly failures: readonly unknown[];
  };
  readonly metrics: { readonly match: boolean; readonly unexplained: number };
  readonly fds: { readonly before: number; readonly after: number; readonly ok: boolean };
  readonly server: { readonly healthyAtEnd: boolean; readonly cleanExit: boolean };
  readonly ok: boolean;
  readonly verdictLine: string;
}

const SOAK_SECONDS = 15;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rakka-soak-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the harness to its end (it stops by itself; SOAK_DEADLINE_S bounds it too); its exit code and output. */
function runSoak(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bench/soak/run.js"], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      output += text;
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      output += text;
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

describe("rakka serve under a short soak", () => {
  it("answers every request as documented, loses none, and counts them all in /metrics", async () => {
    const jsonPath = join(dir, "soak.json");
    const { code, output } = await runSoak({
      SOAK_SECONDS: String(SOAK_SECONDS),
      SOAK_CONCURRENCY: "8",
      SOAK_SEED: "7",
      SOAK_SAMPLE_MS: "1000",
      SOAK_DEADLINE_S: "75",
      SOAK_JSON: jsonPath,
    });
    const results = JSON.parse(await readFile(jsonPath, "utf8").catch(() => "null")) as SoakResults | null;
    expect(results, output).not.toBeNull();
    if (!results) return;
    const { requests } = results;
    const failures = JSON.stringify(requests.failures, null, 1);
    expect(requests.sent).toBeGreaterThan(100);
    expect(requests.byTransport["keep-alive"]).toBeGreaterThan(0);
    expect(requests.byTransport.fresh).toBeGreaterThan(0);
    expect(requests.cancelled).toBeGreaterThan(0);
    expect(requests.byVerdict.lost, failures).toBe(0);
    expect(requests.byVerdict["double-ended"], failures).toBe(0);
    expect(requests.byVerdict.hung, failures).toBe(0);
    expect(requests.byVerdict.unexpected, failures).toBe(0);
    expect(requests.byVerdict.verified).toBe(requests.sent);
    expect(results.metrics.match, JSON.stringify(results.metrics)).toBe(true);
    expect(results.fds.ok, JSON.stringify(results.fds)).toBe(true);
    expect(results.server.healthyAtEnd).toBe(true);
    expect(results.server.cleanExit).toBe(true);
    expect(results.ok, results.verdictLine).toBe(true);
    expect(code, output).toBe(0);
  }, 90_000);
});
