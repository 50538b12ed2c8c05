import { readCatalogDir } from '@pra-kit/shared';
import { builtEntry, readMessages } from '@pra-kit/shared/testing';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { json, Layout, makeLayout, startApiProcess } from './support/agent-harness';

/**
 * An offline restore replaces the database file. With real processes: it is refused (exit 5,
 * DATABASE_IN_USE, nothing changed) while the built API serves the database, or while any other
 * process holds a connection to it; it goes on once the API is stopped; `--force` goes on anyway
 * and says so.
 */
describe('offline restore of a database in use', () => {
  let layout: Layout;
  beforeEach(() => (layout = makeLayout('in-use')));
  afterEach(() => layout.remove());

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [builtEntry('backup-agent'), ...args], {
      env: { PATH: process.env['PATH'], DB_PATH: layout.dbPath, BACKUP_DIR: layout.backupDir },
      encoding: 'utf8',
    });
  const add = async (baseUrl: string, prefix: string, n: number) => {
    for (let i = 0; i < n; i++) await (await fetch(`${baseUrl}/add?message=${prefix}-${i}`)).arrayBuffer();
  };
  const backupIds = () => readCatalogDir(layout.backupDir).map((e) => e.id);

  it('refuses while the API serves it, restores once the API is stopped, and --force says what it did', async () => {
    let api = await startApiProcess(layout);
    try {
      await add(api.baseUrl, 'kept', 30);
      const backup = cli('backup');
      expect(backup.status).toBe(0);
      const id = /backup (app-[\d-]+) ok/.exec(backup.stdout)?.[1] as string;
      await add(api.baseUrl, 'after', 12);

      // Refused: exit 5, a message that says what to stop or what to use instead, nothing changed.
      for (const args of [['--offline'], ['--offline', '--dry-run']]) {
        const refused = cli('restore', '--latest', ...args);
        expect({ args, status: refused.status }).toEqual({ args, status: 5 });
        expect(refused.stderr).toMatch(/refusing an offline restore: .*app\.db is open in another process/);
        expect(refused.stderr).toMatch(/scale deployment api --replicas=0/);
        expect(refused.stderr).toMatch(/restore online.*POST \/restore\/<id>/);
        expect(refused.stdout).toBe('');
      }
      expect(backupIds()).toEqual([id]); // no safety snapshot either
      expect((await json<{ count: number }>(await fetch(`${api.baseUrl}/count`))).count).toBe(42);
      await add(api.baseUrl, 'still-serving', 1);
      expect((await json<{ count: number }>(await fetch(`${api.baseUrl}/count`))).count).toBe(43);

      // Stopped: the same command restores, with a safety snapshot of what is replaced.
      await api.stop();
      const restored = cli('restore', '--latest', '--offline');
      expect(restored.status).toBe(0);
      const result = JSON.parse(restored.stdout);
      expect(result).toMatchObject({ mode: 'offline', rows_before: 43, rows_after: 30, restored: { id } });
      expect(result.notes).toEqual([]);
      expect(readMessages(join(layout.backupDir, `${result.safety_snapshot}.db`))).toHaveLength(43);
      expect(readMessages(layout.dbPath)).toEqual(Array.from({ length: 30 }, (_, i) => `kept-${i}`));

      // --force: the expert's way, with the API serving again; the answer says it was in use.
      api = await startApiProcess(layout);
      expect((await json<{ count: number }>(await fetch(`${api.baseUrl}/count`))).count).toBe(30);
      expect(cli('restore', '--latest', '--force').status).toBe(2); // --force goes with --offline only
      const forced = cli('restore', '--latest', '--offline', '--force');
      expect(forced.status).toBe(0);
      expect(JSON.parse(forced.stdout).notes).toEqual([
        expect.stringMatching(/app\.db was open in another process; replaced anyway \(--force\)/),
      ]);
      expect(forced.stderr).toMatch(/WARN offline restore with --force/);
    } finally {
      await api.stop();
    }
  });

  it('refuses while any other process holds a connection, and goes on once it is killed -9', async () => {
    const api = await startApiProcess(layout);
    await add(api.baseUrl, 'row', 5);
    expect(cli('backup').status).toBe(0);
    await api.stop();

    // A plain second connection (sqlite3 left open in a terminal, a script, an agent reading it).
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(process.argv[1]);
         db.prepare('SELECT count(*) FROM events').get();
         process.stdout.write('open\\n');
         setInterval(() => {}, 1000);`,
        layout.dbPath,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: join(__dirname, '../../..') },
    );
    const exited = new Promise((r) => holder.once('exit', r));
    try {
      await new Promise((r) => holder.stdout?.once('data', r));
      const refused = cli('restore', '--latest', '--offline');
      expect(refused.status).toBe(5);
      expect(refused.stderr).toMatch(/is open in another process/);
    } finally {
      holder.kill('SIGKILL');
      await exited;
    }
    const restored = cli('restore', '--latest', '--offline');
    expect(restored.status).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ rows_after: 5, notes: [] });
  });
});
