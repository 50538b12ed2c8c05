import { CronTime } from 'cron';
import {
  ConfigError,
  Env,
  readBool,
  readEnum,
  readInt,
  readDuration,
  readSizeOrShare,
  SizeOrShare,
  readOptionalString,
  readPort,
  readString,
  VerifyMode,
  LogFormat,
  LogLevelName,
  readLogFormat,
  readLogLevel,
  Redactor,
} from '@pra-kit/shared';
import type { AutoRestoreMode } from '../core/auto-restore';
import type { RetentionPolicy } from '../core/retention.policy';
import type { OffsiteSettings } from '../offsite/offsite.factory';

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
  /** BACKUP_AUTO_RESTORE: at start, restore the newest point when the database is missing. */
  readonly autoRestore: AutoRestoreMode;
  /** BACKUP_VERIFY_RESTORE_SCHEDULE: when to test a restore of the newest point; null: off. */
  readonly restoreTestSchedule: string | null;
  readonly logLevel: LogLevelName;
  /** LOG_FORMAT: text (make dev) or json (the cluster). */
  readonly logFormat: LogFormat;
  /** Offsite copies to S3/MinIO; null when S3_BUCKET is unset (off). */
  readonly offsite: OffsiteSettings | null;
  /** The built console (CONSOLE_DIR); undefined: found beside main.js or in dist/apps/console. */
  readonly consoleDir: string | undefined;
  /** Where the drill writes its reports (DRILL_REPORTS_DIR), listed by GET /drills; undefined: none. */
  readonly drillReportsDir: string | undefined;
  /** Continuous replication of the WAL (serve only: a one-shot command never follows it). */
  readonly replication: ReplicationConfig;
  /** BACKUP_RPO_OBJECTIVE: what the newest restorable instant's age is compared with (seconds). */
  readonly rpoObjectiveSeconds: number;
  /** BACKUP_MIN_FREE: free space retention keeps on the backup volume (10% by default). */
  readonly minFree: SizeOrShare;
}

export interface ReplicationConfig {
  /** BACKUP_REPLICATION=on|off (on by default: the sidecar and make dev). */
  readonly enabled: boolean;
  /** BACKUP_SYNC_INTERVAL: a committed transaction is on the backup volume within it. */
  readonly syncIntervalMs: number;
  /** BACKUP_PITR_WINDOW: how far back any instant can be restored (segments older are pruned). */
  readonly windowMs: number;
}

/**
 * Defaults sized for the 200Mi `pra-backup` volume: a workshop database is well under 1 MB, and a
 * 1M-row database is ~77 MB, so at most a couple of the largest backups fit; the GFS tiers stay
 * small and `BACKUP_KEEP_LAST` does most of the work. Raise them with a bigger volume.
 */
export const DEFAULT_RETENTION: RetentionPolicy = { keepLast: 30, hourly: 24, daily: 7, weekly: 4 };

/**
 * Offsite retention is longer: a bucket has room, and it is the copy that survives the loss of the
 * cluster. Two days of hourly points, a month of daily ones, a quarter of weekly ones.
 */
export const DEFAULT_OFFSITE_RETENTION: RetentionPolicy = { keepLast: 48, hourly: 48, daily: 30, weekly: 12 };

/** A restore test a day, at 03:30 UTC, away from the hour's backups (make dev: every hour). */
export const DEFAULT_RESTORE_TEST_SCHEDULE = '0 30 3 * * *';

