import { makeTempDir, seedEventsDb } from '@pra-kit/shared/testing';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApi } from './support/test-api';

/**
 * After the data volume is lost, a restarted API must not quietly create an empty database while
 * backups exist: it would serve "0 events" and the next backup of it would become the newest
 * restore point. It waits (503) until a restore puts the file back.
 */
describe('starting without a database', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('empty-start')));
  afterEach(() => temp.remove());

  it('creates an empty database for a fresh service (no backups)', async () => {
    const api = await startTestApi({ dir: temp.path });
    try {
      await api.http().get('/ready').expect(200);
      expect((await api.http().get('/count').expect(200)).body).toEqual({ count: 0 });
    } finally {
      await api.close();
    }
  });

  it('refuses to start empty when backups exist, and serves the data once a restore puts the file back', async () => {
    const backupDir = join(temp.path, 'backup');
    mkdirSync(backupDir, { recursive: true });
    const backup = join(backupDir, 'app-1795306644.db');
    seedEventsDb(backup, 7);
    const api = await startTestApi({ dir: temp.path });
    try {
      const ready = await api.http().get('/ready').expect(503);
      expect(ready.body.code).toBe('DATABASE_MISSING');
      expect(ready.body.message).toMatch(
        /refusing to create an empty database .*1 backup\(s\) exist.*restore one/,
      );
      expect((await api.http().get('/add').query({ message: 'x' }).expect(503)).body.code).toBe(
        'DATABASE_MISSING',
      );
      expect(existsSync(api.config.dbPath)).toBe(false);

      mkdirSync(join(temp.path, 'data'), { recursive: true });
      copyFileSync(backup, api.config.dbPath); // what an offline restore does (atomically)
      await api.http().get('/ready').expect(200);
      expect((await api.http().get('/count').expect(200)).body).toEqual({ count: 7 });
    } finally {
      await api.close();
    }
  });

  it('API_CREATE_DB=always starts empty anyway; never waits even without backups', async () => {
    mkdirSync(join(temp.path, 'backup'), { recursive: true });
    writeFileSync(join(temp.path, 'backup', 'app-1795306644.db'), 'x');
    const always = await startTestApi({ dir: temp.path, env: { API_CREATE_DB: 'always' } });
    await always.http().get('/ready').expect(200);
    await always.close();

    const other = makeTempDir('never');
    const never = await startTestApi({ dir: other.path, env: { API_CREATE_DB: 'never' } });
    try {
      expect((await never.http().get('/ready').expect(503)).body.message).toMatch(/API_CREATE_DB=never/);
    } finally {
      await never.close();
      other.remove();
    }
  });
});
