// The gateway's hook for node-to-node paths (`/internal/`, docs/cluster.md, "Forwarding"): the
// serving layer's HTTP gateway calls such a handler, the cluster layer provides it. Both sides
// program against these types, which is why they live below both.

import type { IncomingMessage, ServerResponse } from "node:http";

/** What the gateway's bounded body reader answers. */
export type BodyResult =
  | { readonly kind: "ok"; readonly bytes: Buffer }
  | { readonly kind: "too_large" }
  | { readonly kind: "aborted" };

/** The handler of every `/internal/` path, given the gateway's bounded body reader. */
export type InternalRoutes = (
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  io: { readBody(request: IncomingMessage): Promise<BodyResult> },
) => Promise<void>;
