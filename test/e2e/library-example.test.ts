// The embedding example in examples/ runs as documented.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

describe("examples/library.mjs", () => {
  it("completes, streams and listens through the package's public API", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["examples/library.mjs"], {
      timeout: 20_000,
    });
    expect(stdout).toContain('complete: "the quick brown fox the quick" (length, 6 tokens)');
    expect(stdout).toContain("stream:  jumps over jumps over jumps");
    expect(stdout).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
  });
});
