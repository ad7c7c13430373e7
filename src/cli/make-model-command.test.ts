import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectGguf } from "../runtimes/llama/gguf-reader.js";
import { type MakeModelArgs, makeModelCommand, makeModelDefaults } from "./make-model-command.js";

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "make-model-command-"));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

function captured() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (line: string) => out.push(line), err: (line: string) => err.push(line) } };
}

function args(out: string, more: Partial<MakeModelArgs> = {}): MakeModelArgs {
  return { out, ...makeModelDefaults, ifMissing: false, ...more };
}

describe("makeModelCommand", () => {
  it("writes the model and prints its path, size in MB and the time taken", async () => {
    const out = join(folder, "models", "tiny.gguf");
    const { io, out: lines, err } = captured();
    expect(await makeModelCommand(args(out, { quant: "f16", seed: 5 }), io)).toBe(0);
    expect(err).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^wrote .*tiny\.gguf \(1\.3 MB, tiny f16, seed 5\) in \d+\.\d\d s$/);
    const inspected = await inspectGguf(out);
    expect(inspected.ok && inspected.info.fileType).toBe(1);
  });

  it("with --if-missing leaves an existing file alone and prints exists: PATH", async () => {
    const out = join(folder, "existing.gguf");
    await writeFile(out, "not replaced");
    const { io, out: lines } = captured();
    expect(await makeModelCommand(args(out, { ifMissing: true }), io)).toBe(0);
    expect(lines).toEqual([`exists: ${out}`]);
    expect(await readFile(out, "utf8")).toBe("not replaced");
  });

  it("with --if-missing writes a missing file", async () => {
    const out = join(folder, "missing.gguf");
    const { io, out: lines } = captured();
    expect(await makeModelCommand(args(out, { ifMissing: true }), io)).toBe(0);
    expect(lines[0]).toMatch(/^wrote /);
    expect((await stat(out)).size).toBeGreaterThan(0);
  });

  it("without --if-missing replaces an existing file", async () => {
    const out = join(folder, "replaced.gguf");
    await writeFile(out, "old");
    expect(await makeModelCommand(args(out), captured().io)).toBe(0);
    expect((await inspectGguf(out)).ok).toBe(true);
  });

  it("refuses bad options with exit code 2", async () => {
    const { io, err } = captured();
    const out = join(folder, "never.gguf");
    expect(await makeModelCommand(args(out, { seed: -1 }), io)).toBe(2);
    expect(await makeModelCommand(args(out, { size: "huge" as MakeModelArgs["size"] }), io)).toBe(2);
    expect(await makeModelCommand(args(out, { quant: "q4_0" as MakeModelArgs["quant"] }), io)).toBe(2);
    expect(await makeModelCommand(args(""), io)).toBe(2);
    expect(err).toEqual([
      "rakka make-model: --seed must be an integer from 0 to 4294967295, got -1",
      'rakka make-model: --size must be one of tiny, small, medium, got "huge"',
      'rakka make-model: --quant must be one of f16, q8_0, got "q4_0"',
      "rakka make-model: --out FILE is required",
    ]);
  });

  it("reports a file it cannot write with exit code 1", async () => {
    const blocker = join(folder, "a-file");
    await writeFile(blocker, "");
    const { io, err } = captured();
    expect(await makeModelCommand(args(join(blocker, "model.gguf")), io)).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^rakka make-model: cannot write .*a-file\/model\.gguf: (EEXIST|ENOTDIR)$/);
  });
});
