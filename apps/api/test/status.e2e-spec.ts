import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApi, TestApi } from './support/test-api';

/** Workshop Atelier 1: /status reports the count and the newest backup with its age. */
describe('GET /status', () => {
  const now = new Date('2026-11-21T12:00:00.000Z');
  let api: TestApi;
  beforeEach(async () => (api = await startTestApi({ clock: () => now })));
  afterEach(() => api.close());

  it('answers nulls when there is no backup yet', async () => {
    await api.http().get('/add').query({ message: 'a' }).expect(200);
    expect((await api.http().get('/status').expect(200)).body).toEqual({
      count: 1,
      last_backup_file: null,
      backup_age_seconds: null,
      last_backup_verified: null,
      last_backup_at: null,
      last_auto_restore: null,
      last_restore_test: null,
    });
  });

  it('reports the newest backup file and its age, with the manifest verification when present', async () => {
    const dir = api.config.backupDir;
    mkdirSync(dir, { recursive: true });
    const seconds = now.getTime() / 1000;
    writeFileSync(join(dir, `app-${seconds - 3600}.db`), 'old');
    writeFileSync(join(dir, `app-${seconds - 90}.db`), 'newest');
    writeFileSync(join(dir, `app-${seconds - 30}.db.tmp`), 'partial, never listed');
    writeFileSync(join(dir, 'README.txt'), 'not a backup');

    let body = (await api.http().get('/status').expect(200)).body;
    expect(body).toEqual({
      count: 0,
      last_backup_file: `app-${seconds - 90}.db`,
      backup_age_seconds: 90,
      last_backup_verified: null,
      last_backup_at: new Date((seconds - 90) * 1000).toISOString(),
      last_auto_restore: null,
      last_restore_test: null,
    });

    const id = `app-${seconds - 12}`;
    writeFileSync(join(dir, `${id}.db`), 'abc');
    writeFileSync(
      join(dir, `${id}.json`),
      JSON.stringify({
        format: 1,
        id,
        file: `${id}.db`,
        created_at: new Date(now.getTime() - 12_500).toISOString(),
        size: 3,
        sha256: 'f'.repeat(64),
        page_size: 4096,
        page_count: 1,
        rows: 0,
        schema_version: 1,
        sqlite_version: '3.53.2',
        reason: 'scheduled',
        duration_ms: 4,
        verification: { mode: 'quick', ok: true, checked_at: now.toISOString() },
      }),
    );
    body = (await api.http().get('/status').expect(200)).body;
    expect(body).toMatchObject({
      last_backup_file: `${id}.db`,
      backup_age_seconds: 12,
      last_backup_verified: true,
    });
  });

  it('shows the last automatic restore, as the agent recorded it in the backup directory', async () => {
    const dir = api.config.backupDir;
    mkdirSync(dir, { recursive: true });
    const last = {
      at: '2026-11-21T11:59:00.000Z',
      outcome: 'restored',
      id: 'app-1795262300',
      rows: 42,
      created_at: '2026-11-21T11:58:20.000Z',
      from: 'local',
      duration_ms: 35,
      detail:
        'restored app-1795262300 (42 rows, taken 2026-11-21T11:58:20.000Z) from /backup into /data/app.db',
    };
    writeFileSync(
      join(dir, '.auto-restore.json'),
      JSON.stringify({ restores_total: 1, failures_total: 0, last, last_restore: last, last_failure: null }),
    );
    expect((await api.http().get('/status').expect(200)).body).toMatchObject({ last_auto_restore: last });
    writeFileSync(join(dir, '.auto-restore.json'), 'not json');
    expect((await api.http().get('/status').expect(200)).body).toMatchObject({ last_auto_restore: null });
  });

  it('shows the last scheduled restore test, as the agent recorded it', async () => {
    const dir = api.config.backupDir;
    mkdirSync(dir, { recursive: true });
    const last = {
      at: '2026-11-21T03:30:00.000Z',
      ok: false,
      id: 'app-1795230000',
      rows_expected: 42,
      rows_found: null,
      duration_ms: 12,
      detail: 'the restore failed: backup app-1795230000 failed verification: sha256 0000 does not match',
    };
    writeFileSync(
      join(dir, '.restore-tests.json'),
      JSON.stringify({
        tests_total: 3,
        failures_total: 1,
        last,
        last_success: null,
        last_failure: last,
        points: { 'app-1795230000': { tested_at: null, error: last.detail } },
      }),
    );
    expect((await api.http().get('/status').expect(200)).body).toMatchObject({ last_restore_test: last });
  });
});
