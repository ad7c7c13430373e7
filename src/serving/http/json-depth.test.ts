import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH, tooDeepField } from "./json-depth.js";

/** `levels` arrays nested in each other: nested(1) = [], nested(2) = [[]]. */
function nested(levels: number): unknown {
  return JSON.parse(`${"[".repeat(levels)}${"]".repeat(levels)}`);
}

describe("tooDeepField", () => {
  it("accepts scalars, flat bodies and nesting up to the limit", () => {
    expect(tooDeepField(42)).toBeUndefined();
    expect(tooDeepField({ model: "m", messages: [{ role: "user", content: "hi" }] })).toBeUndefined();
    // the body is level 1, so its field may nest limit - 1 levels
    expect(tooDeepField({ tools: nested(MAX_JSON_DEPTH - 1) })).toBeUndefined();
  });

  it("names the top-level field that nests one level too deep", () => {
    expect(tooDeepField({ model: "m", tools: nested(MAX_JSON_DEPTH) })).toBe("tools");
    expect(tooDeepField({ response_format: { a: { b: nested(MAX_JSON_DEPTH) } } })).toBe("response_format");
  });

  it("reports a too-deep array body as the request body", () => {
    expect(tooDeepField(nested(MAX_JSON_DEPTH))).toBeUndefined();
    expect(tooDeepField(nested(MAX_JSON_DEPTH + 1))).toBe("request body");
  });

  it("walks 100,000 levels without exhausting the stack", () => {
    expect(tooDeepField({ tools: nested(100_000) })).toBe("tools");
  });

  it("honours a smaller limit", () => {
    expect(tooDeepField({ a: [[1]] }, 3)).toBeUndefined();
    expect(tooDeepField({ a: [[[1]]] }, 3)).toBe("a");
  });
});
