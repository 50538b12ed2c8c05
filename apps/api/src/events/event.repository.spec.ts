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
