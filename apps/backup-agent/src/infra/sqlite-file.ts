import Database from 'better-sqlite3';
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { countEvents, DatabaseFacts, VerifyMode } from '@pra-kit/shared';

/**
 * SQLite-level operations on files: the online snapshot and the inspection/verification of a
 * database file. No catalog or naming logic here.
 */

/** "Copy every remaining page in the next step" (restores). */
const ALL_PAGES = 0x7fffffff;

export interface Inspection {
  readonly ok: boolean;
  /** "ok", or the first problems reported by the check, or why the file could not be read. */
  readonly detail: string;
  readonly facts: DatabaseFacts | null;
}

/** Progress hook: return a page count for the next step (0 to hold the lock and wait). */
export type BackupStepHook = () => number;

/**
 * Bytes per step of a snapshot. The copy written so far is flushed after each step, so the disk
 * never has much of it queued in front of the API's commits (their fsync). Smaller steps make the
 * backup slower, larger ones stall the API's commits longer: the measurements behind this size are
 * in bench/README.md ("Measured choices").
 */
const SNAPSHOT_STEP_BYTES = 256 * 1024;

/**
 * Takes a consistent snapshot of the live database `sourcePath` into the new file `destPath` with
 * SQLite's online backup API, and returns the page count.
 *
 * The source connection holds one read transaction for the whole copy, so the snapshot is the
 * state committed when it began, WAL content included (a plain `cp` of the main file misses
 * committed rows still in `-wal`), and SQLite never restarts the copy however much the API writes
 * meanwhile: it restarts a backup only when its view of the source changes, which the open read
 * transaction prevents. (Without it, a writer committing between steps restarts the copy forever.)
 * So the copy can go in small steps, each flushed to disk (fdatasync) before the next one.
 *
 * `openAt`, when given, opens that read transaction itself (with the function it receives): continuous
 * replication opens it under the write lock, at an exact point of its chain.
 */
export async function snapshotDatabase(
  sourcePath: string,
  destPath: string,
  options: { readonly busyTimeoutMs?: number; readonly openAt?: (openReadTx: () => void) => void } = {},
): Promise<number> {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const source = new Database(sourcePath, { fileMustExist: true, timeout: busyTimeoutMs });
  let written: number | null = null;
  try {
    const openReadTx = () => {
      source.exec('BEGIN');
      source.prepare('SELECT count(*) FROM sqlite_master').get(); // the read transaction starts here
    };
    if (options.openAt) options.openAt(openReadTx);
    else openReadTx();
    if (!source.inTransaction) throw new Error('the snapshot read transaction was not opened');
    const pageSize = Number(source.pragma('page_size', { simple: true }));
    const stepPages = Math.max(1, Math.floor(SNAPSHOT_STEP_BYTES / pageSize));
    return await runBackup(source, destPath, busyTimeoutMs, () => {
      written ??= openSync(destPath, 'r+');
      fdatasyncSync(written);
      return stepPages;
    });
  } finally {
    if (written !== null) closeSync(written);
    source.close(); // ends the read transaction
  }
}

/**
 * An online restore: the backup `sourcePath` copied into the live database `livePath` through the
 * backup API, as ONE write transaction on the live database, in two steps:
 *
 *     const restore = new LiveRestore(backupFile, liveDb);
 *     const result = await restore.withWriteLock(step); // the write lock is held: step runs
 *     await restore.copy();                             // every page, then the commit
 *
 * While `step` runs, the API's readers go on (WAL) and its writers wait for the lock, so nothing can
 * commit between `step` and the copy. If `step` fails, the transaction is rolled back: nothing is
 * copied. Call `copy()` right after `withWriteLock` resolves: the lock is held until then.
 */
export class LiveRestore {
  private copying = false;
  private stepRan = false;
  private failure: unknown = null;
  private transfer: Promise<number> | null = null;

  constructor(
    private readonly sourcePath: string,
    private readonly livePath: string,
  ) {}

  /** false only when the copy ended before its first step, so `step` never ran (see withWriteLock). */
  get lockedStepRan(): boolean {
    return this.stepRan;
  }

  /**
   * Takes the live database's write lock and runs `step` under it; resolves with its result. The
   * backup API's first step (0 pages) takes the lock; the following ones copy 0 pages, keeping it,
   * until `step` is done. null when the copy ended before any step (a source without pages, which
   * a verified backup never is).
   */
  withWriteLock<T>(step: () => Promise<T>): Promise<T | null> {
    return new Promise<T | null>((resolve, reject) => {
      let started = false;
      this.transfer = copyDatabase(this.sourcePath, this.livePath, {
        readonly: true,
        onStep: () => {
          if (!started) {
            started = true;
            step().then(
              (value) => {
                this.stepRan = true;
                resolve(value);
              },
              (err: unknown) => (this.failure = err ?? new Error('the step under the write lock failed')),
            );
          }
          if (this.failure) throw this.failure; // rolls the restore's transaction back
          return this.copying ? ALL_PAGES : 0;
        },
      });
      this.transfer.then(() => started || resolve(null), reject);
    });
  }

