import { CronTime } from 'cron';
import {
  ConfigError,
  Env,
  readBool,
  readEnum,
  readInt,
  readOptionalString,
  readPort,
  readString,
  VerifyMode,
} from '@pra-kit/shared';

export const LOG_LEVELS = ['debug', 'log', 'warn', 'error'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export interface RetentionPolicy {
  /** The N newest backups are always kept. */
  readonly keepLast: number;
  /** Newest backup of each of the last N hours / days / ISO weeks (UTC). */
  readonly hourly: number;
  readonly daily: number;
  readonly weekly: number;
}

export interface AgentConfig {
  readonly dbPath: string;
  readonly backupDir: string;
  readonly port: number;
  readonly host: string;
  /** Cron expression; 5 fields (minute precision) or 6 (with seconds). */
  readonly schedule: string;
  readonly verify: VerifyMode;
  /** Bearer token for POST /backups and POST /restore/:id; undefined = no auth (local only). */
  readonly token: string | undefined;
  readonly retention: RetentionPolicy;
  /** Take a backup as soon as the agent starts (BACKUP_ON_START). */
  readonly backupOnStart: boolean;
  readonly logLevel: LogLevelName;
}

/**
 * Defaults sized for the 200Mi `pra-backup` volume: a workshop database is well under 1 MB, and a
 * 1M-row database is ~77 MB, so at most a couple of the largest backups fit; the GFS tiers stay
 * small and `BACKUP_KEEP_LAST` does most of the work. Raise them with a bigger volume.
 */
export const DEFAULT_RETENTION: RetentionPolicy = { keepLast: 30, hourly: 24, daily: 7, weekly: 4 };

/** Parses the agent's configuration; throws ConfigError naming the variable on invalid input. */
export function parseAgentConfig(env: Env): AgentConfig {
  const schedule = readString(env, 'BACKUP_SCHEDULE', '0 * * * * *');
  validateCron(schedule);
  const token = readOptionalString(env, 'BACKUP_TOKEN');
  if (token !== undefined && token.length < 16) {
    throw new ConfigError('BACKUP_TOKEN', 'must be at least 16 characters (or unset for no auth)');
  }
  const count = (name: string, fallback: number) => readInt(env, name, fallback, { min: 0, max: 100_000 });
  return {
    dbPath: readString(env, 'DB_PATH', '/data/app.db'),
    backupDir: readString(env, 'BACKUP_DIR', '/backup'),
    port: readPort(env, 'AGENT_PORT', 8081),
    host: readString(env, 'AGENT_HOST', '0.0.0.0'),
    schedule,
    verify: readEnum<VerifyMode>(env, 'BACKUP_VERIFY', 'quick', ['quick', 'full']),
    token,
    retention: {
      keepLast: readInt(env, 'BACKUP_KEEP_LAST', DEFAULT_RETENTION.keepLast, { min: 1, max: 100_000 }),
      hourly: count('BACKUP_KEEP_HOURLY', DEFAULT_RETENTION.hourly),
      daily: count('BACKUP_KEEP_DAILY', DEFAULT_RETENTION.daily),
      weekly: count('BACKUP_KEEP_WEEKLY', DEFAULT_RETENTION.weekly),
    },
    backupOnStart: readBool(env, 'BACKUP_ON_START', true),
    logLevel: readEnum(env, 'LOG_LEVEL', 'log', LOG_LEVELS),
  };
}

function validateCron(expression: string): void {
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new ConfigError('BACKUP_SCHEDULE', `must be a cron expression of 5 or 6 fields, got ${JSON.stringify(expression)}`);
  }
  try {
    new CronTime(expression);
  } catch (err) {
    throw new ConfigError('BACKUP_SCHEDULE', `is not a valid cron expression (${(err as Error).message})`);
  }
}
