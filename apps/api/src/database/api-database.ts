import Database, { Database as Db, Statement } from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { countEvents, migrate, STAMP_COMMIT_SQL } from '@pra-kit/shared';
import type { SynchronousMode } from '../config/api-config';
import { asDatabaseError, DatabaseUnavailableError } from './database.errors';

export interface ApiDatabaseOptions {
  readonly path: string;
  readonly synchronous: SynchronousMode;
  readonly busyTimeoutMs: number;
  /**
   * Whether a missing database may be created empty at start. `auto` (the default) creates one
   * only when there is no backup either: a fresh service. With backups present a missing file
   * means lost data, and an empty database would be served, then backed up as the "latest"
   * restore point. `backupCount` tells how many backups exist.
   */
  readonly createDb?: CreateDbMode;
  readonly backupCount?: () => number;
}

export type CreateDbMode = 'auto' | 'always' | 'never';

export interface Logger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface EventRow {
  readonly id: number;
  readonly ts: string;
  readonly message: string;
}

/** One open connection and the statements prepared on it. Replaced as a whole on reopen. */
export class Connection {
  readonly insertEvent: Statement<[string, string]>;
  /** Newest first, ids below a cursor: (before, limit). */
  readonly latestEvents: Statement<[number, number], EventRow>;
  readonly eventCount: Statement<[], { value: number }>;
  /** Records the commit time inside a write transaction (see STAMP_COMMIT_SQL). */
  readonly stampCommit: Statement<[number]>;

  constructor(readonly db: Db) {
    this.insertEvent = db.prepare('INSERT INTO events (ts, message) VALUES (?, ?)');
    this.latestEvents = db.prepare(
      'SELECT id, ts, message FROM events WHERE id < ? ORDER BY id DESC LIMIT ?',
    ) as Statement<[number, number], EventRow>;
    this.eventCount = db.prepare(`SELECT value FROM counters WHERE name = 'events'`) as Statement<
      [],
      { value: number }
    >;
    this.stampCommit = db.prepare(STAMP_COMMIT_SQL);
  }
}

interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

/**
 * The API's SQLite database: WAL, configurable `synchronous`, busy timeout, schema migrated once
 * at open.
 *
 * It guards against two ways of silently losing acknowledged writes:
 * - the file is deleted under the process (the data volume is lost): SQLite would keep writing to
 *   the unlinked inode. Every use checks the path still names the inode we opened; if not, requests
 *   get 503 until a file is back (restored), then the connection is reopened on it.
 * - the file is replaced by an offline restore (rename): the connection is reopened on the new file.
 * A missing file is created only at start (a fresh service), never at run time.
 */
export class ApiDatabase {
  private connection: Connection | null = null;
  private identity: FileIdentity | null = null;
  private lastFailure: string | null = null;

  constructor(
    private readonly options: ApiDatabaseOptions,
    private readonly logger: Logger,
  ) {}

  get path(): string {
    return this.options.path;
  }

  /** Opens at start. Never throws: a failure is logged, reported by /ready, and retried on use. */
  start(): void {
    try {
      const exists = identityOf(this.options.path) !== null;
      if (!exists) {
        const refusal = this.refuseToCreate();
        if (refusal) {
          this.lastFailure = refusal;
          this.logger.error(refusal);
          return;
        }
      }
      mkdirSync(dirname(this.options.path), { recursive: true });
      const rows = countEvents(this.open(true).db);
      this.logger.log(
        exists
          ? `opened ${this.options.path} (${rows} events, synchronous=${this.options.synchronous})`
          : `created an EMPTY database at ${this.options.path} (no file was there)`,
      );
    } catch (err) {
      this.fail(err);
    }
  }

