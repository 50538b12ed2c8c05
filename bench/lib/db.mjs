// Databases for the benchmarks, built fast: the schema comes from the real API (it creates and
// migrates an empty database at start), then rows are inserted directly with better-sqlite3 in one
// transaction, like libs/shared/src/testing/events-db.ts does for the tests.
import Database from 'better-sqlite3';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startApi } from './services.mjs';

/** Message length that makes a 1M-row database about 77 MB, the size the targets talk about. */
const MESSAGE_LENGTH = 42;

/** An empty database with the API's schema: started once under the API, then stopped cleanly. */
export async function emptyTemplate(workDir) {
  const dir = join(workDir, 'template');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, 'app.db');
  const api = await startApi({ dbPath, backupDir: join(dir, 'backup'), logFile: join(dir, 'api.log') });
  await api.stop(); // closes the database: WAL checkpointed, -wal removed
  return dbPath;
}

/**
 * Creates `dbPath` from the template with `rows` events (timestamps one second apart, messages of
 * MESSAGE_LENGTH characters). The counters table is kept by the schema's triggers.
 */
export function seedDatabase(templatePath, dbPath, rows) {
  mkdirSync(dirname(dbPath), { recursive: true });
  for (const suffix of ['', '-wal', '-shm']) rmSync(dbPath + suffix, { force: true });
  copyFileSync(templatePath, dbPath);
  const db = new Database(dbPath);
  try {
    db.pragma('journal_mode = WAL');
    const insert = db.prepare('INSERT INTO events (ts, message) VALUES (?, ?)');
    const start = Date.parse('2026-01-01T00:00:00.000Z');
    db.transaction(() => {
      for (let i = 0; i < rows; i++) {
        insert.run(new Date(start + i * 1000).toISOString(), `bench event ${i} `.padEnd(MESSAGE_LENGTH, '.'));
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return dbPath;
}

/** The event count of a database file (from the counters table, as the API reads it). */
export function countRows(dbPath) {
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    return db.prepare(`SELECT value FROM counters WHERE name = 'events'`).get().value;
  } finally {
    db.close();
  }
}
