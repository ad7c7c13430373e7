// Turns zod issues into Problems with file paths and plain messages (unknown keys named).

import type { z } from "zod";
import { joinPath, type Problem } from "./problem.js";

export function zodProblems(base: string, error: z.ZodError): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        problems.push({ path: joinPath(base, [...issue.path, key]), message: "unknown key" });
      }
      continue;
    }
    if ((issue.code === "invalid_type" || issue.code === "invalid_union") && issue.input === undefined) {
      problems.push({ path: joinPath(base, issue.path), message: "is required" });
      continue;
    }
    problems.push({ path: joinPath(base, issue.path), message: issue.message });
  }
  return problems;
}
