import { builtEntry, readMessages } from '@pra-kit/shared/testing';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, Layout, makeLayout, startApiProcess } from './support/agent-harness';

/**
 * The workshop's PRA scenario with real processes: the data volume is lost while the API is
 * stopped; the one-shot `restore --offline` (what the restore Job runs) brings back every row of
 * the chosen backup. A tampered backup is refused (exit 4) and nothing is changed.
 */
describe('lost data volume: offline restore with the CLI', () => {
  let layout: Layout;
  beforeAll(() => (layout = makeLayout('lost-volume')));
  afterAll(() => layout.remove());

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [builtEntry('backup-agent'), ...args], {
      env: { PATH: process.env['PATH'], DB_PATH: layout.dbPath, BACKUP_DIR: layout.backupDir },
      encoding: 'utf8',
    });

  it('restores every row into an empty data directory; refuses a tampered backup', async () => {
    let api = await startApiProcess(layout);
    for (let i = 0; i < 300; i++) await (await fetch(`${api.baseUrl}/add?message=kept-${i}`)).arrayBuffer();
    const a = cli('backup');
    expect(a.status).toBe(0);
    const idA = /backup (app-[\d-]+) ok/.exec(a.stdout)?.[1] as string;
    for (let i = 0; i < 20; i++) await (await fetch(`${api.baseUrl}/add?message=after-${i}`)).arrayBuffer();
    const b = cli('backup');
    expect(b.status).toBe(0);
    const idB = /backup (app-[\d-]+) ok/.exec(b.stdout)?.[1] as string;
    const expectedA = readMessages(join(layout.backupDir, `${idA}.db`));
    expect(expectedA).toEqual(Array.from({ length: 300 }, (_, i) => `kept-${i}`));

    // Disaster: the API is stopped (scale to 0) and the data volume is gone.
    await api.stop();
    rmSync(join(layout.dir, 'data'), { recursive: true, force: true });

    // A tampered backup is refused, and nothing is written to the data volume.
    const fileB = join(layout.backupDir, `${idB}.db`);
    const bytes = readFileSync(fileB);
    bytes[4096 + 17] ^= 0x01;
    writeFileSync(fileB, bytes);
    const refused = cli('restore', '--id', idB, '--offline');
    expect(refused.status).toBe(4);
    expect(refused.stderr).toMatch(/failed verification: sha256/);
    expect(existsSync(join(layout.dir, 'data'))).toBe(false);

    // The chosen point comes back whole.
    const restored = cli('restore', '--id', idA, '--offline');
    expect(restored.status).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({
      mode: 'offline',
      rows_after: 300,
      safety_snapshot: null,
    });
    expect(readMessages(layout.dbPath)).toEqual(expectedA);

    api = await startApiProcess(layout);
    try {
      expect((await json<{ count: number }>(await fetch(`${api.baseUrl}/count`))).count).toBe(300);
      const latest = await json<{ message: string }[]>(await fetch(`${api.baseUrl}/consultation?limit=1`));
      expect(latest[0].message).toBe('kept-299');
    } finally {
      await api.stop();
    }
  });
});
