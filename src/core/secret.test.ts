import { Writable } from "node:stream";
import { inspect } from "node:util";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { Secret, SecretError } from "./secret.js";

const value = "sk-live-very-secret-1234";

describe("Secret", () => {
  const secret = Secret.inline(value);

  it("stays [redacted] through String(), template literals, JSON.stringify and util.inspect", () => {
    expect(String(secret)).toBe("[redacted]");
    expect(`${secret}`).toBe("[redacted]");
    expect(`key=${secret}`).toBe("key=[redacted]");
    expect(JSON.stringify({ apiKey: secret })).toBe('{"apiKey":"[redacted]"}');
    expect(inspect({ nested: { secret } }, { depth: 5 })).not.toContain(value);
    expect(inspect(secret)).toBe("[redacted]");
    expect(Object.keys(secret)).not.toContain("value");
  });

  it("stays [redacted] in a pino log line", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: "info" }, sink);
    logger.info({ secret, config: { api_key: secret } }, "loaded %s", secret);
    logger.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.join("")).toContain("[redacted]");
    expect(lines.join("")).not.toContain(value);
  });

  it("reveals the value only on request", () => {
    expect(secret.reveal()).toBe(value);
    expect(secret.matches(value)).toBe(true);
    expect(secret.matches("sk-live-very-secret-1235")).toBe(false);
  });

  it("matches only the exact value, whatever the candidate's length", () => {
    expect(secret.matches(value)).toBe(true);
    expect(secret.matches("sk-live-very-secret-4321")).toBe(false); // same length, different
    expect(secret.matches(value.slice(0, -1))).toBe(false); // a prefix
    expect(secret.matches(`${value}5`)).toBe(false); // longer
    expect(secret.matches("x")).toBe(false);
    expect(secret.matches(value.repeat(100))).toBe(false);
    expect(secret.matches("")).toBe(false);
  });

  it("an empty or unloaded secret matches nothing, not even an empty candidate", () => {
    expect(Secret.inline("").matches("")).toBe(false);
    expect(Secret.inline("").matches("anything")).toBe(false);
    expect(Secret.fromEnv("NEVER_LOADED").matches("")).toBe(false);
    expect(Secret.fromEnv("NEVER_LOADED").matches("anything")).toBe(false);
  });

  it("compares multi-byte values by their UTF-8 bytes", () => {
    const unicode = Secret.inline("clé-ünïcødé-🔑");
    expect(unicode.matches("clé-ünïcødé-🔑")).toBe(true);
    expect(unicode.matches("cle-unicode-🔑")).toBe(false);
  });

  it("loads from an environment variable, naming the variable (never a value) when missing", () => {
    const fromEnv = Secret.fromEnv("OPENAI_API_KEY");
    expect(() => fromEnv.load({ env: {}, readFile: () => "" })).toThrow(
      new SecretError("environment variable OPENAI_API_KEY is not set"),
    );
    fromEnv.load({ env: { OPENAI_API_KEY: value }, readFile: () => "" });
    expect(fromEnv.reveal()).toBe(value);
  });

  it("loads from a file and re-reads it on rotation", () => {
    let contents = "first-key\n";
    const environment = { env: {}, readFile: () => contents };
    const fromFile = Secret.fromFile("/run/secrets/key").load(environment);
    expect(fromFile.reveal()).toBe("first-key");
    contents = "second-key";
    fromFile.load(environment);
    expect(fromFile.reveal()).toBe("second-key");
  });

  // a rotation (RemoteSessionActor on a 401, the admin session rebuild) calls load() with no argument:
  // it must read the environment the secret was loaded from, not process.env or the real disk
  it("a reload without an environment reads the one it was loaded from", () => {
    const env: Record<string, string> = { ROTATING_KEY: "key-1" };
    const fromEnv = Secret.fromEnv("ROTATING_KEY").load({ env, readFile: () => "" });
    env.ROTATING_KEY = "key-2";
    fromEnv.load();
    expect(fromEnv.reveal()).toBe("key-2");
    let contents = "file-key-1";
    const fromFile = Secret.fromFile("/nowhere/on/this/disk").load({ env: {}, readFile: () => contents });
    contents = "file-key-2";
    fromFile.load();
    expect(fromFile.reveal()).toBe("file-key-2");
  });
});
