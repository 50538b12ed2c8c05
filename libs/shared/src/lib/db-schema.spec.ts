import Database from 'better-sqlite3';
import { countEvents, migrate, SCHEMA_VERSION } from './db-schema';

describe('db schema', () => {
  it('creates the schema once and keeps an exact count through inserts and deletes', () => {
    const db = new Database(':memory:');
    expect(migrate(db)).toEqual([1]);
    expect(migrate(db)).toEqual([]);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);

    const insert = db.prepare('INSERT INTO events (ts, message) VALUES (?, ?)');
    for (let i = 0; i < 25; i++) insert.run(new Date(0).toISOString(), `m${i}`);
    db.prepare('DELETE FROM events WHERE id <= 5').run();
    expect(countEvents(db)).toBe(20);
    expect((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(20);
  });

  it('adopts a workshop database that already has events and no counters', () => {
    const db = new Database(':memory:');
    db.exec(
      'CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, message TEXT NOT NULL)',
    );
    db.exec(
      `INSERT INTO events (ts, message) VALUES ('2026-01-01T00:00:00Z', 'a'), ('2026-01-01T00:00:01Z', 'b')`,
    );
    expect(countEvents(db)).toBe(2);
    migrate(db);
    expect(countEvents(db)).toBe(2);
  });

  it('counts an empty file as 0 and refuses a schema newer than the build', () => {
    const db = new Database(':memory:');
    expect(countEvents(db)).toBe(0);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    expect(() => migrate(db)).toThrow(/newer than this build/);
  });
});
