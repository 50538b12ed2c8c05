import { makeTempDir, readMessages, seedEventsDb } from '@pra-kit/shared/testing';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { countRows, inspectDatabase, LiveRestore, makeStandalone, snapshotDatabase } from './sqlite-file';

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

describe('LiveRestore', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let live: string;
  let backup: string;
  beforeEach(() => {
    temp = makeTempDir('live-restore');
    live = join(temp.path, 'data', 'app.db');
    backup = join(temp.path, 'backup.db');
    seedEventsDb(backup, 3, 'backup');
    makeStandalone(backup);
    seedEventsDb(live, 10, 'live');
  });
  afterEach(() => temp.remove());

  /** An insert from another connection that does not wait for a lock: what the API would do. */
  const tryWrite = () => {
    const db = new Database(live, { timeout: 0 });
    try {
      db.prepare('INSERT INTO events (ts, message) VALUES (?, ?)').run('t', 'api-write');
      return 'committed';
    } catch (err) {
      return (err as { code?: string }).code;
    } finally {
      db.close();
    }
  };

  it('runs the step while writers wait and readers read, then replaces the content in one transaction', async () => {
    const restore = new LiveRestore(backup, live);
    const seen = await restore.withWriteLock(async () => {
      await new Promise((r) => setTimeout(r, 50)); // the backup API keeps stepping meanwhile
      return { write: tryWrite(), rows: countRows(live) };
    });
    expect(seen).toEqual({ write: 'SQLITE_BUSY', rows: 10 });
    expect(restore.lockedStepRan).toBe(true);
    expect(await restore.copy()).toBeGreaterThan(0);
    expect(readMessages(live)).toEqual(['backup-0', 'backup-1', 'backup-2']);
    expect(tryWrite()).toBe('committed'); // the lock is released with the commit
    expect(countRows(live)).toBe(4);
  });

  it('a failing step rolls the restore back: nothing is copied and the lock is released', async () => {
    const restore = new LiveRestore(backup, live);
    await expect(
      restore.withWriteLock(async () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(countRows(live)).toBe(10);
    expect(readMessages(live)[0]).toBe('live-0');
    expect(tryWrite()).toBe('committed');
  });
});
