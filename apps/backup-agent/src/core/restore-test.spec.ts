import { readRestoreTestRecord } from '@pra-kit/shared';
import { makeTempDir, seedEventsDb } from '@pra-kit/shared/testing';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBackupAgent } from '../agent.factory';
import { OperationLock } from '../infra/operation.lock';
import { sha256File } from '../infra/durable-fs';
import { BackupAgent } from './backup-agent';
import { OperationInProgressError } from './errors';
import { Logger } from './ports';

describe('BackupAgent.testRestore (the scheduled restore test, real SQLite files)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let now: number;
  let dbPath: string;
  let backupDir: string;
  let agent: BackupAgent;
  let lines: string[];
  const logger: Logger = {
    log: (m) => lines.push(`log ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };

  beforeEach(() => {
    temp = makeTempDir('restore-test');
    dbPath = join(temp.path, 'data', 'app.db');
    backupDir = join(temp.path, 'backup');
    now = Date.UTC(2026, 10, 21, 3, 30, 0);
    lines = [];
    agent = buildBackupAgent(
      {
        dbPath,
        backupDir,
        verify: 'quick',
        retention: { keepLast: 100, hourly: 0, daily: 0, weekly: 0 },
        offsite: null,
      },
      { clock: { now: () => new Date(now) }, logger },
    );
  });
  afterEach(() => temp.remove());

  /** The live database, as bytes and metadata: a restore test must not touch it. */
  const liveState = async () => ({
    sha256: await sha256File(dbPath),
    mtimeMs: statSync(dbPath).mtimeMs,
    files: readdirSync(join(temp.path, 'data')).sort(),
  });
  const backupFiles = () => readdirSync(backupDir).sort();

  it('nothing to test before the first backup, and nothing recorded', async () => {
    expect(await agent.testRestore()).toMatchObject({ outcome: 'nothing-to-test' });
    expect(existsSync(join(backupDir, '.restore-tests.json'))).toBe(false);
  });

  it('restores the newest point into a scratch file, checks it, removes it; the point is marked restore-tested', async () => {
    seedEventsDb(dbPath, 40);
    await agent.backup('manual');
    now += 60_000;
    seedEventsDb(dbPath, 2, 'more');
    const newest = await agent.backup('scheduled');
    const live = await liveState();
    const before = backupFiles();
    now += 60_000;

    const outcome = await agent.testRestore();
    expect(outcome).toMatchObject({
      outcome: 'passed',
      event: {
        ok: true,
        id: newest.id,
        rows_expected: 42,
        rows_found: 42,
        at: new Date(now).toISOString(),
        detail: expect.stringMatching(/sha256 and integrity_check ok, 42 rows as recorded; scratch removed/),
      },
    });
    expect(await liveState()).toEqual(live); // the live database was never opened
    expect(backupFiles()).toEqual([...before, '.restore-tests.json'].sort()); // no scratch left
    expect(agent.stats.restoresTotal).toBe(0); // a test is not a restore
    const record = readRestoreTestRecord(backupDir);
    expect(record).toMatchObject({ tests_total: 1, failures_total: 0, last_failure: null });
    expect(agent.stats.restoreTest).toEqual(record);
    const listed = await agent.list();
    expect(listed.find((b) => b.id === newest.id)).toMatchObject({
      restore_tested_at: new Date(now).toISOString(),
      restore_test_error: null,
    });
    expect(listed.find((b) => b.id !== newest.id)).toMatchObject({ restore_tested_at: null });
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^log restore test passed: restored ${newest.id}`)),
    );
  });

  it('fails on a tampered point: logged, recorded on the point, the backup kept, nothing left behind', async () => {
    seedEventsDb(dbPath, 10);
    const passed = await agent.backup('manual');
    await agent.testRestore();
    now += 60_000;
    const newest = await agent.backup('manual');
    const file = join(backupDir, `${newest.id}.db`);
    const bytes = readFileSync(file);
    bytes[4096 + 300] ^= 0x10;
    writeFileSync(file, bytes);
    const live = await liveState();
    const before = backupFiles();
    now += 60_000;

    const outcome = await agent.testRestore();
    expect(outcome).toMatchObject({
      outcome: 'failed',
      event: {
        ok: false,
        id: newest.id,
        detail: expect.stringMatching(/^the restore failed: backup .* failed verification: sha256/),
      },
    });
    expect(await liveState()).toEqual(live);
    expect(backupFiles()).toEqual(before); // the tampered backup is still there; no scratch
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^error restore test FAILED for ${newest.id}: `)),
    );
    const record = readRestoreTestRecord(backupDir);
    expect(record).toMatchObject({
      tests_total: 2,
      failures_total: 1,
      last: { ok: false, id: newest.id },
      last_success: { ok: true, id: passed.id },
      last_failure: { ok: false, id: newest.id },
    });
    const listed = await agent.list();
    expect(listed.find((b) => b.id === newest.id)).toMatchObject({
      restore_tested_at: null,
      restore_test_error: expect.stringMatching(/failed verification/),
    });
    expect(listed.find((b) => b.id === passed.id)?.restore_tested_at).toEqual(expect.any(String));
  });

  it('compares the restored rows with what the point records', async () => {
    seedEventsDb(dbPath, 12);
    const m = await agent.backup('manual');
    const manifestFile = join(backupDir, `${m.id}.json`);
    writeFileSync(manifestFile, readFileSync(manifestFile, 'utf8').replace('"rows": 12', '"rows": 13'));
    const outcome = await agent.testRestore();
    expect(outcome).toMatchObject({
      outcome: 'failed',
      event: {
        rows_expected: 13,
        rows_found: 12,
        detail: 'the restored copy holds 12 rows, the restore point says 13',
      },
    });
    expect(backupFiles().filter((n) => n.includes('restore-test.db'))).toEqual([]);
  });

  it('runs under the operation lock: refused while another process backs up or restores', async () => {
    seedEventsDb(dbPath, 3);
    await agent.backup('manual');
    const other = new OperationLock(join(backupDir, '.agent.lock'));
    let release!: () => void;
    const held = other.run('restore', () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 20));
    await expect(agent.testRestore()).rejects.toBeInstanceOf(OperationInProgressError);
    release();
    await held;
    expect((await agent.testRestore()).outcome).toBe('passed');
  });
});
