// The package's version, read once from its package.json (one directory above src/ and dist/):
// heartbeats, `rakka --version` and the admin API report it.

import { readFileSync } from "node:fs";

export const packageVersion: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
