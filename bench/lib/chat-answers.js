// The chat requests the gateway benchmarks send (unary and streaming, the same prompt, `tokens`
// completion tokens) and the pre-flight check that a gateway answers them whole.

import { exchange } from "./http.js";

export const CHAT_PATH = "/v1/chat/completions";

const messages = [{ role: "user", content: "Spell the NATO alphabet, then count to six." }];

/** The unary and the streaming (with usage) request bodies for `model`. */
export function chatRequestBodies(model, tokens) {
  return {
    unary: JSON.stringify({ model, max_tokens: tokens, messages }),
    streaming: JSON.stringify({
      model,
      max_tokens: tokens,
      stream: true,
      stream_options: { include_usage: true },
      messages,
    }),
  };
}

/**
 * `url` must answer `tokens` tokens unary and a stream of `tokens` content events ending in
 * [DONE]; with `node`, both answers must carry `x-rakka-node: <node>`. Throws naming what was wrong.
 */
export async function checkChatAnswers(name, url, bodies, tokens, { node } = {}) {
  const unary = await exchange(`${url}${CHAT_PATH}`, "POST", bodies.unary);
  if (unary.status !== 200 || JSON.parse(unary.body).usage?.completion_tokens !== tokens)
    throw new Error(`${name} unary answer: HTTP ${unary.status}: ${unary.body}`);
  const streaming = await exchange(`${url}${CHAT_PATH}`, "POST", bodies.streaming);
  const events = streaming.body.split("\n\n").filter(Boolean);
  const content = events.filter((event) => event.includes('"content":"') && !event.includes('"content":""'));
  if (streaming.status !== 200 || events.at(-1) !== "data: [DONE]" || content.length !== tokens)
    throw new Error(`${name} streaming answer: HTTP ${streaming.status}:\n${streaming.body}`);
  if (node === undefined) return;
  for (const [kind, answer] of [
    ["unary", unary],
    ["streaming", streaming],
  ]) {
    if (answer.headers["x-rakka-node"] !== node)
      throw new Error(
        `${name} ${kind} answer: x-rakka-node ${answer.headers["x-rakka-node"]}, expected ${node}`,
      );
  }
}
