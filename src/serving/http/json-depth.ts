// The nesting bound on client-supplied JSON (docs/api.md, "Limits"): every body the gateway parses
// is checked here right after JSON.parse, so no layer below (validation, conversion to a provider's
// wire format, serialisation) ever recurses on unbounded input. The walk is iterative.

/** The deepest nesting a request body may have: the body itself is level 1. */
export const MAX_JSON_DEPTH = 128;

/**
 * The name of the body's top-level field (or "request body" when the body itself is the problem)
 * whose value nests deeper than `limit` levels; undefined when the whole body is within it.
 */
export function tooDeepField(body: unknown, limit: number = MAX_JSON_DEPTH): string | undefined {
  if (body === null || typeof body !== "object") return undefined;
  if (Array.isArray(body)) return exceeds(body, 1, limit) ? "request body" : undefined;
  for (const [key, value] of Object.entries(body)) {
    if (exceeds(value, 2, limit)) return key;
  }
  return undefined;
}

/** Whether `value`, found at nesting level `depth`, holds anything deeper than `limit`. */
function exceeds(value: unknown, depth: number, limit: number): boolean {
  if (value === null || typeof value !== "object") return false;
  const stack: Array<{ readonly value: object; readonly depth: number }> = [{ value, depth }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (top.depth > limit) return true;
    const children = Array.isArray(top.value) ? top.value : Object.values(top.value);
    for (const child of children) {
      if (child !== null && typeof child === "object") stack.push({ value: child, depth: top.depth + 1 });
    }
  }
  return false;
}
