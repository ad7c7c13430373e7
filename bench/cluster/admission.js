// The over-admission test of the cluster benchmark (bench/cluster/run.js): every node of a cluster
// hammered at once with requests to the deployment "limited" (requests_per_minute = N,
// on_capacity_exhausted = "reject"), and how many of them the upstream received, against the limit.
// Bounded in count (`perNode` requests to each node) and in time (10 s per request, `deadlineMs`
// for the whole burst); loopback only.

import http from "node:http";
import { exchange } from "../lib/http.js";

const CHAT_PATH = "/v1/chat/completions";
const body = JSON.stringify({
  model: "limited",
  max_tokens: 2,
  messages: [{ role: "user", content: "hi" }],
});

/**
 * Sends `perNode` requests to each of `urls`, `concurrency` in flight per node on keep-alive
 * connections, all nodes at once. Resolves with { sent, statuses (status → count), refusals
 * (error code → count of 429 bodies), elapsedS }.
 */
export async function hammer(urls, { perNode, concurrency, deadlineMs }) {
  const statuses = new Map();
  const refusals = new Map();
  const stopAt = Date.now() + deadlineMs;
  let sent = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    urls.map(async (url) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
      let next = 0;
      const worker = async () => {
        while (next < perNode && Date.now() < stopAt) {
          next++;
          sent++;
          const answer = await exchange(`${url}${CHAT_PATH}`, "POST", body, agent).catch((error) => ({
            status: `error: ${error.message}`,
            body: "",
          }));
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (answer.status === 429) {
            let code = "unparsed";
            try {
              code = JSON.parse(answer.body).error?.code ?? "none";
            } catch {
              // counted as unparsed
            }
            refusals.set(code, (refusals.get(code) ?? 0) + 1);
          }
        }
      };
      try {
        await Promise.all(Array.from({ length: concurrency }, worker));
      } finally {
        agent.destroy();
      }
    }),
  );
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  return { sent, statuses, refusals, elapsedS };
}

/**
 * The verdict on one burst: `admitted` requests reached the upstream; the bucket starts full at
 * `limit` and refills limit/60 per second, so at most limit + floor(limit · elapsedS / 60) may pass
 * within the burst (`allowed`). ratio: admitted ÷ allowed; rawRatio: admitted ÷ limit.
 */
export function admissionVerdict({ admitted, limit, elapsedS }) {
  const allowed = limit + Math.floor((limit * elapsedS) / 60);
  return { admitted, limit, allowed, ratio: admitted / allowed, rawRatio: admitted / limit };
}
