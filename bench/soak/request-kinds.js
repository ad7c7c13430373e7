// The soak run's request kinds: what each sends (body, deployment, stream or not, the client's
// own abort) and the documented outcome it must get (docs/architecture.md, "The request path"),
// checked against what the client saw. A check says how the gateway's /metrics counts the request.

import { mockDeployments, remoteDeployments, soakServer } from "./soak-config.js";

const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"];
const CHAT_PATH = "/v1/chat/completions";
const unknownDeploymentLabel = "(unknown)"; // src/serving/metrics/metrics-messages.ts

const integer = (random, min, max) => min + Math.floor(random() * (max - min + 1));

function prompt(random) {
  const count = integer(random, 1, 8);
  return Array.from({ length: count }, () => words[integer(random, 0, words.length - 1)]).join(" ");
}

function chatBody(random, model, stream, maxTokens) {
  return JSON.stringify({
    model,
    messages: [{ role: "user", content: prompt(random) }],
    max_tokens: maxTokens,
    ...(stream ? { stream: true } : {}),
  });
}

// ── what an answer says ───────────────────────────────────────────────────────────────────────

function headerOf(seen, name) {
  const value = seen.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const isEventStream = (seen) => (headerOf(seen, "content-type") ?? "").startsWith("text/event-stream");

/**
 * The SSE body split into events: content events, `[DONE]`s and error events in order, and
 * whether anything came after the first terminal event ([DONE] or an error event).
 */
export function readEvents(body) {
  const events = body.split("\n\n").filter((event) => event !== "");
  const summary = { events: events.length, content: 0, done: 0, errors: [], afterTerminal: 0, malformed: 0 };
  let terminal = false;
  for (const event of events) {
    if (terminal) summary.afterTerminal++;
    if (!event.startsWith("data: ")) {
      summary.malformed++;
      continue;
    }
    const data = event.slice("data: ".length);
    if (data === "[DONE]") {
      summary.done++;
      terminal = true;
      continue;
    }
    let json;
    try {
      json = JSON.parse(data);
    } catch {
      summary.malformed++;
      continue;
    }
    if (json?.error !== undefined) {
      summary.errors.push(json.error);
      terminal = true;
    } else if (typeof json?.choices?.[0]?.delta?.content === "string" && json.choices[0].delta.content !== "")
      summary.content++;
  }
  return summary;
}

/** The OpenAI error body `{"error":{"message","type","code"}}`, or undefined when the body is not one. */
export function errorBody(text) {
  try {
    const error = JSON.parse(text)?.error;
    if (
      typeof error?.message !== "string" ||
      typeof error.type !== "string" ||
      typeof error.code !== "string"
    )
      return undefined;
    return error;
  } catch {
    return undefined;
  }
}

// ── documented outcomes ───────────────────────────────────────────────────────────────────────

const verified = (outcome, counting = "certain") => ({ verdict: "verified", outcome, counting });
const unexpected = (detail) => ({ verdict: "unexpected", detail });

/** 200; a stream ends with exactly one [DONE] and carries content; a unary body is a chat.completion. */
function expectSuccess(seen, plan) {
  if (seen.status !== 200) return unexpected(`expected 200, got ${seen.status}: ${seen.body.slice(0, 200)}`);
  if (plan.stream) {
    if (!isEventStream(seen)) return unexpected("a stream without text/event-stream");
    const sse = readEvents(seen.body);
    if (sse.done !== 1 || sse.errors.length > 0 || sse.content === 0 || sse.malformed > 0)
      return unexpected(`stream: ${JSON.stringify({ ...sse, errors: sse.errors.length })}`);
    return verified("success");
  }
  let completion;
  try {
    completion = JSON.parse(seen.body);
  } catch {
    return unexpected(`unary body is not JSON: ${seen.body.slice(0, 200)}`);
  }
  const content = completion?.choices?.[0]?.message?.content;
  if (completion?.object !== "chat.completion" || typeof content !== "string" || content === "")
    return unexpected(`unary body: ${seen.body.slice(0, 200)}`);
  return verified("success");
}

/** A plain HTTP error before commit: `status`, the OpenAI error body with `code`, optional Retry-After. */
function expectHttpError(status, code, { retryAfter = false, counted = true } = {}) {
  return (seen) => {
    if (seen.status !== status)
      return unexpected(`expected ${status} ${code}, got ${seen.status}: ${seen.body.slice(0, 200)}`);
    if (!(headerOf(seen, "content-type") ?? "").startsWith("application/json"))
      return unexpected(`a ${status} without application/json`);
    const error = errorBody(seen.body);
    if (error?.code !== code) return unexpected(`expected code ${code}: ${seen.body.slice(0, 200)}`);
    if (retryAfter && !/^[1-9]\d*$/.test(headerOf(seen, "retry-after") ?? ""))
      return unexpected(`a ${status} without a Retry-After of whole seconds`);
    return counted ? verified(code) : verified(undefined, "none");
  };
}

/**
 * A failure after commit: a stream is a 200 with content, then the error event with `code` as its
 * last event and no [DONE]; a unary request (never committed) gets the plain HTTP error.
 */
function expectFailureAfterCommit(status, code) {
  const beforeCommit = expectHttpError(status, code);
  return (seen, plan) => {
    if (!plan.stream) return beforeCommit(seen);
    if (seen.status !== 200) return unexpected(`expected 200 then an error event, got ${seen.status}`);
    const sse = readEvents(seen.body);
    const error = sse.errors[0];
    if (sse.content === 0 || sse.errors.length !== 1 || sse.done !== 0 || error?.code !== code)
      return unexpected(`expected content then the ${code} error event: ${seen.body.slice(-300)}`);
    if (typeof error.message !== "string" || typeof error.type !== "string")
      return unexpected(`error event not in the OpenAI shape: ${JSON.stringify(error)}`);
    return verified(code);
  };
}

/**
 * The client's own abort: counted as cancelled. After some SSE events the request is surely
 * running (counted cancelled); an abort at a random time may land before the gateway read the body
 * (not counted) or just as it finished (success), so those are "uncertain".
 */
function expectCancelled(seen, plan) {
  if (!seen.aborted) return expectSuccess(seen, plan); // finished before the abort point
  return verified("cancelled", plan.abort.afterEvents === undefined ? "uncertain" : "certain");
}

// ── the kinds ─────────────────────────────────────────────────────────────────────────────────

const local = (name) => {
  if (!(name in mockDeployments)) throw new Error(`no mock deployment ${name}`);
  return name;
};
const remote = (name) => {
  if (!(name in remoteDeployments)) throw new Error(`no remote deployment ${name}`);
  return name;
};

/** Each kind: its share of the load, what it sends, and its check(seen, plan). */
export const requestKinds = [
  { name: "mock-success", weight: 20, deployment: local("mock-ok"), check: expectSuccess },
  {
    name: "mock-fail-before-commit",
    weight: 4,
    deployment: local("mock-fail-early"),
    check: expectHttpError(502, "server_error"),
  },
  {
    name: "mock-fail-mid-stream",
    weight: 6,
    deployment: local("mock-fail-late"),
    check: expectFailureAfterCommit(502, "server_error"),
  },
  {
    name: "mock-stall-before-commit",
    weight: 2,
    deployment: local("mock-stall-early"),
    check: expectHttpError(504, "timeout"),
  },
  {
    name: "mock-stall-after-commit",
    weight: 3,
    deployment: local("mock-stall-late"),
    check: expectFailureAfterCommit(504, "timeout"),
  },
  { name: "client-abort", weight: 10, deployment: local("mock-paced"), abort: true, check: expectCancelled },
  { name: "unknown-model", weight: 4, check: expectHttpError(404, "not_found") },
  { name: "oversize-body", weight: 3, check: expectHttpError(413, "bad_request", { counted: false }) },
  { name: "invalid-json", weight: 2, check: expectHttpError(400, "bad_request", { counted: false }) },
  { name: "remote-success", weight: 20, deployment: remote("remote-ok"), check: expectSuccess },
  {
    name: "remote-5xx",
    weight: 5,
    deployment: remote("remote-5xx"),
    check: expectHttpError(502, "server_error"),
  },
  {
    name: "remote-429",
    weight: 5,
    deployment: remote("remote-429"),
    check: expectHttpError(429, "rate_limited", { retryAfter: true }),
  },
  {
    name: "remote-stall-before-commit",
    weight: 2,
    deployment: remote("remote-stall-early"),
    check: expectHttpError(504, "timeout"),
  },
  {
    name: "remote-stall-after-commit",
    weight: 3,
    deployment: remote("remote-stall-late"),
    check: expectFailureAfterCommit(504, "timeout"),
  },
  {
    name: "remote-cut-before-commit",
    weight: 3,
    deployment: remote("remote-cut-early"),
    check: expectHttpError(502, "network_error"),
  },
  {
    name: "remote-cut-after-commit",
    weight: 4,
    deployment: remote("remote-cut-late"),
    check: expectFailureAfterCommit(502, "network_error"),
  },
];

const totalWeight = requestKinds.reduce((sum, kind) => sum + kind.weight, 0);

/** The kind at `point` of the weights laid end to end (0 ≤ point < totalWeight). */
function pickKind(point) {
  let end = 0;
  for (const kind of requestKinds) {
    end += kind.weight;
    if (point < end) return kind;
  }
  return requestKinds[requestKinds.length - 1];
}

/**
 * The next request of a worker, from its seeded `random`: kind, stream or not, keep-alive or a
 * fresh connection (`freshShare`), body and the client's abort point. `label` is the deployment
 * label its /metrics count goes under.
 */
export function planRequest(random, { baseUrl, freshShare }) {
  const kind = pickKind(random() * totalWeight);
  const stream = random() < 0.5;
  const fresh = random() < freshShare;
  const headers = { "content-type": "application/json" };
  let body;
  let abort;
  if (kind.name === "unknown-model") {
    body = chatBody(random, `no-such-model-${integer(random, 0, 999)}`, stream, 4);
  } else if (kind.name === "oversize-body") {
    const size = soakServer.maxBodyBytes + integer(random, 1, 32 * 1024);
    const filler = "x".repeat(size);
    body = JSON.stringify({ model: "mock-ok", messages: [{ role: "user", content: filler }], stream });
  } else if (kind.name === "invalid-json") {
    body = chatBody(random, "mock-ok", stream, 4).slice(0, integer(random, 1, 30));
  } else if (kind.abort) {
    // 16 tokens at 100 per second: about 160 ms of stream to abort within
    body = chatBody(random, kind.deployment, stream, 16);
    abort =
      stream && random() < 0.5
        ? { afterEvents: integer(random, 2, 8) }
        : { afterMs: integer(random, 5, 120) };
  } else {
    // more tokens than fail_after_tokens / stall_after_tokens (3), so the failure comes mid-stream
    body = chatBody(random, kind.deployment, stream, integer(random, 4, 16));
  }
  headers["content-length"] = String(Buffer.byteLength(body));
  return {
    kind: kind.name,
    check: kind.check,
    label: kind.deployment ?? unknownDeploymentLabel,
    stream,
    transport: fresh ? "fresh" : "keep-alive",
    abort,
    target: { url: `${baseUrl}${CHAT_PATH}`, headers, body },
  };
}

/**
 * The verdict on one answer: hung, double-ended (two terminal events, or events after one), lost
 * (a connection error on a request the client did not abort, or a stream that just stopped), else
 * the kind's own check (verified or unexpected), with how /metrics counts it.
 */
export function classify(seen, plan) {
  if (seen.hung)
    return { verdict: "hung", detail: `no complete answer after ${Math.round(seen.elapsedMs)} ms` };
  const sse = seen.status === 200 && isEventStream(seen) ? readEvents(seen.body) : undefined;
  if (sse && (sse.done + sse.errors.length > 1 || sse.afterTerminal > 0))
    return {
      verdict: "double-ended",
      detail: `[DONE] ×${sse.done}, error events ×${sse.errors.length}, ${sse.afterTerminal} after the end`,
    };
  if (seen.connectionError && !seen.aborted) {
    const { code, message } = seen.connectionError;
    const at =
      seen.status === undefined
        ? "before the response"
        : `after status ${seen.status} and ${seen.body.length} body bytes`;
    return { verdict: "lost", detail: `${code}: ${message} (${at})` };
  }
  if (sse && seen.complete && sse.done + sse.errors.length === 0)
    return {
      verdict: "lost",
      detail: `the stream ended without [DONE] or an error event after ${sse.events} events`,
    };
  return plan.check(seen, plan);
}