/** Parses the agent's configuration; throws ConfigError naming the variable on invalid input. */
export function parseAgentConfig(env: Env): AgentConfig {
  const replication = parseReplication(env);
  // With replication, snapshots are only the starting points of the replay: hourly is enough (the
  // RPO is the sync interval). Without it, each snapshot is a restore point: every minute.
  const schedule = readString(env, 'BACKUP_SCHEDULE', replication.enabled ? '0 0 * * * *' : '0 * * * * *');
  validateCron('BACKUP_SCHEDULE', schedule);
  const restoreTest = readString(env, 'BACKUP_VERIFY_RESTORE_SCHEDULE', DEFAULT_RESTORE_TEST_SCHEDULE);
  if (!/^off$/i.test(restoreTest)) validateCron('BACKUP_VERIFY_RESTORE_SCHEDULE', restoreTest);
  const token = readOptionalString(env, 'BACKUP_TOKEN');
  if (token !== undefined && token.length < 16) {
    throw new ConfigError('BACKUP_TOKEN', 'must be at least 16 characters (or unset for no auth)');
  }
  return {
    dbPath: readString(env, 'DB_PATH', '/data/app.db'),
    backupDir: readString(env, 'BACKUP_DIR', '/backup'),
    port: readPort(env, 'AGENT_PORT', 8081),
    host: readString(env, 'AGENT_HOST', '0.0.0.0'),
    schedule,
    verify: readEnum<VerifyMode>(env, 'BACKUP_VERIFY', 'quick', ['quick', 'full']),
    token,
    retention: readRetention(env, 'BACKUP_KEEP_', DEFAULT_RETENTION),
    // With replication, the first chain's base snapshot is the backup taken at start.
    backupOnStart: readBool(env, 'BACKUP_ON_START', !replication.enabled),
    autoRestore: readEnum<AutoRestoreMode>(env, 'BACKUP_AUTO_RESTORE', 'off', ['off', 'latest']),
    restoreTestSchedule: /^off$/i.test(restoreTest) ? null : restoreTest,
    logLevel: readLogLevel(env),
    logFormat: readLogFormat(env),
    offsite: parseOffsite(env),
    consoleDir: readOptionalString(env, 'CONSOLE_DIR'),
    drillReportsDir: readOptionalString(env, 'DRILL_REPORTS_DIR'),
    replication,
    minFree: readSizeOrShare(env, 'BACKUP_MIN_FREE', { percent: 10 }),
    rpoObjectiveSeconds:
      readDuration(env, 'BACKUP_RPO_OBJECTIVE', replication.enabled ? 1000 : 60_000, {
        minMs: 1000,
        maxMs: 30 * 86_400_000,
      }) / 1000,
  };
}

function parseReplication(env: Env): ReplicationConfig {
  return {
    enabled: readEnum(env, 'BACKUP_REPLICATION', 'on', ['on', 'off'] as const) === 'on',
    syncIntervalMs: readDuration(env, 'BACKUP_SYNC_INTERVAL', 1000, { minMs: 100, maxMs: 600_000 }),
    windowMs: readDuration(env, 'BACKUP_PITR_WINDOW', 24 * 3_600_000, {
      minMs: 60_000,
      maxMs: 366 * 86_400_000,
    }),
  };
}

/**
 * What the agent's logs must never show: the bearer token, the S3 secret key and the encryption
 * key (as given: base64 or hex, and the other spelling).
 */
export function secretsRedactor(config: Pick<AgentConfig, 'token' | 'offsite'>): Redactor {
  const s3 = config.offsite?.s3;
  const key = s3?.encryptionKey;
  return new Redactor([
    config.token,
    s3?.secretAccessKey,
    key?.toString('base64').replace(/=+$/, ''),
    key?.toString('hex'),
  ]);
}

/** `<prefix>LAST` (at least 1: the newest backup always stays), `<prefix>HOURLY`, `_DAILY`, `_WEEKLY`. */
function readRetention(env: Env, prefix: string, defaults: RetentionPolicy): RetentionPolicy {
  const count = (name: string, fallback: number) =>
    readInt(env, `${prefix}${name}`, fallback, { min: 0, max: 100_000 });
  return {
    keepLast: readInt(env, `${prefix}LAST`, defaults.keepLast, { min: 1, max: 100_000 }),
    hourly: count('HOURLY', defaults.hourly),
    daily: count('DAILY', defaults.daily),
    weekly: count('WEEKLY', defaults.weekly),
  };
}

