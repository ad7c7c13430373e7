// Tool call ids for Gemini answers (docs/providers.md, `runtime = "gemini"`, "Thought signatures"):
// Gemini sends no call ids but a `thoughtSignature` that Gemini 3 wants back with each call, so
// the decoder makes `call_<12 [a-z0-9]>` ids and appends `__ts__<signature as base64url>` when
// there is one. A client that keeps only a call's id, name and arguments still sends it back.

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const RANDOM_CHARS = 12;
const SIGNATURE_MARK = "__ts__";
const signatureInId = /__ts__([A-Za-z0-9_-]+)$/;

/** `call_` and 12 characters of [a-z0-9] from `random` (0 ≤ value < 1, e.g. Math.random). */
export function randomToolCallId(random: () => number): string {
  let id = "call_";
  for (let k = 0; k < RANDOM_CHARS; k++) {
    const index = Math.min(ALPHABET.length - 1, Math.max(0, Math.floor(random() * ALPHABET.length)));
    id += ALPHABET[index];
  }
  return id;
}

/** A new call id, carrying `signature` (base64) as unpadded base64url when there is one. */
export function toolCallIdWithSignature(random: () => number, signature: string | undefined): string {
  const id = randomToolCallId(random);
  if (signature === undefined || signature === "") return id;
  const encoded = signature.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return encoded === "" ? id : `${id}${SIGNATURE_MARK}${encoded}`;
}

/** The base64 signature an id made by `toolCallIdWithSignature` carries, or undefined when none. */
export function signatureFromToolCallId(id: string): string | undefined {
  const encoded = signatureInId.exec(id)?.[1];
  if (encoded === undefined) return undefined;
  const base64 = encoded.replace(/-/g, "+").replace(/_/g, "/");
  return base64 + "=".repeat((4 - (base64.length % 4)) % 4);
}
