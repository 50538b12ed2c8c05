import { builtEntry, seedEventsDb } from '@pra-kit/shared/testing';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBackupAgent } from '../src/agent.factory';
import { silentLogger } from '../src/core/ports';
import {
  json,
  Layout,
  makeLayout,
  metric,
  startAgentProcess,
  startApiProcess,
  until,
} from './support/agent-harness';
import { sha256 } from './support/s3-server';

/**
 * Restore verification on a schedule, with the real agent: every second here
 * (BACKUP_VERIFY_RESTORE_SCHEDULE), the newest point is restored into a scratch file, checked and
 * removed. A tampered point makes the test fail: the failure metric passes the success one (the
 * alert PraRestoreTestFailed), GET /backups says so on the point, and nothing is left behind.
 */
describe('scheduled restore tests (real agent)', () => {
  let layout: Layout;
  beforeEach(() => {
    layout = makeLayout('restore-test');
    seedEventsDb(layout.dbPath, 30);
  });
  afterEach(() => layout.remove());

  const TOKEN = 'restore-test-token-0123456789';
  const liveSha = () => sha256(readFileSync(layout.dbPath));
  const scratch = () => readdirSync(layout.backupDir).filter((n) => n.includes('restore-test.db'));
  interface Listed {
    id: string;
    restore_tested_at: string | null;
    restore_test_error: string | null;
  }

  it('passes on good points, fails on a tampered one and alerts, never leaves a scratch file', async () => {
    const live = liveSha();
    const agent = await startAgentProcess(layout, {
      BACKUP_TOKEN: TOKEN,
      BACKUP_VERIFY_RESTORE_SCHEDULE: '* * * * * *',
    });
    try {
      // A restore test runs every second and holds the lock meanwhile: 409, then again.
      const backup = async () => {
        for (;;) {
          const res = await fetch(`${agent.baseUrl}/backups`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${TOKEN}` },
          });
          if (res.status === 409) {
            await new Promise((r) => setTimeout(r, 50));
            continue;
          }
          expect(res.status).toBe(201);
          return (await json<{ id: string }>(res)).id;
        }
      };
      const listed = async (id: string) =>
        (await json<Listed[]>(await fetch(`${agent.baseUrl}/backups`))).find((b) => b.id === id) as Listed;
      const good = await backup();
      await until(
        async () => (await listed(good)).restore_tested_at !== null,
        10_000,
        'a passed restore test',
      );
      const success = await metric(agent.baseUrl, 'pra_restore_test_last_success_timestamp_seconds');
      expect(success).toBeGreaterThan(Date.now() / 1000 - 30);
      expect(await metric(agent.baseUrl, 'pra_restore_test_failures_total')).toBe(0);
      expect(await metric(agent.baseUrl, 'pra_restore_tests_total')).toBeGreaterThanOrEqual(1);

      // The newest point is damaged on the volume (a bad disk, a hand edit): the next test fails.
      await new Promise((r) => setTimeout(r, 1100)); // another second, another id
      const bad = await backup();
      const file = join(layout.backupDir, `${bad}.db`);
      const bytes = readFileSync(file);
      bytes[4096 + 500] ^= 0x04;
      writeFileSync(file, bytes);
      await until(
        async () =>
          (await metric(agent.baseUrl, 'pra_restore_test_last_failure_timestamp_seconds')) >
          (await metric(agent.baseUrl, 'pra_restore_test_last_success_timestamp_seconds')),
        10_000,
        'a failed restore test (the PraRestoreTestFailed condition)',
      );
      expect(await metric(agent.baseUrl, 'pra_restore_test_failures_total')).toBeGreaterThanOrEqual(1);
      expect(await listed(bad)).toMatchObject({
        restore_tested_at: null,
        restore_test_error: expect.stringMatching(new RegExp(`backup ${bad} failed verification: sha256`)),
      });
      expect((await listed(good)).restore_tested_at).toEqual(expect.any(String));
      const ready = await json<{ restore_test: { schedule: string; last: { ok: boolean; id: string } } }>(
        await fetch(`${agent.baseUrl}/ready`),
      );
      expect(ready.restore_test).toMatchObject({ schedule: '* * * * * *', last: { ok: false, id: bad } });
      expect(agent.output()).toMatch(
        new RegExp(`restore test FAILED for ${bad}: the restore failed: backup ${bad}`),
      );
    } finally {
      await agent.stop();
    }
    // Nothing left behind, the tampered backup kept for a person to look at, the live db untouched.
    expect(scratch()).toEqual([]);
    expect(readdirSync(layout.backupDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(liveSha()).toBe(live);

    // The one-shot command, for CronJob mode: the same test, exit 4 on the tampered point.
    const cli = spawnSync(process.execPath, [builtEntry('backup-agent'), 'test-restore'], {
      env: { PATH: process.env['PATH'], DB_PATH: layout.dbPath, BACKUP_DIR: layout.backupDir },
      encoding: 'utf8',
    });
    expect(cli.status).toBe(4);
    expect(JSON.parse(cli.stdout)).toMatchObject({ outcome: 'failed', ok: false });
    expect(scratch()).toEqual([]);
  });

  it('a scratch file left by a killed test is removed when the agent starts', async () => {
    const agent = await startAgentProcess(layout, { BACKUP_VERIFY_RESTORE_SCHEDULE: 'off' });
    await agent.stop();
    writeFileSync(join(layout.backupDir, '.restore-test.db.tmp'), 'left by kill -9');
    writeFileSync(join(layout.backupDir, '..restore-test.db.tmp.restore.tmp'), 'left by kill -9');
    const again = await startAgentProcess(layout, { BACKUP_VERIFY_RESTORE_SCHEDULE: 'off' });
    try {
      await until(() => scratch().length === 0, 10_000, 'leftovers removed');
    } finally {
      await again.stop();
    }
  });
});

/**
 * With continuous replication the test restores the state of a minute ago, replaying the chain
 * like `POST /restore?at=`. Here the agent runs in this process and looks back half a second (not
 * a minute: a chain would have to be a minute old), while the real API writes and stamps commits.
 */
describe('scheduled restore test with continuous replication (point in time)', () => {
  let layout: Layout;
  beforeEach(() => (layout = makeLayout('restore-test-pitr')));
  afterEach(() => layout.remove());

  it('replays the chain onto its snapshot into a scratch file, and checks it', async () => {
    const api = await startApiProcess(layout);
    const agent = buildBackupAgent(
      {
        dbPath: layout.dbPath,
        backupDir: layout.backupDir,
        verify: 'quick',
        retention: { keepLast: 100, hourly: 0, daily: 0, weekly: 0 },
        offsite: null,
        replication: { syncIntervalMs: 200, windowMs: 3_600_000, follow: true },
      },
      { logger: silentLogger },
    );
    try {
      for (let i = 0; i < 20; i++)
        await (await fetch(`${api.baseUrl}/add?message=before-${i}`)).arrayBuffer();
      agent.replication?.start();
      await until(
        async () => (await agent.chains()).some((c) => c.status === 'live' && c.from !== null),
        15_000,
        'a live chain',
      );
      for (let i = 0; i < 30; i++) await (await fetch(`${api.baseUrl}/add?message=after-${i}`)).arrayBuffer();
      await new Promise((r) => setTimeout(r, 800)); // the 50 rows are older than the instant tested
      const live = sha256(readFileSync(layout.dbPath));

      const outcome = await agent.testRestore({ lookbackMs: 500 });
      expect(outcome).toMatchObject({
        outcome: 'passed',
        event: {
          ok: true,
          rows_expected: 50,
          rows_found: 50,
          detail: expect.stringMatching(
            /^restored the state of .* transaction\(s\) of chain-\d+\) into a scratch file/,
          ),
        },
      });
      expect((outcome as { event: { detail: string } }).event.detail).not.toMatch(
        /the newest restore point was tested/,
      );
      expect(
        readdirSync(layout.backupDir).filter((n) => n.includes('restore-test.db') || n.includes('.pitr-')),
      ).toEqual([]);
      expect(sha256(readFileSync(layout.dbPath))).toBe(live);
      expect((await agent.chains()).filter((c) => c.status === 'live')).toHaveLength(1); // the chain goes on
    } finally {
      await agent.replication?.stop();
      await api.stop();
    }
  });
});
