import { describe, expect, it } from "vitest";
import { z } from "zod";
import { zodProblems } from "./zod-problems.js";

const schema = z.strictObject({
  count: z.number(),
  flag: z.boolean().optional(),
  either: z.union([z.string(), z.strictObject({ from_env: z.string() })]),
  url: z.string({ error: "must be a URL" }),
});

function problems(input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error("expected a failure");
  return zodProblems("t", result.error, input);
}

describe("zodProblems", () => {
  it(`says "is required" only for a missing key`, () => {
    expect(problems({})).toEqual([
      { path: "t.count", message: "is required" },
      { path: "t.either", message: "is required" },
      { path: "t.url", message: "is required" },
    ]);
  });

  it("names what was expected and received for a wrong type", () => {
    expect(problems({ count: "many", flag: "yes", either: 5, url: "u" })).toEqual([
      { path: "t.count", message: "expected number, received string" },
      { path: "t.flag", message: "expected boolean, received string" },
      { path: "t.either", message: "expected string or object, received number" },
    ]);
  });

  it("keeps a schema's own message for a wrong type", () => {
    expect(problems({ count: 1, either: "x", url: 5 })).toEqual([
      { path: "t.url", message: "must be a URL" },
    ]);
  });
});
