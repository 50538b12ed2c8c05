import { readAutoRestoreRecord } from '@pra-kit/shared';
import { makeTempDir, readMessages, seedEventsDb } from '@pra-kit/shared/testing';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBackupAgent } from '../agent.factory';
import { autoRestore } from './auto-restore';
import { BackupAgent } from './backup-agent';
import { BackupCorruptError } from './errors';
import { Logger } from './ports';

describe('autoRestore (core, real SQLite files)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let now: number;
  let dbPath: string;
  let backupDir: string;
  let lines: string[];
  const logger: Logger = {
    log: (m) => lines.push(`log ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
  const clock = { now: () => new Date(now) };
  const build = (): BackupAgent =>
    buildBackupAgent(
      {
        dbPath,
        backupDir,
        verify: 'quick',
        retention: { keepLast: 100, hourly: 0, daily: 0, weekly: 0 },
        offsite: null,
      },
      { clock, logger },
    );

  beforeEach(() => {
    temp = makeTempDir('auto-restore');
    dbPath = join(temp.path, 'data', 'app.db');
    backupDir = join(temp.path, 'backup');
    now = Date.UTC(2026, 10, 21, 10, 0, 0);
    lines = [];
  });
  afterEach(() => temp.remove());

  it('leaves a database that is there alone, and records nothing', async () => {
    seedEventsDb(dbPath, 5);
    const agent = build();
    await agent.backup('manual');
    const before = readFileSync(dbPath);
    expect(await autoRestore(agent, { logger, clock })).toMatchObject({ outcome: 'not-needed' });
    expect(readFileSync(dbPath).equals(before)).toBe(true);
    expect(existsSync(join(backupDir, '.auto-restore.json'))).toBe(false);
  });

  it('restores nothing when there is no restore point (a fresh service starts empty)', async () => {
    const agent = build();
    expect(await autoRestore(agent, { logger, clock })).toMatchObject({
      outcome: 'nothing-to-restore',
      detail: expect.stringMatching(/no verified restore point in .*backup: nothing to restore/),
    });
    expect(existsSync(dbPath)).toBe(false);
    expect(existsSync(join(backupDir, '.auto-restore.json'))).toBe(false);
  });

  it('restores the newest verified point into a missing database, logs it and records it', async () => {
    seedEventsDb(dbPath, 10, 'old');
    const agent = build();
    await agent.backup('manual');
    now += 60_000;
    seedEventsDb(dbPath, 7, 'new');
    const newest = await agent.backup('scheduled');
    rmSync(join(temp.path, 'data'), { recursive: true });

    now += 60_000;
    const outcome = await autoRestore(agent, { logger, clock });
    expect(outcome).toMatchObject({
      outcome: 'restored',
      result: {
        mode: 'offline',
        rows_before: null,
        rows_after: 17,
        safety_snapshot: null,
        restored: { id: newest.id },
      },
    });
    expect(readMessages(dbPath)).toEqual(readMessages(join(backupDir, `${newest.id}.db`)));
    expect(lines).toContainEqual(expect.stringMatching(/^warn automatic restore: .*app\.db is missing/));
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^warn automatic restore: restored ${newest.id} \\(17 rows`)),
    );
    const record = readAutoRestoreRecord(backupDir);
    expect(record).toMatchObject({
      restores_total: 1,
      failures_total: 0,
      last: { outcome: 'restored', id: newest.id, rows: 17, from: 'local', at: new Date(now).toISOString() },
    });
    expect(record.last_restore).toEqual(record.last);
    expect(agent.stats.autoRestore).toEqual(record);
    expect(agent.stats.restoresTotal).toBe(1);
    // A new process (the sidecar after the init container) reads the record.
    expect(build().stats.autoRestore).toEqual(record);
  });

  it('refuses a newest point that fails verification: nothing restored, nothing older tried, recorded', async () => {
    seedEventsDb(dbPath, 10);
    const agent = build();
    const older = await agent.backup('manual');
    now += 60_000;
    seedEventsDb(dbPath, 3, 'more');
    const newest = await agent.backup('manual');
    rmSync(join(temp.path, 'data'), { recursive: true });
    const file = join(backupDir, `${newest.id}.db`);
    const bytes = readFileSync(file);
    bytes[4096 + 100] ^= 0xff;
    writeFileSync(file, bytes);

    const outcome = await autoRestore(agent, { logger, clock });
    expect(outcome).toMatchObject({
      outcome: 'refused',
      detail: expect.stringMatching(
        new RegExp(`refused: backup ${newest.id} failed verification: sha256 .*Choose another point`),
      ),
    });
    expect((outcome as { error: unknown }).error).toBeInstanceOf(BackupCorruptError);
    expect(existsSync(dbPath)).toBe(false);
    expect(existsSync(join(temp.path, 'data'))).toBe(false); // verified before anything is written
    expect(lines).toContainEqual(expect.stringMatching(/^error automatic restore refused: /));
    expect(readAutoRestoreRecord(backupDir)).toMatchObject({
      restores_total: 0,
      failures_total: 1,
      last: { outcome: 'refused', id: newest.id, rows: null },
      last_restore: null,
      last_failure: { outcome: 'refused', id: newest.id },
    });
    expect(older.id).not.toBe(newest.id);
  });
});