  /** Copies every page and commits; resolves with the page count. */
  copy(): Promise<number> {
    if (!this.transfer) return Promise.reject(new Error('LiveRestore.copy() before withWriteLock()'));
    this.copying = true;
    return this.transfer;
  }
}

/**
 * Copies `source` into `dest` with SQLite's online backup API and returns the page count. By
 * default all pages go in a single step; `onStep` may hold the destination's lock first (return 0)
 * and then copy everything (LiveRestore).
 */
export async function copyDatabase(
  sourcePath: string,
  destPath: string,
  options: { readonly?: boolean; busyTimeoutMs?: number; onStep?: BackupStepHook } = {},
): Promise<number> {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const source = new Database(sourcePath, {
    fileMustExist: true,
    readonly: options.readonly ?? false,
    timeout: busyTimeoutMs,
  });
  try {
    return await runBackup(source, destPath, busyTimeoutMs, options.onStep ?? (() => ALL_PAGES));
  } finally {
    source.close();
  }
}

/**
 * Runs the backup API until every page is copied. better-sqlite3 reports "done, 0 pages" when the
 * very first step meets a lock (SQLITE_BUSY before SQLite knows the page count): that is retried
 * until `busyTimeoutMs`, never taken for success.
 */
async function runBackup(
  source: Database.Database,
  destPath: string,
  busyTimeoutMs: number,
  onStep: BackupStepHook,
): Promise<number> {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    const progress = await source.backup(destPath, { progress: onStep });
    if (progress.totalPages > 0 && progress.remainingPages === 0) return progress.totalPages;
    if (Date.now() > deadline) {
      throw Object.assign(new Error(`database ${destPath} stayed locked; backup not started`), {
        code: 'SQLITE_BUSY',
      });
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Copies the pages the WAL holds into the database file, from this process (an online restore puts
 * the whole database in the live WAL; without this, the API's next write would pay for copying it
 * back, stalling every request for that time). PASSIVE: it never waits for, nor blocks, the API's
 * readers and writers. Best effort: true when every frame was copied.
 */
export function checkpointWal(path: string): boolean {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 0 });
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as {
      busy: number;
      log: number;
      checkpointed: number;
    }[];
    return result.busy === 0 && result.log === result.checkpointed;
  } catch {
    return false; // the API's own checkpoint will do it
  } finally {
    db?.close();
  }
}

/**
 * Makes a fresh snapshot file self-contained: the backup API copies the source's header, which says
 * "WAL"; switching to a rollback journal means the file alone is the database (it can be opened
 * read-only, copied, checksummed, or `cp`ed into place like the workshop does).
 */
export function makeStandalone(path: string): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
}

/** Reads the facts of a database file and runs quick_check or integrity_check on it. */
export function inspectDatabase(path: string, mode: VerifyMode): Inspection {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const rows = db.pragma(mode === 'full' ? 'integrity_check(20)' : 'quick_check(20)') as Record<
      string,
      string
    >[];
    const problems = rows.map((r) => Object.values(r)[0]);
    const ok = problems.length === 1 && problems[0] === 'ok';
    const facts: DatabaseFacts = {
      pageSize: Number(db.pragma('page_size', { simple: true })),
      pageCount: Number(db.pragma('page_count', { simple: true })),
      schemaVersion: Number(db.pragma('user_version', { simple: true })),
      sqliteVersion: (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v,
      rows: ok ? countEvents(db) : 0,
    };
    return { ok, detail: ok ? 'ok' : problems.slice(0, 5).join('; '), facts };
  } catch (err) {
    return { ok: false, detail: describeSqliteError(err), facts: null };
  } finally {
    db?.close();
  }
}

/** Runs `read` on a live database (read-write open so its -shm can be used); null when unreadable. */
function readLive<T>(path: string, read: (db: Database.Database) => T): T | null {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 5000 });
    return read(db);
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/** Rows of a live database (WAL-aware). null if unreadable. */
export function countRows(path: string): number | null {
  return readLive(path, countEvents);
}

/** Bytes a snapshot of the live database will take: its page count times its page size. */
export function databaseBytes(path: string): number | null {
  return readLive(
    path,
    (db) =>
      Number(db.pragma('page_count', { simple: true })) * Number(db.pragma('page_size', { simple: true })),
  );
}

/** ENOSPC from the file system, or SQLite's "database or disk is full". */
export function isNoSpaceError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return (
    code === 'ENOSPC' ||
    code === 'SQLITE_FULL' ||
    (typeof code === 'string' && code.startsWith('SQLITE_FULL'))
  );
}

export function pageSizeOf(path: string): number | null {
  return readLive(path, (db) => Number(db.pragma('page_size', { simple: true })));
}

export function isCorruptionError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return (
    code === 'SQLITE_CORRUPT' ||
    code === 'SQLITE_NOTADB' ||
    (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'))
  );
}

export function describeSqliteError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return typeof e?.code === 'string' ? `${e.code}: ${String(e.message)}` : String(e?.message ?? err);
}

export async function removeQuietly(...paths: string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true })));
}
