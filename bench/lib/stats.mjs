// Small statistics helpers for the benchmarks.

/** The q-quantile (0..1) of numbers, by the nearest-rank method on a sorted copy. */
export function quantile(values, q) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

export const median = (values) => quantile(values, 0.5);

/** Rounds for reports: 3 significant digits below 100, integers above. */
export function round(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return value ?? null;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Number(value.toPrecision(3));
}

/** Memory, in MiB (what /proc and the kernel count in). */
export const mib = (bytes) => round(bytes / (1024 * 1024));

/** A file size, in MB as the issue speaks of "77 MB". */
export const megabytes = (bytes) => `${round(bytes / 1e6)} MB`;
