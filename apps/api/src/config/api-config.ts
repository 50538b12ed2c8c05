import {
  Env,
  LogFormat,
  LogLevelName,
  readEnum,
  readInt,
  readLogFormat,
  readLogLevel,
  readPort,
  readString,
} from '@pra-kit/shared';

export const SYNCHRONOUS_MODES = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;
export type SynchronousMode = (typeof SYNCHRONOUS_MODES)[number];

export interface ApiConfig {
  /** The SQLite database (DB_PATH). */
  readonly dbPath: string;
  /** Where the agent writes backups; read-only for the API, used by /status (BACKUP_DIR). */
  readonly backupDir: string;
  readonly port: number;
  readonly host: string;
  /** Longest accepted message, in characters (MAX_MESSAGE_LENGTH). */
  readonly maxMessageLength: number;
  /** SQLite `synchronous` for commits (DB_SYNCHRONOUS); FULL survives power loss. */
  readonly dbSynchronous: SynchronousMode;
  /** How long a write waits for a lock held by another connection (DB_BUSY_TIMEOUT_MS). */
  readonly busyTimeoutMs: number;
  /** May a missing database be created empty at start (API_CREATE_DB): auto = only without backups. */
  readonly createDb: 'auto' | 'always' | 'never';
  readonly logLevel: LogLevelName;
  /** LOG_FORMAT: text (make dev) or json (the cluster). */
  readonly logFormat: LogFormat;
}

/** Parses the API's configuration; throws ConfigError naming the variable on invalid input. */
export function parseApiConfig(env: Env): ApiConfig {
  return {
    dbPath: readString(env, 'DB_PATH', '/data/app.db'),
    backupDir: readString(env, 'BACKUP_DIR', '/backup'),
    port: readPort(env, 'API_PORT', 8080),
    host: readString(env, 'API_HOST', '0.0.0.0'),
    maxMessageLength: readInt(env, 'MAX_MESSAGE_LENGTH', 1000, { min: 1, max: 1_000_000 }),
    dbSynchronous: readEnum(env, 'DB_SYNCHRONOUS', 'FULL', SYNCHRONOUS_MODES),
    busyTimeoutMs: readInt(env, 'DB_BUSY_TIMEOUT_MS', 5000, { min: 0, max: 600_000 }),
    createDb: readEnum(env, 'API_CREATE_DB', 'auto', ['auto', 'always', 'never'] as const),
    logLevel: readLogLevel(env),
    logFormat: readLogFormat(env),
  };
}
