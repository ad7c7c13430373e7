// The egress guard at connect time: an undici connector that checks each socket's resolved
// address once it has connected, so DNS names and DNS rebinding are covered. RemoteSessionActor
// gives it to the pools of deployments applied through the admin API (see core/egress-guard.ts).

import { buildConnector } from "undici";
import { connectRefusal, type EgressGuard } from "../core/egress-guard.js";

/** The connect failure of a refused address; the upstream call turns it into a 502 network_error. */
export class EgressRefusedError extends Error {
  readonly code = "EGRESS_REFUSED";
  readonly address: string | undefined;

  constructor(address: string | undefined) {
    super(connectRefusal(address));
    this.name = "EgressRefusedError";
    this.address = address;
  }
}

/**
 * Wraps undici's own connector (`buildConnector(options)`, what a Pool builds by default): a
 * socket whose `remoteAddress` the guard blocks, or that has none, is destroyed and the connect
 * fails with EgressRefusedError.
 */
export function guardedConnector(
  guard: EgressGuard,
  options: buildConnector.BuildOptions = {},
): buildConnector.connector {
  const connect = buildConnector(options);
  return (connectOptions, callback) => {
    connect(connectOptions, (error, socket) => {
      if (error !== null) {
        callback(error, null);
        return;
      }
      const address = socket.remoteAddress;
      if (address === undefined || guard.blocks(address)) {
        socket.destroy();
        callback(new EgressRefusedError(address), null);
        return;
      }
      callback(null, socket);
    });
  };
}
