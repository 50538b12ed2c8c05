import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';

/** The events of a database, hashed: what "the same state" means in the replication tests. */
export function rowsHash(db: Database.Database): { hash: string; rows: number } {
  const rows = db.prepare('SELECT id, message FROM events ORDER BY id').all();
  return { hash: createHash('sha256').update(JSON.stringify(rows)).digest('hex'), rows: rows.length };
}

/**
 * The state at an instant, taken the way an exact recorder must: holding the write lock, so no
 * transaction is half committed; the instant is read inside, and the lock is held until the clock
 * has moved past it (a transaction after it is stamped later).
 */
export function recordState(db: Database.Database): { at: number; hash: string; rows: number } {
  db.exec('BEGIN IMMEDIATE');
  try {
    const state = rowsHash(db);
    const at = Date.now();
    while (Date.now() <= at) {
      /* wait for the next millisecond */
    }
    return { at, ...state };
  } finally {
    db.exec('ROLLBACK');
  }
}
