import { readCatalogDir } from '@pra-kit/shared';
import { seedEventsDb } from '@pra-kit/shared/testing';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, Layout, makeLayout, startAgentProcess } from './support/agent-harness';

/**
 * `kill -9` the agent in the middle of backups, 12 times: no partial or unverified backup is ever
 * listed, every listed one matches its checksum and passes integrity_check, and after a restart the
 * leftovers are gone and the next backup succeeds.
 */
describe('kill -9 the agent during backups', () => {
  let layout: Layout;
  beforeAll(() => {
    layout = makeLayout('agent-crash');
    seedEventsDb(layout.dbPath, 150_000); // ~10 MB: a backup takes long enough to be interrupted
  });
  afterAll(() => layout.remove());

  function checkListedBackups(): number {
    const listed = readCatalogDir(layout.backupDir);
    for (const entry of listed) {
      expect({ id: entry.id, manifest: entry.manifest !== null }).toEqual({ id: entry.id, manifest: true });
      const bytes = readFileSync(join(layout.backupDir, entry.file));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(entry.manifest?.sha256);
      const db = new Database(join(layout.backupDir, entry.file), { readonly: true });
      expect(db.pragma('quick_check', { simple: true })).toBe('ok');
      db.close();
    }
    return listed.length;
  }

  it('never lists a partial backup, and recovers after each kill', async () => {
    let interruptedMidBackup = 0;
    for (let round = 0; round < 12; round++) {
      const agent = await startAgentProcess(layout, { BACKUP_KEEP_LAST: '1000', BACKUP_ON_START: 'true' });
      let running = true;
      const requests = (async () => {
        while (running) {
          try {
            await (await fetch(`${agent.baseUrl}/backups`, { method: 'POST' })).arrayBuffer();
          } catch {
            return; // killed
          }
        }
      })();
      await new Promise((r) => setTimeout(r, 150 + ((round * 37) % 200)));
      await agent.kill9();
      running = false;
      await requests;
      if (readdirSync(layout.backupDir).some((n) => n.endsWith('.tmp'))) interruptedMidBackup++;
      checkListedBackups();
    }
    // The kills really landed inside backups (temp files left behind), not only between them.
    expect(interruptedMidBackup).toBeGreaterThanOrEqual(3);

    const agent = await startAgentProcess(layout, { BACKUP_KEEP_LAST: '1000' });
    try {
      const before = checkListedBackups();
      expect(readdirSync(layout.backupDir).filter((n) => n.endsWith('.tmp'))).toEqual([]); // cleaned at start
      const res = await fetch(`${agent.baseUrl}/backups`, { method: 'POST' });
      expect(res.status).toBe(201);
      expect((await json<{ rows: number }>(res)).rows).toBe(150_000);
      expect(checkListedBackups()).toBe(before + 1);
    } finally {
      await agent.stop();
    }
  });
});
