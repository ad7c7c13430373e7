// The CLI's argument handling and the admin clients' failures, as a user meets them: help, a
// server that is not there or is not rakka, a malformed file, and refusals that name their table.
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clusterStatusCommand, deploymentsCommand } from "./admin-commands.js";
import { main } from "./main.js";

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function tomlFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "rakka-admin-cli-"));
  const path = join(dir, "more.toml");
  await writeFile(path, text);
  return path;
}

/** A loopback HTTP server answering every request with `body` (200); resolves to its URL. */
async function serverAnswering(body: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/event-stream" });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const servers: Server[] = [];
let savedKey: string | undefined;

beforeEach(() => {
  savedKey = process.env.RAKKA_ADMIN_KEY;
  process.env.RAKKA_ADMIN_KEY = "admin-key-for-cli-tests";
});

afterEach(async () => {
  if (savedKey === undefined) delete process.env.RAKKA_ADMIN_KEY;
  else process.env.RAKKA_ADMIN_KEY = savedKey;
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe("rakka help and arguments", () => {
  const helpCases = [
    ["--help"],
    ["-h"],
    ["help"],
    ["serve", "--help"],
    ["validate", "-h"],
    ["deployments", "apply", "--help"],
  ];
  it.each(helpCases.map((args) => ({ name: args.join(" "), args })))(
    "rakka $name prints the usage and exits 0",
    async ({ args }) => {
      const result = await run(args);
      expect(result.code).toBe(0);
      expect(result.out).toMatch(/^usage: rakka <command>/);
    },
  );

  it("no command is a usage error (stderr, exit 2)", async () => {
    const result = await run([]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/^usage: rakka <command>/);
  });

  it("refuses extra arguments to deployments list / remove", async () => {
    expect(await run(["deployments", "list", "extra", "--url", "http://127.0.0.1:1"])).toMatchObject({
      code: 2,
      err: 'rakka deployments: unexpected argument "extra"',
    });
    expect(await run(["deployments", "remove", "a", "b", "--url", "http://127.0.0.1:1"])).toMatchObject({
      code: 2,
      err: 'rakka deployments: unexpected argument "b"',
    });
  });
});

describe("admin clients: failures", () => {
  it("names the URL and the reason when the server cannot be reached (not just 'fetch failed')", async () => {
    const { url, server } = await serverAnswering("");
    await new Promise((resolve) => server.close(resolve)); // nothing listens on that port now
    for (const args of [["deployments", "list"], ["cost-report"]]) {
      const result = await run([...args, "--url", url]);
      expect(result.code).toBe(1);
      expect(result.err).toBe(`rakka ${args[0]}: cannot reach ${url}: ECONNREFUSED`);
    }
  });

  it("refuses a --url that is not an http(s) URL (exit 2)", async () => {
    const result = await run(["deployments", "list", "--url", "127.0.0.1:8080"]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/--url must be/);
  });

  it("says so when the server at --url is not a rakka admin API (instead of a TypeError)", async () => {
    const { url, server } = await serverAnswering('data: {"choices":[]}\n\n');
    servers.push(server);
    const list = await run(["deployments", "list", "--url", url]);
    expect(list).toMatchObject({
      code: 1,
      err: expect.stringMatching(/did not answer like a rakka admin API/),
    });
    const report = await run(["cost-report", "--url", url]);
    expect(report).toMatchObject({
      code: 1,
      err: expect.stringMatching(/did not answer like a rakka admin API/),
    });
  });

  it("names the file for an unreadable, invalid or table-less file (instead of a TypeError)", async () => {
    const url = "http://127.0.0.1:1"; // never called: the file is read first
    const notTables = await tomlFile("deployment = 5\n");
    expect(await run(["deployments", "apply", notTables, "--url", url])).toMatchObject({
      code: 1,
      err: `rakka deployments: ${notTables}: "deployment" must be [[deployment]] tables`,
    });
    const invalid = await tomlFile('[[deployment]\nname = "x"\n');
    expect((await run(["deployments", "apply", invalid, "--url", url])).err).toMatch(
      new RegExp(`^rakka deployments: ${invalid}: TOML syntax error at line \\d+, column \\d+: `),
    );
    expect(await run(["deployments", "apply", `${invalid}.missing`, "--url", url])).toMatchObject({
      code: 1,
      err: `rakka deployments: ${invalid}.missing: cannot read (ENOENT)`,
    });
  });

  it("apply names the table of each refusal and prefixes its problem paths", async () => {
    const file = await tomlFile(
      '[[deployment]]\nname = "good"\nmodel = "m"\nruntime = "mock"\n\n' +
        '[[deployment]]\nname = "bad"\nmodel = "m"\nruntime = "mock"\nreplica = 2\n',
    );
    const fetchStub: typeof fetch = async (_url, init) => {
      const table = JSON.parse(String(init?.body)) as { name: string };
      return table.name === "good"
        ? Response.json({ ok: true, deployment: { name: "good", state: "serving" } })
        : Response.json(
            {
              error: { message: "invalid deployment", type: "invalid_request_error", code: "bad_request" },
              problems: [{ path: "replica", message: "unknown key" }],
            },
            { status: 400 },
          );
    };
    const out: string[] = [];
    const err: string[] = [];
    const code = await deploymentsCommand(
      "apply",
      file,
      { url: "http://127.0.0.1:8080", adminKey: "k", fetch: fetchStub },
      { out: (line) => out.push(line), err: (line) => err.push(line) },
    );
    expect(code).toBe(1);
    expect(out).toEqual(["applied good: serving"]);
    expect(err).toEqual([
      'deployment[1] "bad": admin API answered 400: invalid deployment',
      "deployment[1].replica: unknown key",
    ]);
  });

  it("apply prints the message of a 409 / 422 refusal in the OpenAI-style error shape", async () => {
    const file = await tomlFile('[[deployment]]\nname = "busy"\nmodel = "m"\nruntime = "mock"\n');
    const fetchStub: typeof fetch = async () =>
      Response.json(
        {
          error: {
            message: "deployment busy is being removed",
            type: "invalid_request_error",
            code: "conflict",
          },
          deployment: { name: "busy", state: "draining", replicas: 1, ready_replicas: 1 },
        },
        { status: 409 },
      );
    const err: string[] = [];
    const code = await deploymentsCommand(
      "apply",
      file,
      { url: "http://127.0.0.1:8080", adminKey: "k", fetch: fetchStub },
      { out: () => {}, err: (line) => err.push(line) },
    );
    expect(code).toBe(1);
    expect(err).toEqual(['deployment[0] "busy": admin API answered 409: deployment busy is being removed']);
  });

  it("hints that the admin API is off when the server has no /admin/v1/ routes", async () => {
    const fetchStub: typeof fetch = async () =>
      Response.json(
        {
          error: { message: "unknown path: GET /admin/v1/spend", type: "not_found_error", code: "not_found" },
        },
        { status: 404 },
      );
    const err: string[] = [];
    const code = await deploymentsCommand(
      "list",
      undefined,
      { url: "http://127.0.0.1:8080", adminKey: "k", fetch: fetchStub },
      { out: () => {}, err: (line) => err.push(line) },
    );
    expect(code).toBe(1);
    expect(err[0]).toMatch(/admin API answered 404: .*\[server\] admin_key/);
  });
});

describe("admin clients: snake_case replies", () => {
  it("deployments list reads ready_replicas and spend.hour_usd / day_usd", async () => {
    const fetchStub: typeof fetch = async () =>
      Response.json({
        deployments: [
          {
            name: "gpt",
            state: "serving",
            replicas: 2,
            ready_replicas: 1,
            runtime: "openai",
            model: "gpt-4o",
            running: 0,
            waiting: 0,
            rate_limit_utilization: 0.1,
            circuits: [{ endpoint: "e", state: "closed" }],
            spend: { hour_usd: 0.5, day_usd: 1.25 },
          },
        ],
      });
    const out: string[] = [];
    const code = await deploymentsCommand(
      "list",
      undefined,
      { url: "http://127.0.0.1:8080", adminKey: "k", fetch: fetchStub },
      { out: (line) => out.push(line), err: () => {} },
    );
    expect(code).toBe(0);
    expect(out[1]).toMatch(/^gpt\s+serving\s+openai\s+1\/2\s+0\s+0\s+closed\s+\$0\.500000\s+\$1\.250000$/);
  });
});

describe("rakka cluster status", () => {
  const clusterBody = {
    node: "node-c",
    store: "available",
    on_store_unavailable: "open",
    nodes: [
      {
        node_id: "node-a",
        url: "http://10.0.0.1:8080",
        version: "1",
        heartbeat_age_ms: 120,
        replicas: [{ deployment: "tiny", running: 0, waiting: 0 }],
        in_flight: 0,
      },
      {
        node_id: "node-c",
        url: "http://10.0.0.3:8080",
        version: "1",
        heartbeat_age_ms: 40,
        replicas: [],
        in_flight: 2,
      },
    ],
  };

  async function status(body: unknown) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await clusterStatusCommand(
      { url: "http://127.0.0.1:8080", adminKey: "k", fetch: async () => Response.json(body) },
      { out: (line) => out.push(line), err: (line) => err.push(line) },
    );
    return { code, out, err };
  }

  it("prints the node table, then every replica with its node, state and failure reason", async () => {
    const result = await status({
      ...clusterBody,
      placement: {
        version: 7,
        lease_holder: "node-a",
        plan: [
          { deployment: "tiny", index: 0, node_id: "node-a" },
          { deployment: "tiny", index: 1, node_id: "node-b" },
          { deployment: "big", index: 0, node_id: "node-c" },
        ],
        reports: [
          { deployment: "tiny", index: 0, node_id: "node-a", state: "ready", reported_at: 1 },
          {
            deployment: "tiny",
            index: 1,
            node_id: "node-b",
            state: "failed",
            reason: "model file not found: models/tiny.gguf",
            reported_at: 1,
          },
          // a replica the plan moved away, still draining where it was
          { deployment: "tiny", index: 1, node_id: "node-c", state: "ready", reported_at: 1 },
        ],
        unplaced: [{ deployment: "tiny", index: 2, reason: "no live node has a free model slot" }],
      },
    });
    expect(result.code).toBe(0);
    expect(result.err).toEqual([]);
    expect(result.out).toEqual([
      "NODE           URL                   HEARTBEAT AGE  REPLICAS  IN FLIGHT  STORE",
      "node-a         http://10.0.0.1:8080  0.1 s          tiny      0",
      "node-c (this)  http://10.0.0.3:8080  0.0 s          -         2          available",
      "",
      "DEPLOYMENT  REPLICA  NODE    STATE     REASON",
      "big         0        node-c  placed",
      "tiny        0        node-a  ready",
      "tiny        1        node-b  failed    model file not found: models/tiny.gguf",
      "tiny        1        node-c  ready",
      "tiny        2        -       unplaced  no live node has a free model slot",
      "placement lease: node-a (plan version 7)",
    ]);
  });

  it("says when nothing is placed and nobody holds the lease", async () => {
    const result = await status({
      ...clusterBody,
      placement: { version: 0, lease_holder: null, plan: [], reports: [] },
    });
    expect(result.code).toBe(0);
    expect(result.out.slice(-3)).toEqual([
      "",
      "no placed replicas",
      "placement lease: none (plan version 0)",
    ]);
  });

  it("prints the nodes and fails with the reason when the placement could not be read", async () => {
    const result = await status({
      ...clusterBody,
      placement: null,
      placement_error: "Connection is closed.",
    });
    expect(result.code).toBe(1);
    expect(result.out).toHaveLength(3);
    expect(result.err).toEqual(["rakka cluster status: placement unavailable: Connection is closed."]);
  });

  it("prints only the node table for a server without the placement fields", async () => {
    const result = await status(clusterBody);
    expect(result).toMatchObject({ code: 0, err: [] });
    expect(result.out).toHaveLength(3);
  });
});