  /** The current connection, reopened if the file was replaced. Throws DatabaseUnavailableError. */
  current(): Connection {
    let onDisk: FileIdentity | null;
    try {
      onDisk = identityOf(this.options.path);
    } catch (err) {
      throw this.fail(err); // EACCES, EIO...: not ours to hide
    }
    if (this.connection && onDisk && sameFile(onDisk, this.identity)) return this.connection;

    if (!onDisk) {
      this.closeQuietly();
      throw new DatabaseUnavailableError(
        'DATABASE_MISSING',
        this.lastFailure?.startsWith('refusing') === true
          ? this.lastFailure
          : `database file ${this.options.path} is missing (data volume lost?); restore a backup`,
      );
    }
    if (this.connection) {
      this.logger.warn(`${this.options.path} was replaced on disk (restored?); reopening it`);
      this.closeQuietly();
    }
    try {
      return this.open(false);
    } catch (err) {
      throw this.fail(err);
    }
  }

  /** Runs fn against the current connection; SQLite failures become 503 errors. */
  use<T>(fn: (c: Connection) => T): T {
    const c = this.current();
    try {
      return fn(c);
    } catch (err) {
      throw asDatabaseError(err);
    }
  }

  count(): number {
    return this.use((c) => c.eventCount.get()?.value ?? 0);
  }

  /** Readiness: open, readable and writable (takes and releases the write lock). */
  checkReady(): { ready: true } | { ready: false; code: string; reason: string } {
    try {
      this.use((c) => {
        c.eventCount.get();
        c.db.pragma('busy_timeout = 1000');
        try {
          c.db.exec('BEGIN IMMEDIATE; ROLLBACK');
        } finally {
          c.db.pragma(`busy_timeout = ${this.options.busyTimeoutMs}`);
        }
      });
      return { ready: true };
    } catch (err) {
      const e = asDatabaseError(err);
      if (e instanceof DatabaseUnavailableError) return { ready: false, code: e.code, reason: e.message };
      return { ready: false, code: 'DATABASE_ERROR', reason: String((e as Error).message ?? e) };
    }
  }

  /** Bytes of the database and its WAL, for metrics. */
  sizeBytes(): number {
    return sizeOf(this.options.path) + sizeOf(`${this.options.path}-wal`);
  }

  get failure(): string | null {
    return this.lastFailure;
  }

  close(): void {
    this.closeQuietly();
  }

  private refuseToCreate(): string | null {
    const mode = this.options.createDb ?? 'auto';
    if (mode === 'always') return null;
    const backups = mode === 'auto' ? (this.options.backupCount?.() ?? 0) : 0;
    if (mode === 'auto' && backups === 0) return null;
    return (
      `refusing to create an empty database at ${this.options.path}: ` +
      (mode === 'never'
        ? 'API_CREATE_DB=never'
        : `${backups} backup(s) exist, so the data was lost; restore one ` +
          '(backup-agent restore --latest --offline, or POST /restore/latest on the agent), ' +
          'or set API_CREATE_DB=always to start empty')
    );
  }

  private open(allowCreate: boolean): Connection {
    const db = new Database(this.options.path, { fileMustExist: !allowCreate });
    try {
      db.pragma(`busy_timeout = ${this.options.busyTimeoutMs}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`could not enable WAL (journal_mode=${String(mode)})`);
      db.pragma(`synchronous = ${this.options.synchronous}`);
      migrate(db);
      this.connection = new Connection(db);
      this.identity = identityOf(this.options.path);
      this.lastFailure = null;
      return this.connection;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private fail(err: unknown): Error {
    const e = asDatabaseError(err);
    const message = `cannot open ${this.options.path}: ${(e as Error).message ?? String(e)}`;
    if (message !== this.lastFailure) this.logger.error(message);
    this.lastFailure = message;
    return e instanceof DatabaseUnavailableError
      ? e
      : new DatabaseUnavailableError('DATABASE_UNAVAILABLE', message);
  }

  private closeQuietly(): void {
    const c = this.connection;
    this.connection = null;
    this.identity = null;
    if (!c) return;
    try {
      c.db.close();
    } catch (err) {
      this.logger.warn(`closing ${this.options.path}: ${(err as Error).message}`);
    }
  }
}

function identityOf(path: string): FileIdentity | null {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function sameFile(a: FileIdentity, b: FileIdentity | null): boolean {
  return !!b && a.dev === b.dev && a.ino === b.ino;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
