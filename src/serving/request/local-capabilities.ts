// What a local model (llama, mock) cannot honour, refused with 400 naming the field rather than
// silently ignored (issue: "a request field a deployment cannot honour is refused"): tools, a
// structured response_format, reasoning_effort other than "none", and image content parts (the local runtimes take
// text only).

import type { ServiceRequest } from "../../core/dialect.js";
import { errors, type InferenceError } from "../../core/inference-error.js";

export function localRefusal(deployment: string, request: ServiceRequest): InferenceError | undefined {
  const { tools, responseFormat, reasoningEffort } = request.features;
  if (tools !== undefined && tools.length > 0) {
    return errors.badRequest(
      `tools: deployment ${deployment} runs a local model, which cannot call tools`,
      "tools",
    );
  }
  if (responseFormat !== undefined && responseFormat.type !== "text") {
    return errors.badRequest(
      `response_format: deployment ${deployment} runs a local model, which only answers in plain text`,
      "response_format",
    );
  }
  // "none" asks for no reasoning, which a local model honours by doing nothing
  if (reasoningEffort !== undefined && reasoningEffort !== "none") {
    return errors.badRequest(
      `reasoning_effort: deployment ${deployment} runs a local model, which has no reasoning control`,
      "reasoning_effort",
    );
  }
  for (const [m, message] of request.messages.entries()) {
    if (message.content === null || typeof message.content === "string") continue;
    const part = message.content.findIndex((candidate) => candidate.type !== "text");
    if (part >= 0) {
      const field = `messages[${m}].content[${part}]`;
      return errors.badRequest(
        `${field}: deployment ${deployment} runs a local model, which takes text only (no images)`,
        field,
      );
    }
  }
  return undefined;
}
