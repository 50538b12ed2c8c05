import { builtEntry, freePort, readMessages, startService } from '@pra-kit/shared/testing';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  json,
  Layout,
  makeLayout,
  metric,
  startAgentProcess,
  startApiProcess,
  until,
} from './support/agent-harness';
import { newBucketName, S3TestServer, startS3Server } from './support/s3-server';

/**
 * Recovery without a human, with real processes: the data volume is lost under a serving API,
 * the agent restarts (BACKUP_AUTO_RESTORE=latest) and restores the newest verified point before
 * it answers; the API serves it again. `restore --auto` (the init container) restores from the
 * bucket when both volumes are gone, and refuses a point that fails its verification.
 */
describe('automatic restore at start', () => {
  let layout: Layout;
  beforeEach(() => (layout = makeLayout('auto-restore')));
  afterEach(() => layout.remove());

  const TOKEN = 'auto-restore-token-0123456789';
  const cli = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, [builtEntry('backup-agent'), ...args], {
      env: { PATH: process.env['PATH'], DB_PATH: layout.dbPath, BACKUP_DIR: layout.backupDir, ...env },
      encoding: 'utf8',
    });
  const add = async (baseUrl: string, prefix: string, n: number) => {
    for (let i = 0; i < n; i++) await (await fetch(`${baseUrl}/add?message=${prefix}-${i}`)).arrayBuffer();
  };
  interface AutoReady {
    enabled: boolean;
    restores_total: number;
    failures_total: number;
    last: { outcome: string; id: string; rows: number; from: string } | null;
  }
  const autoReady = async (baseUrl: string) =>
    (await json<{ auto_restore: AutoReady }>(await fetch(`${baseUrl}/ready`))).auto_restore;

  it('the database deleted and the agent restarted: the newest point is back, counted and shown', async () => {
    const api = await startApiProcess(layout);
    const env = { BACKUP_AUTO_RESTORE: 'latest', BACKUP_TOKEN: TOKEN };
    let agent = await startAgentProcess(layout, env);
    try {
      expect(await autoReady(agent.baseUrl)).toEqual({
        enabled: true,
        restores_total: 0,
        failures_total: 0,
        last: null,
      });
      await add(api.baseUrl, 'kept', 25);
      const backup = await fetch(`${agent.baseUrl}/backups`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      expect(backup.status).toBe(201);
      const { id } = await json<{ id: string }>(backup);
      await add(api.baseUrl, 'after-the-backup', 5);

      // The disaster: the data volume is gone under the running API; the agent's container restarts.
      rmSync(join(layout.dir, 'data'), { recursive: true, force: true });
      expect((await fetch(`${api.baseUrl}/count`)).status).toBe(503);
      await agent.kill9();
      agent = await startAgentProcess(layout, env);

      // By the time the agent answers, the point is restored; nobody did anything.
      expect(await autoReady(agent.baseUrl)).toMatchObject({
        enabled: true,
        restores_total: 1,
        failures_total: 0,
        last: { outcome: 'restored', id, rows: 25, from: 'local' },
      });
      expect(await metric(agent.baseUrl, 'pra_auto_restores_total')).toBe(1);
      expect(await metric(agent.baseUrl, 'pra_auto_restore_failures_total')).toBe(0);
      expect(await metric(agent.baseUrl, 'pra_auto_restore_last_timestamp_seconds')).toBeGreaterThan(
        Date.now() / 1000 - 60,
      );
      expect(agent.output()).toMatch(new RegExp(`automatic restore: restored ${id} \\(25 rows`));
      // The API, still running, opens the restored file: the backup's rows, and it takes writes.
      await until(
        async () => (await fetch(`${api.baseUrl}/count`)).status === 200,
        10_000,
        'the API serving',
      );
      expect((await json<{ count: number }>(await fetch(`${api.baseUrl}/count`))).count).toBe(25);
      await add(api.baseUrl, 'after-the-restore', 2);
      expect((await json<{ count: number }>(await fetch(`${api.baseUrl}/count`))).count).toBe(27);
      expect(
        (await json<{ last_auto_restore: { id: string } }>(await fetch(`${api.baseUrl}/status`)))
          .last_auto_restore,
      ).toMatchObject({ outcome: 'restored', id });

      // Another restart with the database there: nothing is restored over it.
      await agent.kill9();
      agent = await startAgentProcess(layout, env);
      expect((await autoReady(agent.baseUrl)).restores_total).toBe(1);
      expect((await json<{ count: number }>(await fetch(`${api.baseUrl}/count`))).count).toBe(27);
    } finally {
      await agent.stop();
      await api.stop();
    }
  });

  describe('restore --auto (the init container of the auto-restore overlay)', () => {
    let s3: S3TestServer;
    beforeAll(async () => (s3 = await startS3Server()));
    afterAll(() => s3.close());

    it('both volumes lost: restores the newest point from the bucket; with the database there, does nothing', async () => {
      const s3env = s3.env(newBucketName('auto'));
      const api = await startApiProcess(layout);
      await add(api.baseUrl, 'offsite', 12);
      await api.stop();
      const backup = cli(s3env, 'backup');
      expect(backup.status).toBe(0); // uploaded before it exits
      const id = /backup (app-[\d-]+) ok/.exec(backup.stdout)?.[1] as string;
      rmSync(join(layout.dir, 'data'), { recursive: true, force: true });
      rmSync(layout.backupDir, { recursive: true, force: true });

      const run = cli(s3env, 'restore', '--auto');
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        outcome: 'restored',
        result: { mode: 'offline', rows_after: 12, restored: { id, from: 's3' } },
      });
      expect(readMessages(layout.dbPath)).toEqual(Array.from({ length: 12 }, (_, i) => `offsite-${i}`));
      expect(JSON.parse(readFileSync(join(layout.backupDir, '.auto-restore.json'), 'utf8'))).toMatchObject({
        restores_total: 1,
        last: { outcome: 'restored', id, from: 's3' },
      });

      const again = cli(s3env, 'restore', '--auto');
      expect(again.status).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'not-needed' });
      expect(cli(s3env, 'restore', '--auto', '--id', id).status).toBe(2);
    });

    it('refuses a point that fails its verification: exit 4, no database, the API waits for a human', async () => {
      const api = await startApiProcess(layout);
      await add(api.baseUrl, 'row', 8);
      await api.stop();
      expect(cli({}, 'backup').status).toBe(0);
      await new Promise((r) => setTimeout(r, 1100)); // another second, another id
      const second = cli({}, 'backup');
      const newest = /backup (app-[\d-]+) ok/.exec(second.stdout)?.[1] as string;
      const file = join(layout.backupDir, `${newest}.db`);
      const bytes = readFileSync(file);
      bytes[4096 + 64] ^= 0xff;
      writeFileSync(file, bytes);
      rmSync(join(layout.dir, 'data'), { recursive: true, force: true });

      const refused = cli({}, 'restore', '--auto');
      expect(refused.status).toBe(4);
      expect(JSON.parse(refused.stdout)).toMatchObject({
        outcome: 'refused',
        detail: expect.stringMatching(new RegExp(`backup ${newest} failed verification: sha256`)),
      });
      expect(refused.stderr).toMatch(/automatic restore refused/);
      expect(existsSync(layout.dbPath)).toBe(false);

      // The API does not start empty over lost data: backups exist, so it waits (503) for a restore.
      const port = await freePort();
      const waiting = await startService({
        entry: builtEntry('api'),
        port,
        readyPath: '/health',
        env: {
          DB_PATH: layout.dbPath,
          BACKUP_DIR: layout.backupDir,
          API_PORT: String(port),
          API_HOST: '127.0.0.1',
        },
      });
      try {
        const ready = await fetch(`${waiting.baseUrl}/ready`);
        expect(ready.status).toBe(503);
        expect(await json(ready)).toMatchObject({
          code: 'DATABASE_MISSING',
          message: expect.stringMatching(/refusing to create an empty database/),
        });
        expect(existsSync(layout.dbPath)).toBe(false);
      } finally {
        await waiting.stop();
      }
    });
  });
});
