import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { OperationInProgressError } from '../core/errors';

export type OperationKind = 'backup' | 'restore' | 'verify' | 'prune' | 'restore-test';

/**
 * One backup or restore at a time, across processes: the serving agent, a one-shot `backup` from a
 * CronJob and a restore Job all share the backup volume, so they share this lock.
 *
 * The cross-process part is an exclusive SQLite transaction on a lock file in the backup
 * directory: SQLite's POSIX locks are released by the kernel when the holder dies, so a `kill -9`
 * never leaves a stale lock behind. A second caller fails at once with OperationInProgressError
 * (HTTP 409), it does not queue. Taking it writes nothing to the volume, so it works on a full one.
 */
export class OperationLock {
  private running: OperationKind | null = null;

  constructor(private readonly lockFile: string) {}

  get current(): OperationKind | null {
    return this.running;
  }

  async run<T>(kind: OperationKind, fn: () => Promise<T>): Promise<T> {
    if (this.running) throw new OperationInProgressError(this.running);
    this.running = kind;
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(this.lockFile), { recursive: true });
      db = new Database(this.lockFile, { timeout: 0 });
      // The rollback journal in memory: on a full volume a journal file could not be created, and
      // the lock must still be taken there, since freeing space is an operation that needs it.
      db.pragma('journal_mode = MEMORY');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db?.close();
      this.running = null;
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new OperationInProgressError(null);
      throw err;
    }
    try {
      return await fn();
    } finally {
      db.exec('ROLLBACK');
      db.close();
      this.running = null;
    }
  }
}
