// The soak run's remote upstream: the testkit's mock OpenAI provider (dist/testkit), in this
// process, answering each request by the upstream model it names (soak-config.js's
// remoteDeployments): completions, 5xx, 429, stalls and cut streams.

import {
  complete,
  dropMidStream,
  rateLimited,
  serverError,
  stallBeforeFirstByte,
  stallMidStream,
  startMockProvider,
} from "../../dist/testkit/index.js";

/** Upstream model → the behaviour of every request for it. */
const behaviours = {
  ok: () => complete({ content: ["Hello", " soak", " world"] }),
  "server-error": (request) => serverError(request.arrivedAt % 2 === 0 ? 500 : 503),
  "rate-limited": () => rateLimited(1),
  "stall-before-first-byte": () => stallBeforeFirstByte(),
  "stall-mid-stream": () => stallMidStream(2),
  "drop-before-content": () => dropMidStream(0),
  "drop-mid-stream": () => dropMidStream(2),
};

function behaviourFor(request) {
  const model = typeof request.body === "object" && request.body !== null ? request.body.model : undefined;
  return (behaviours[model] ?? behaviours.ok)(request);
}

/**
 * Starts the mock upstream on 127.0.0.1; `forget()` drops the requests it has recorded (the
 * provider keeps every request for tests; a soak would grow this process without it).
 */
export async function startSoakUpstream() {
  const provider = await startMockProvider({ host: "127.0.0.1" });
  provider.setDefault(behaviourFor);
  let forgotten = 0;
  return {
    url: provider.url,
    /** Requests that reached the upstream since it started. */
    get arrivals() {
      return forgotten + provider.arrivals;
    },
    /** Open connections that have carried a request (a connection never used is not counted). */
    get openConnections() {
      return provider.openConnections;
    },
    forget() {
      // reset() also puts the default back to a plain completion: set ours again at once
      forgotten += provider.arrivals;
      provider.reset();
      provider.setDefault(behaviourFor);
    },
    close: () => provider.close(),
  };
}
