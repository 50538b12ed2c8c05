/**
 * Pure helpers for reading configuration from environment variables. Each app parses its whole
 * config once at boot with these; an invalid value stops the app with one message that names the
 * variable, the value and what is expected.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function readString(env: Env, name: string, fallback: string): string {
  return raw(env, name) ?? fallback;
}

export function readOptionalString(env: Env, name: string): string | undefined {
  return raw(env, name);
}

export function readInt(
  env: Env,
  name: string,
  fallback: number,
  range: { min?: number; max?: number } = {},
): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) {
    throw new ConfigError(name, `must be an integer, got ${JSON.stringify(value)}`);
  }
  const n = Number(value);
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
  if (n < min || n > max) {
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  }
  return n;
}

export function readPort(env: Env, name: string, fallback: number): number {
  return readInt(env, name, fallback, { min: 0, max: 65535 });
}

export function readEnum<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!match) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return match;
}

export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(value)}`);
}

/** LOG_LEVEL, the same for both apps: each level includes the ones after it. */
export const LOG_LEVELS = ['debug', 'log', 'warn', 'error'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export function readLogLevel(env: Env): LogLevelName {
  return readEnum(env, 'LOG_LEVEL', 'log', LOG_LEVELS);
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration: a number with a unit (`500ms`, `1s`, `10m`, `24h`, `7d`) or a plain number of
 * seconds. Returns milliseconds.
 */
export function readDuration(
  env: Env,
  name: string,
  fallbackMs: number,
  range: { minMs?: number; maxMs?: number } = {},
): number {
  const value = raw(env, name);
  if (value === undefined) return fallbackMs;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(value);
  if (!match) {
    throw new ConfigError(
      name,
      `must be a duration like 500ms, 1s, 10m or 24h, got ${JSON.stringify(value)}`,
    );
  }
  const ms = Math.round(Number(match[1]) * DURATION_UNITS_MS[(match[2] ?? 's').toLowerCase()]);
  const { minMs = 0, maxMs = Number.MAX_SAFE_INTEGER } = range;
  if (ms < minMs || ms > maxMs) {
    throw new ConfigError(
      name,
      `must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}, got ${value}`,
    );
  }
  return ms;
}

/** 1500 -> "1.5s", 3600000 -> "1h". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size) return `${Math.round((ms / size) * 10) / 10}${unit}`;
  }
  return `${ms}ms`;
}

/** A size or a share of a volume: `10%`, `50MB`, `1GiB`, `52428800` (bytes). */
export type SizeOrShare = { readonly percent: number } | { readonly bytes: number };

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

export function readSizeOrShare(env: Env, name: string, fallback: SizeOrShare): SizeOrShare {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const share = /^(\d+(?:\.\d+)?)\s*%$/.exec(value);
  if (share && Number(share[1]) <= 90) return { percent: Number(share[1]) };
  const size = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value);
  const unit = size ? SIZE_UNITS[size[2].toLowerCase()] : undefined;
  if (!size || unit === undefined) {
    throw new ConfigError(
      name,
      `must be a share of the volume (10%, at most 90%) or a size (50MB, 1GiB, bytes), got ${JSON.stringify(value)}`,
    );
  }
  return { bytes: Math.round(Number(size[1]) * unit) };
}

/**
 * LOG_FORMAT, the same for both apps: `text` (Nest's readable lines, the default, used by make
 * dev) or `json` (one JSON object per line, for a cluster's log stack; the manifests set it).
 */
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function readLogFormat(env: Env): LogFormat {
  return readEnum(env, 'LOG_FORMAT', 'text', LOG_FORMATS);
}
