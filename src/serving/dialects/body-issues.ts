// How every dialect refuses a body that does not fit its schema (docs/api.md, "Errors"): the
// first zod issue becomes a 400 `bad_request` whose message starts with the offending field's
// path (`messages[1].content[0].source.data: …`), the deepest one inside a union.

import type { z } from "zod";
import { errors, type InferenceError } from "../../core/inference-error.js";

export type BodyIssue = z.core.$ZodIssue;
export type PathSegment = PropertyKey;

/** The first issue, as `path: message`, below `base`; inside a union, the branch that got furthest. */
export function issueToError(
  issues: readonly BodyIssue[],
  base: readonly PathSegment[] = [],
): InferenceError {
  const issue = issues[0];
  if (!issue) return errors.badRequest("invalid request body");
  const { path, message } = deepestIssue(issue, base);
  if (path.length === 0) return errors.badRequest(`request body ${message}`);
  const field = formatPath(path);
  return errors.badRequest(`${field}: ${message}`, field);
}

export function deepestIssue(
  issue: BodyIssue,
  base: readonly PathSegment[],
): { path: PathSegment[]; message: string } {
  const path = [...base, ...issue.path];
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    // a branch whose first issue lies below the union's own path matched the value's shape (an
    // array of parts, say) and failed deeper: its message is the precise one
    let best: BodyIssue | undefined;
    for (const branch of issue.errors) {
      const first = branch[0];
      if (first && first.path.length > 0 && (!best || first.path.length > best.path.length)) best = first;
    }
    if (best) return deepestIssue(best, path);
  }
  return { path, message: issue.message };
}

/** ["messages", 1, "role"] → "messages[1].role". */
export function formatPath(path: readonly PathSegment[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? String(segment) : `.${String(segment)}`;
  }
  return text;
}
