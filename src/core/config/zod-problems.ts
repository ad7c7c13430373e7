// Turns zod issues into Problems with file paths and plain messages (unknown keys named).

import type { z } from "zod";
import { joinPath, type Problem } from "./problem.js";

type Issue = z.core.$ZodIssue;

// zod 4 leaves `issue.input` unset unless parsing with `reportInput`, so a missing key is told
// apart from a wrong type by looking its path up in the value that was parsed.
const DEFAULT_TYPE_MESSAGE = /^Invalid input: expected .+, received (\S+)$/;

/** The value at `path` inside `input` (undefined where the path leaves the objects). */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const segment of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function isMissing(issue: Issue, input: unknown): boolean {
  if (issue.code !== "invalid_type" && issue.code !== "invalid_union") return false;
  return valueAt(input, issue.path) === undefined;
}

/** "expected string or object, received number" when every union branch rejected the value's type. */
function unionTypeMessage(issue: Extract<Issue, { code: "invalid_union" }>): string | undefined {
  const expected: string[] = [];
  let received: string | undefined;
  for (const branch of issue.errors) {
    const typeIssue = branch.find((inner) => inner.path.length === 0 && inner.code === "invalid_type");
    if (typeIssue?.code !== "invalid_type") return undefined;
    const match = DEFAULT_TYPE_MESSAGE.exec(typeIssue.message);
    if (!match) return undefined;
    received = match[1];
    if (!expected.includes(typeIssue.expected)) expected.push(typeIssue.expected);
  }
  if (received === undefined) return undefined;
  return `expected ${expected.join(" or ")}, received ${received}`;
}

function messageOf(issue: Issue): string {
  if (issue.code === "invalid_union") return unionTypeMessage(issue) ?? issue.message;
  if (issue.code === "invalid_type") return issue.message.replace(/^Invalid input: /, "");
  return issue.message;
}

/** `input`: the value that was parsed; a key is "required" only where it is absent from it. */
export function zodProblems(base: string, error: z.ZodError, input: unknown): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        problems.push({ path: joinPath(base, [...issue.path, key]), message: "unknown key" });
      }
      continue;
    }
    if (isMissing(issue, input)) {
      problems.push({ path: joinPath(base, issue.path), message: "is required" });
      continue;
    }
    problems.push({ path: joinPath(base, issue.path), message: messageOf(issue) });
  }
  return problems;
}
