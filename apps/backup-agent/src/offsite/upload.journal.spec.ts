import { makeTempDir } from '@pra-kit/shared/testing';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '../core/ports';
import { UploadJournal } from './upload.journal';

describe('UploadJournal (real files)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let file: string;
  let logs: string[];
  const clock = { now: () => new Date(Date.UTC(2026, 10, 22, 9, 0, 0)) };
  const logger: Logger = {
    log: (m) => logs.push(m),
    warn: (m) => logs.push(`WARN ${m}`),
    error: (m) => logs.push(`ERROR ${m}`),
  };
  const backup = (seconds: number) => ({
    id: `app-${seconds}`,
    createdAt: new Date(seconds * 1000).toISOString(),
  });
  const onDisk = () =>
    (JSON.parse(readFileSync(file, 'utf8')) as { pending: { id: string; attempts: number }[] }).pending;

  beforeEach(() => {
    temp = makeTempDir('journal');
    file = join(temp.path, '.offsite', 'queue.json');
    logs = [];
  });
  afterEach(() => temp.remove());

  it('a change resolves once the queue is on disk; a new journal loads it back', async () => {
    const journal = new UploadJournal(file, clock, logger);
    await journal.change({ add: [backup(1795306600), backup(1795306660)] });
    expect(onDisk().map((e) => e.id)).toEqual(['app-1795306600', 'app-1795306660']);

    const entry = journal.get('app-1795306660');
    if (!entry) throw new Error('not queued');
    entry.attempts = 3;
    entry.lastError = 'ECONNREFUSED';
    await journal.save();
    await journal.change({ remove: ['app-1795306600'] });

    const reloaded = new UploadJournal(file, clock, logger);
    await reloaded.load();
    expect(reloaded.ids()).toEqual(['app-1795306660']);
    expect(reloaded.get('app-1795306660')).toMatchObject({
      attempts: 3,
      lastError: 'ECONNREFUSED',
      createdAt: backup(1795306660).createdAt,
      queuedAt: clock.now().toISOString(),
      notBefore: 0,
    });
    expect(logs).toEqual(['offsite: 1 upload(s) pending from the journal']);
  });

  it('changes made together are written in order: the file ends with the last state', async () => {
    const journal = new UploadJournal(file, clock, logger);
    const ids = Array.from({ length: 20 }, (_, i) => 1795306600 + i);
    await Promise.all([
      ...ids.map((s) => journal.change({ add: [backup(s)] })),
      journal.change({ remove: ['app-1795306600'] }),
    ]);
    expect(onDisk().map((e) => e.id)).toEqual(ids.slice(1).map((s) => `app-${s}`));
  });

  it('a change that changes nothing writes nothing', async () => {
    const journal = new UploadJournal(file, clock, logger);
    await journal.change({ add: [], remove: ['app-1795306600'] });
    expect(() => readFileSync(file)).toThrow(/ENOENT/);
  });

  it('an unreadable journal is ignored (the catch-up recomputes the queue); bad entries are skipped', async () => {
    mkdirSync(join(temp.path, '.offsite'));
    writeFileSync(file, '{"format":1,"pending":[');
    const broken = new UploadJournal(file, clock, logger);
    await broken.load();
    expect(broken.size).toBe(0);
    expect(logs[0]).toMatch(/^WARN ignoring the unreadable offsite journal .*queue.json/);

    writeFileSync(
      file,
      JSON.stringify({
        format: 1,
        pending: [
          { ...backup(1795306600), attempts: 'x' },
          { id: '../../etc/passwd', createdAt: backup(1795306600).createdAt },
          { id: 'app-1795306660', createdAt: 'not a date' },
        ],
      }),
    );
    const partial = new UploadJournal(file, clock, logger);
    await partial.load();
    expect(partial.ids()).toEqual(['app-1795306600']);
    expect(partial.get('app-1795306600')?.attempts).toBe(0);
  });

  it('a write that fails is logged and does not reject: uploads go on without the journal', async () => {
    writeFileSync(join(temp.path, '.offsite'), 'a file where the directory should be');
    const journal = new UploadJournal(file, clock, logger);
    await expect(journal.change({ add: [backup(1795306600)] })).resolves.toBeUndefined();
    expect(journal.ids()).toEqual(['app-1795306600']);
    expect(logs).toEqual([expect.stringMatching(/^WARN could not write the offsite journal .*queue\.json/)]);
  });

  it('the next due upload is the newest one that is not held; the lag counts from the oldest', async () => {
    const journal = new UploadJournal(file, clock, logger);
    await journal.change({ add: [backup(1795306600), backup(1795306660), backup(1795306630)] });
    expect(journal.nextDue(0)?.id).toBe('app-1795306660');
    (journal.get('app-1795306660') as { notBefore: number }).notBefore = 500;
    expect(journal.nextDue(100)?.id).toBe('app-1795306630');
    expect(journal.nextDue(500)?.id).toBe('app-1795306660');
    expect(journal.earliestDue()).toBe(0);
    expect(journal.oldestCreatedAt()).toEqual(new Date(1795306600_000));
    await journal.change({ remove: journal.ids() });
    expect([journal.nextDue(1e12), journal.earliestDue(), journal.oldestCreatedAt()]).toEqual([
      undefined,
      null,
      null,
    ]);
  });
});
