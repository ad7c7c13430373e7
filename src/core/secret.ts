// Secret: a credential that prints, logs and serialises as "[redacted]" everywhere.
// Sourced from an environment variable, a file (re-read on rotation) or inline (tests only).

import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { inspect } from "node:util";

export type SecretSource =
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "inline" };

/** Where secrets are read from; injected so tests and the admin API can restrict it. */
export interface SecretEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): string;
}

export const processSecretEnvironment: SecretEnvironment = {
  env: process.env,
  readFile: (path) => readFileSync(path, "utf8"),
};

export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretError";
  }
}

const REDACTED = "[redacted]";

export class Secret {
  readonly source: SecretSource;
  #value: string | undefined;
  /** Where it was last loaded from: a reload (rotation) reads the same environment. */
  #environment: SecretEnvironment | undefined;

  private constructor(source: SecretSource, value: string | undefined) {
    this.source = source;
    this.#value = value;
  }

  static inline(value: string): Secret {
    return new Secret({ kind: "inline" }, value);
  }

  static fromEnv(name: string): Secret {
    return new Secret({ kind: "env", name }, undefined);
  }

  static fromFile(path: string): Secret {
    return new Secret({ kind: "file", path }, undefined);
  }

  /** True once a value is held. */
  get loaded(): boolean {
    return this.#value !== undefined;
  }

  /**
   * Reads the value from its source (again, for rotation: by default from the environment it was
   * first loaded from). Throws SecretError naming the variable or file, never the value.
   */
  load(environment: SecretEnvironment = this.#environment ?? processSecretEnvironment): this {
    this.#environment = environment;
    const source = this.source;
    switch (source.kind) {
      case "inline":
        return this;
      case "env": {
        const value = environment.env[source.name];
        if (value === undefined || value === "")
          throw new SecretError(`environment variable ${source.name} is not set`);
        this.#value = value;
        return this;
      }
      case "file": {
        let text: string;
        try {
          text = environment.readFile(source.path);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
          throw new SecretError(`secret file ${source.path} cannot be read (${code})`);
        }
        const value = text.trim();
        if (value === "") throw new SecretError(`secret file ${source.path} is empty`);
        this.#value = value;
        return this;
      }
    }
  }

  /** The plain value, for the one place that sends it (an auth header). */
  reveal(): string {
    if (this.#value === undefined)
      throw new SecretError(`secret from ${describeSource(this.source)} was never loaded`);
    return this.#value;
  }

  /**
   * Whether `candidate` is the value, in constant time, lengths included: both sides are hashed
   * (sha256) and the digests compared with `timingSafeEqual`. The gateway calls it for client keys
   * and the admin API for its admin key. An unloaded or empty secret matches nothing.
   */
  matches(candidate: string): boolean {
    const value = this.#value;
    if (value === undefined) return false;
    const same = timingSafeEqual(sha256(value), sha256(candidate));
    return same && value !== "";
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

export function describeSource(source: SecretSource): string {
  switch (source.kind) {
    case "env":
      return `environment variable ${source.name}`;
    case "file":
      return `file ${source.path}`;
    case "inline":
      return "an inline value";
  }
}
