import { makeTempDir, seedEventsDb } from '@pra-kit/shared/testing';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { countRows, inspectDatabase, snapshotDatabase } from './sqlite-file';

describe('snapshotDatabase', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('snapshot')));
  afterEach(() => temp.remove());

  it('copies, in several steps, the state committed when it began while another connection keeps writing', async () => {
    const live = join(temp.path, 'app.db');
    const rows = seedEventsDb(live, 250_000); // ~11 MB: many flushed steps
    const writer = new Database(live);
    const insert = writer.prepare('INSERT INTO events (ts, message) VALUES (?, ?)');
    let written = 0;
    // Commits between the steps (better-sqlite3 yields to the event loop after each one). Without
    // the snapshot's read transaction, each of them would make SQLite restart the copy.
    const timer = setInterval(() => {
      insert.run('2026-11-21T10:00:00.000Z', `during-${written}`);
      written++;
    }, 1);
    // A copy that restarts finishes only once the writes stop, with their rows: stop them in time.
    const stop = setTimeout(() => clearInterval(timer), 5000);
    try {
      const pages = await snapshotDatabase(live, join(temp.path, 'copy.db'));
      expect(pages).toBeGreaterThan(2 * 1024);
    } finally {
      clearTimeout(stop);
      clearInterval(timer);
      writer.close();
    }
    expect(written).toBeGreaterThan(0);
    const copy = inspectDatabase(join(temp.path, 'copy.db'), 'full');
    expect(copy).toMatchObject({ ok: true, facts: { rows } });
    expect(countRows(live)).toBe(rows + written);
  });
});
