// Number formats of the benchmark tables (markdown on stdout) and progress lines (stderr).

export const formatInt = (value) => Math.round(value).toLocaleString("en-US");
export const formatMib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;
export const formatRatio = (value) => `${(100 * value).toFixed(1)} %`;

/** Milliseconds with `digits` decimals: "12.35 ms". */
export const msFormat = (digits) => (value) => `${value.toFixed(digits)} ms`;

/** `format`, or "—" where the value is not a finite number (nothing measured there). */
export const orDash = (format) => (value) => (Number.isFinite(value) ? format(value) : "—");
