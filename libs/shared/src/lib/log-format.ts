import type { Env, LogFormat } from './env';

/**
 * One log line, the same for both apps and for the agent's one-shot commands: with LOG_FORMAT=json
 * one JSON object per line, `{"time","level","context","message"}` plus `request_id` for a line
 * logged while serving an HTTP request and `stack` for an error with one. Framework-free: the Nest
 * logger (../nest/app-logger.ts) and the agent's CLI both format through here.
 */

/** JSON levels, the names log stacks expect: Nest's `log` is `info`, `verbose` is `debug`. */
export type JsonLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export function jsonLevelOf(nestLevel: string): JsonLevel {
  switch (nestLevel) {
    case 'log':
      return 'info';
    case 'verbose':
    case 'debug':
      return 'debug';
    case 'warn':
    case 'error':
    case 'fatal':
      return nestLevel;
    default:
      return 'info';
  }
}

export interface LogRecord {
  readonly time: string;
  readonly level: JsonLevel;
  readonly context?: string;
  readonly message: unknown;
  readonly request_id?: string;
  readonly stack?: string;
  readonly pid: number;
}

export function logRecord(fields: {
  level: string;
  message: unknown;
  context?: string;
  requestId?: string;
  stack?: unknown;
  at?: Date;
}): LogRecord {
  return {
    time: (fields.at ?? new Date()).toISOString(),
    level: jsonLevelOf(fields.level),
    ...(fields.context ? { context: fields.context } : {}),
    message: fields.message,
    ...(fields.requestId ? { request_id: fields.requestId } : {}),
    ...(typeof fields.stack === 'string' && fields.stack !== '' ? { stack: fields.stack } : {}),
    pid: process.pid,
  };
}

/** The environment variables whose values must never appear in a log line. */
export const SECRET_VARIABLES = ['BACKUP_TOKEN', 'S3_SECRET_ACCESS_KEY', 'S3_ENCRYPTION_KEY'] as const;

/**
 * Replaces every occurrence of a secret (the bearer token, the S3 secret key, the encryption key)
 * with `[REDACTED]`. The code never logs them on purpose; this is the net under it, for an error
 * message from a library that would quote one. Values shorter than 4 characters are not secrets
 * worth the false positives.
 */
export class Redactor {
  private readonly needles: string[];

  constructor(secrets: readonly (string | undefined | null)[]) {
    const values = secrets.filter((s): s is string => typeof s === 'string' && s.trim().length >= 4);
    // The raw value, and its JSON-escaped form (how it appears inside a JSON line); longest first,
    // so a secret containing another one is replaced whole.
    const forms = values.flatMap((v) => [v.trim(), JSON.stringify(v.trim()).slice(1, -1)]);
    this.needles = [...new Set(forms)].sort((a, b) => b.length - a.length);
  }

  static fromEnv(env: Env): Redactor {
    return new Redactor(SECRET_VARIABLES.map((name) => env[name]));
  }

  redact(text: string): string {
    let out = text;
    for (const needle of this.needles) if (out.includes(needle)) out = out.split(needle).join('[REDACTED]');
    return out;
  }
}

/** Formats one line (without the newline) as LOG_FORMAT says, redacted. */
export function formatLogLine(
  format: LogFormat,
  redactor: Redactor,
  fields: { level: string; message: string; context?: string; stack?: string; at?: Date },
): string {
  if (format === 'json') return redactor.redact(JSON.stringify(logRecord(fields)));
  const at = (fields.at ?? new Date()).toISOString();
  const level = fields.level === 'log' ? '' : `${fields.level.toUpperCase()} `;
  const context = fields.context ? `[${fields.context}] ` : '';
  const stack = fields.stack ? `\n${fields.stack}` : '';
  return redactor.redact(`[${at}] ${level}${context}${fields.message}${stack}`);
}

/**
 * With LOG_FORMAT=json, Node's own warnings (a deprecation, a library's notice) become JSON lines
 * too, instead of Node's multi-line text on stderr, which a log stack would split into records.
 */
export function logProcessWarnings(format: LogFormat, redactor: Redactor): void {
  if (format !== 'json') return;
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    process.stderr.write(
      `${formatLogLine('json', redactor, {
        level: 'warn',
        context: 'Node',
        message: `${warning.name}: ${warning.message}`.replace(/\s*\n\s*/g, ' '),
      })}\n`,
    );
  });
}
