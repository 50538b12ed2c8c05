import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrate } from '../lib/db-schema';

/**
 * Creates (or extends) a real events database like the API's: WAL, migrated schema, `rows` events
 * named `${prefix}-<n>`, inserted in one transaction. Returns the total row count.
 */
export function seedEventsDb(path: string, rows: number, prefix = 'seed'): number {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    migrate(db);
    const insert = db.prepare('INSERT INTO events (ts, message) VALUES (?, ?)');
    const ts = new Date('2026-01-01T00:00:00.000Z').toISOString();
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run(ts, `${prefix}-${i}`);
    })();
    return (db.prepare(`SELECT value FROM counters WHERE name = 'events'`).get() as { value: number }).value;
  } finally {
    db.close();
  }
}

/** All messages of an events database, in id order (opened read-only). */
export function readMessages(path: string): string[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT message FROM events ORDER BY id').all() as { message: string }[]).map(
      (r) => r.message,
    );
  } finally {
    db.close();
  }
}