/** Offsite copies: on when S3_BUCKET is set. Secrets are never echoed in error messages. */
function parseOffsite(env: Env): OffsiteSettings | null {
  const bucket = readOptionalString(env, 'S3_BUCKET');
  if (bucket === undefined) return null;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new ConfigError(
      'S3_BUCKET',
      `must be a bucket name (3-63 of a-z, 0-9, '.', '-'), got ${JSON.stringify(bucket)}`,
    );
  }
  const endpoint = readOptionalString(env, 'S3_ENDPOINT');
  // Not echoed: the value holds a password. (It would be shown by /ready and in every S3 error.)
  if (endpoint !== undefined && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(endpoint)) {
    throw new ConfigError(
      'S3_ENDPOINT',
      'must not contain credentials (user:password@host): give them in S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY',
    );
  }
  if (endpoint !== undefined && !isHttpUrl(endpoint)) {
    throw new ConfigError(
      'S3_ENDPOINT',
      `must be an http:// or https:// URL (e.g. http://minio:9000), got ${JSON.stringify(endpoint)}`,
    );
  }
  const region = readString(env, 'S3_REGION', 'us-east-1');
  if (!/^[a-z0-9-]{2,40}$/.test(region)) {
    throw new ConfigError('S3_REGION', `must be a region name like us-east-1, got ${JSON.stringify(region)}`);
  }
  const accessKeyId = readOptionalString(env, 'S3_ACCESS_KEY_ID');
  const secretAccessKey = readOptionalString(env, 'S3_SECRET_ACCESS_KEY');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY';
    throw new ConfigError(
      missing,
      'must be set with the other S3 credential (or both unset: default AWS credential chain)',
    );
  }
  const retryBaseMs = readInt(env, 'BACKUP_OFFSITE_RETRY_BASE_MS', 1_000, { min: 10, max: 3_600_000 });
  const retryMaxMs = readInt(env, 'BACKUP_OFFSITE_RETRY_MAX_MS', 300_000, {
    min: retryBaseMs,
    max: 86_400_000,
  });
  return {
    s3: {
      ...(endpoint !== undefined ? { endpoint: endpoint.replace(/\/+$/, '') } : {}),
      region,
      bucket,
      prefix: readPrefix(env),
      ...(accessKeyId !== undefined ? { accessKeyId, secretAccessKey } : {}),
      forcePathStyle: readBool(env, 'S3_FORCE_PATH_STYLE', false),
      createBucket: readBool(env, 'S3_CREATE_BUCKET', true),
      encryptionKey: readEncryptionKey(env),
    },
    retention: readRetention(env, 'BACKUP_OFFSITE_KEEP_', DEFAULT_OFFSITE_RETENTION),
    retryBaseMs,
    retryMaxMs,
    waitSeconds: readInt(env, 'BACKUP_OFFSITE_WAIT_SECONDS', 120, { min: 0, max: 86_400 }),
    syncIntervalMs: readDuration(env, 'S3_SYNC_INTERVAL', 10_000, { minMs: 1000, maxMs: 3_600_000 }),
  };
}

/** '' or a relative key prefix ending with '/': `pra` and `pra/` both mean objects `pra/app-....db`. */
function readPrefix(env: Env): string {
  const prefix = readString(env, 'S3_PREFIX', '');
  if (prefix === '') return '';
  if (
    prefix.startsWith('/') ||
    prefix.split('/').some((part) => part === '.' || part === '..') ||
    !/^[\w./-]+$/.test(prefix)
  ) {
    throw new ConfigError(
      'S3_PREFIX',
      `must be a relative key prefix like pra/ (letters, digits, _ . - /), got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** 32 bytes, as 64 hex characters or base64 (`openssl rand -base64 32`). */
function readEncryptionKey(env: Env): Buffer | null {
  const text = readOptionalString(env, 'S3_ENCRYPTION_KEY');
  if (text === undefined) return null;
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : null;
  if (bytes && bytes.length === 32 && bytes.toString('base64').replace(/=+$/, '') === text.replace(/=+$/, ''))
    return bytes;
  throw new ConfigError(
    'S3_ENCRYPTION_KEY',
    `must be a 32-byte key, as 64 hex characters or base64 (openssl rand -base64 32); the value given (${text.length} characters) is not`,
  );
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function validateCron(variable: string, expression: string): void {
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new ConfigError(
      variable,
      `must be a cron expression of 5 or 6 fields, got ${JSON.stringify(expression)}`,
    );
  }
  try {
    new CronTime(expression);
  } catch (err) {
    throw new ConfigError(variable, `is not a valid cron expression (${(err as Error).message})`);
  }
}
