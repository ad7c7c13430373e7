import { describe, expect, it } from "vitest";
import type { Logger } from "../actor/index.js";
import { StoreAvailability } from "./store-availability.js";

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (_: object, message: string) => lines.push(`${level} ${message}`);
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

describe("StoreAvailability", () => {
  it("logs and tells its listeners once per change of state", () => {
    const logger = recordingLogger();
    const availability = new StoreAvailability(logger);
    const states: string[] = [];
    availability.onChange((state) => states.push(state));
    availability.markAvailable();
    availability.markUnavailable("connection closed");
    availability.markUnavailable("heartbeat failed");
    availability.markAvailable();
    availability.markAvailable();
    expect(states).toEqual(["unavailable", "available"]);
    expect(logger.lines).toEqual([
      "warn cluster store unavailable: Redis cannot be reached",
      "info cluster store available again",
    ]);
  });

  it("after close, the connection's own close at shutdown changes nothing", () => {
    const logger = recordingLogger();
    const availability = new StoreAvailability(logger);
    availability.close();
    availability.markUnavailable("connection closed");
    expect(availability.state).toBe("available");
    expect(logger.lines).toEqual([]);
  });

  it("tells connection failures from the store's own refusals", () => {
    const availability = new StoreAvailability(recordingLogger());
    expect(availability.isConnectionFailure(new Error("Connection is closed."))).toBe(true);
    expect(availability.isConnectionFailure(new Error("Command timed out"))).toBe(true);
    expect(
      availability.isConnectionFailure(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })),
    ).toBe(true);
    expect(availability.isConnectionFailure(new RangeError("usd must be a finite USD amount"))).toBe(false);
    expect(
      availability.isConnectionFailure(Object.assign(new Error("ERR bad script"), { name: "ReplyError" })),
    ).toBe(false);
    expect(
      availability.isConnectionFailure(Object.assign(new Error("LOADING dataset"), { name: "ReplyError" })),
    ).toBe(true);
  });
});
