import { builtEntry, freePort, makeTempDir, startService } from '@pra-kit/shared/testing';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A real API process is killed with SIGKILL (kill -9) while clients write; after a restart on the
 * same file, every write that was acknowledged is there. This is the promise of "added".
 */
describe('kill -9 the API while it writes', () => {
  it('keeps every acknowledged write', async () => {
    const temp = makeTempDir('crash');
    const port = await freePort();
    const env = {
      DB_PATH: join(temp.path, 'data', 'app.db'),
      BACKUP_DIR: join(temp.path, 'backup'),
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    };
    const entry = builtEntry('api');
    const acked = new Map<number, string>();
    try {
      for (let round = 0; round < 3; round++) {
        const api = await startService({ entry, env, port, readyPath: '/ready' });
        let stop = false;
        const writers = Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; !stop; i++) {
            const message = `r${round}-w${w}-${i}`;
            try {
              const res = await fetch(`${api.baseUrl}/add?message=${message}`);
              if (res.status === 200) {
                const body = (await res.json()) as { id: number; message: string };
                acked.set(body.id, body.message);
              }
            } catch {
              return; // connection refused or reset: the process is gone
            }
          }
        });
        await new Promise((r) => setTimeout(r, 400));
        await api.kill9();
        stop = true;
        await Promise.all(writers);
      }
      expect(acked.size).toBeGreaterThan(100);

      // Read the file directly (SQLite recovers the WAL on open): every acknowledged row is there.
      const db = new Database(env.DB_PATH, { readonly: true });
      const stored = new Map(
        (db.prepare('SELECT id, message FROM events').all() as { id: number; message: string }[]).map((r) => [
          r.id,
          r.message,
        ]),
      );
      db.close();
      const lost = [...acked].filter(([id, message]) => stored.get(id) !== message);
      expect(lost).toEqual([]);

      // And the restarted API serves them.
      const api = await startService({ entry, env, port, readyPath: '/ready' });
      try {
        const body = (await (await fetch(`${api.baseUrl}/count`)).json()) as { count: number };
        expect(body.count).toBe(stored.size);
      } finally {
        await api.stop();
      }
      // SIGTERM is a clean shutdown: the last connection closed, so SQLite checkpointed and removed the WAL.
      expect(existsSync(`${env.DB_PATH}-wal`)).toBe(false);
    } finally {
      temp.remove();
    }
  });
});
