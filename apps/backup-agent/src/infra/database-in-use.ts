import Database from 'better-sqlite3';
import { describeSqliteError } from './sqlite-file';

/** Whether another connection has the database open, as SQLite sees it. */
export type AccessCheck =
  | { readonly inUse: false }
  | { readonly inUse: true }
  /** SQLite could not tell: the file is not a readable database (the usual reason to restore it). */
  | { readonly inUse: null; readonly detail: string };

/**
 * Asks SQLite for exclusive access to the database at `path`, and gives it back at once.
 *
 * A connection to a WAL database keeps a shared lock on the file for as long as it is open (once
 * it has read anything; the API reads at start): that is how SQLite knows it may not leave WAL
 * mode, nor rebuild the WAL, under it. So an exclusive lock (locking_mode=EXCLUSIVE, BEGIN
 * EXCLUSIVE) is granted only when no other connection, in this process or another, has the file
 * open, and refused at once (SQLITE_BUSY, no waiting) otherwise. The locks are the kernel's: they
 * vanish with a process killed by `kill -9`, so a crashed API does not count as "in use".
 *
 * It changes no data. On the way out SQLite checkpoints the WAL into the file, as the last
 * connection to close always does. A connection that opened the file but never read from it
 * holds no lock and cannot be seen; neither can a process on another machine sharing the volume
 * over a network filesystem whose locks do not reach this one.
 */
export function checkExclusiveAccess(path: string): AccessCheck {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('ROLLBACK');
    return { inUse: false };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // Extended codes too: SQLITE_BUSY_RECOVERY is another connection recovering the WAL.
    if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')))
      return { inUse: true };
    return { inUse: null, detail: describeSqliteError(err) };
  } finally {
    db?.close();
  }
}
