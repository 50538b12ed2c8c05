import type { Database } from 'better-sqlite3';

/**
 * The database schema, owned by the API and read by the backup agent.
 *
 * `events` is the workshop's table (id, ts, message) so a database written by the workshop's
 * Flask app is adopted as is. `counters` holds the row count, kept exact by triggers in the same
 * transaction as each insert or delete, so `/count` and backup manifests never scan the table.
 *
 * Migrations run once at start, each in its own transaction, tracked by `PRAGMA user_version`.
 */

const MIGRATIONS: readonly string[] = [
  // 1: events + exact O(1) count
  `
  CREATE TABLE IF NOT EXISTS events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts      TEXT    NOT NULL,
    message TEXT    NOT NULL
  );
  CREATE TABLE IF NOT EXISTS counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT OR REPLACE INTO counters (name, value) VALUES ('events', (SELECT count(*) FROM events));
  CREATE TRIGGER IF NOT EXISTS events_count_insert AFTER INSERT ON events
    BEGIN UPDATE counters SET value = value + 1 WHERE name = 'events'; END;
  CREATE TRIGGER IF NOT EXISTS events_count_delete AFTER DELETE ON events
    BEGIN UPDATE counters SET value = value - 1 WHERE name = 'events'; END;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION. Returns the versions applied (empty when up to date). */
export function migrate(db: Database): number[] {
  const current = Number(db.pragma('user_version', { simple: true }));
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `database schema version ${current} is newer than this build understands (${SCHEMA_VERSION})`,
    );
  }
  const applied: number[] = [];
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version - 1]);
      db.pragma(`user_version = ${version}`);
    }).immediate();
    applied.push(version);
  }
  return applied;
}

/**
 * Number of events, in O(1) from the counters table. Falls back to count(*) for a database that
 * predates the counters (a workshop backup that was never opened by the API).
 */
export function countEvents(db: Database): number {
  const hasCounters = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'counters'`)
    .get();
  if (hasCounters) {
    const row = db.prepare(`SELECT value FROM counters WHERE name = 'events'`).get() as
      | { value: number }
      | undefined;
    if (row) return row.value;
  }
  const hasEvents = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'`).get();
  if (!hasEvents) return 0;
  return (db.prepare(`SELECT count(*) AS n FROM events`).get() as { n: number }).n;
}

/** The table of named integer counters (the row count, the commit clock). */
export const COUNTERS_TABLE = 'counters';

/**
 * The counters row where every write transaction records its commit time, in microseconds since
 * the epoch, strictly increasing, while it holds the write lock. Continuous replication reads it
 * back from the pages each transaction wrote, to date every transaction exactly: a point-in-time
 * restore to T keeps exactly the transactions stamped at or before T. It lives on the counters
 * page, which every insert rewrites anyway, so it adds no WAL frame.
 */
export const COMMIT_CLOCK_ROW = 'committed_at_us';

/** Run inside a write transaction, with the value of a CommitClock. */
export const STAMP_COMMIT_SQL = `INSERT OR REPLACE INTO ${COUNTERS_TABLE} (name, value) VALUES ('${COMMIT_CLOCK_ROW}', ?)`;

/**
 * Commit stamps: the wall clock in microseconds, made strictly increasing (two transactions in the
 * same millisecond get consecutive values), so each transaction's stamp differs from the previous.
 */
export function createCommitClock(nowMs: () => number = Date.now): () => number {
  let last = 0;
  return () => {
    last = Math.max(nowMs() * 1000, last + 1);
    return last;
  };
}
