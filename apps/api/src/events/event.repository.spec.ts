import { COMMIT_CLOCK_ROW, createCommitClock } from '@pra-kit/shared';
import { makeTempDir } from '@pra-kit/shared/testing';
import { join } from 'node:path';
import { ApiDatabase } from '../database/api-database';
import { DatabaseUnavailableError } from '../database/database.errors';
import { EventRepository } from './event.repository';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('EventRepository (group commit)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let database: ApiDatabase;
  let batches: number[];
  let events: EventRepository;

  beforeEach(() => {
    temp = makeTempDir('repo');
    database = new ApiDatabase(
      { path: join(temp.path, 'app.db'), synchronous: 'FULL', busyTimeoutMs: 1000 },
      quiet,
    );
    database.start();
    batches = [];
    events = new EventRepository(
      database,
      () => new Date('2026-11-21T10:00:00.000Z'),
      (n) => batches.push(n),
    );
  });
  afterEach(() => {
    database.close();
    temp.remove();
  });

  it('commits concurrent writes together and answers each with its own row', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => events.add(`m${i}`)));
    expect(results.map((r) => r.message)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    expect(new Set(results.map((r) => r.id)).size).toBe(50);
    expect(results[0].timestamp).toBe('2026-11-21T10:00:00.000Z');
    expect(batches.reduce((a, b) => a + b, 0)).toBe(50);
    expect(batches.length).toBeLessThan(50);
    expect(events.count()).toBe(50);
  });

  it('rejects every write of a batch whose transaction fails, and stores none of them', async () => {
    database
      .current()
      .db.exec(
        `CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.message = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`,
      );
    const outcomes = await Promise.allSettled([events.add('a'), events.add('boom'), events.add('b')]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(events.count()).toBe(0);
    await expect(events.add('c')).resolves.toMatchObject({ message: 'c' });
    expect(events.latest(10).map((e) => e.message)).toEqual(['c']);
  });

  it('refuses to acknowledge writes once the file is deleted (lost volume) instead of writing to nowhere', async () => {
    await events.add('kept');
    const { rmSync } = await import('node:fs');
    rmSync(database.path);
    await expect(events.add('lost')).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(() => events.count()).toThrow(/missing/);
  });
});

describe('EventRepository (commit clock)', () => {
  it('stamps every transaction with a strictly increasing commit time, inside the transaction', async () => {
    const temp = makeTempDir('clock');
    const database = new ApiDatabase(
      { path: join(temp.path, 'app.db'), synchronous: 'NORMAL', busyTimeoutMs: 1000 },
      quiet,
    );
    database.start();
    const stamps: number[] = [];
    let t = 1_795_000_000_000;
    const events = new EventRepository(
      database,
      () => new Date(t),
      () => undefined,
      () => {
        stamps.push(t++ * 1000);
        return stamps[stamps.length - 1];
      },
    );
    const read = () =>
      database.use(
        (c) =>
          (
            c.db.prepare(`SELECT value FROM counters WHERE name = ?`).get(COMMIT_CLOCK_ROW) as {
              value: number;
            }
          ).value,
      );
    await Promise.all([events.add('a'), events.add('b')]); // one batch: one stamp
    expect(stamps).toHaveLength(1);
    expect(read()).toBe(stamps[0]);
    await events.add('c');
    expect(stamps).toHaveLength(2);
    expect(read()).toBe(stamps[1]);
    expect(stamps[1]).toBeGreaterThan(stamps[0]);
    database.close();
    temp.remove();
  });

  it('the default clock is the wall clock in microseconds, strictly increasing', () => {
    const clock = createCommitClock(() => 1000);
    expect([clock(), clock(), clock()]).toEqual([1_000_000, 1_000_001, 1_000_002]);
    const real = createCommitClock();
    const before = Date.now() * 1000;
    const stamp = real();
    expect(stamp).toBeGreaterThanOrEqual(before);
    expect(stamp).toBeLessThanOrEqual(Date.now() * 1000 + 1);
  });
});
