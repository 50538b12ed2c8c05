import Database from 'better-sqlite3';
import { join } from 'node:path';
import { json, Layout, makeLayout, startAgentProcess, startApiProcess } from './support/agent-harness';
import { ServiceProcess } from '@pra-kit/shared/testing';

/**
 * Backups are consistent while the API writes: the real API process is hammered with /add from 6
 * concurrent clients while the real agent process takes 50 backups. Each backup passes
 * integrity_check, and its row count lies between the counts read just before and just after it.
 */
describe('backups under a write load', () => {
  let layout: Layout;
  let api: ServiceProcess;
  let agentProcess: ServiceProcess;

  beforeAll(async () => {
    layout = makeLayout('load');
    api = await startApiProcess(layout);
    agentProcess = await startAgentProcess(layout, { BACKUP_KEEP_LAST: '100' });
  });
  afterAll(async () => {
    await agentProcess?.stop();
    await api?.stop();
    layout.remove();
  });

  it('takes 50 consistent backups while 6 writers add events', async () => {
    let writing = true;
    let acked = 0;
    const writers = Array.from({ length: 6 }, async (_, w) => {
      for (let i = 0; writing; i++) {
        const res = await fetch(`${api.baseUrl}/add?message=w${w}-${i}`);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        acked++;
      }
    });
    const count = async () => (await json<{ count: number }>(await fetch(`${api.baseUrl}/count`))).count;

    const results: { id: string; rows: number; before: number; after: number }[] = [];
    try {
      while (acked < 200) await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; i < 50; i++) {
        const before = await count();
        const res = await fetch(`${agentProcess.baseUrl}/backups`, { method: 'POST' });
        const manifest = await json<{ id: string; rows: number }>(res);
        expect(res.status).toBe(201);
        const after = await count();
        results.push({ id: manifest.id, rows: manifest.rows, before, after });
      }
    } finally {
      writing = false;
      await Promise.all(writers);
    }

    expect(new Set(results.map((r) => r.id)).size).toBe(50);
    expect(results[49].after).toBeGreaterThan(results[0].before); // the load really ran throughout
    for (const r of results) {
      const db = new Database(join(layout.backupDir, `${r.id}.db`), { readonly: true });
      const check = db.pragma('integrity_check', { simple: true });
      const rows = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      db.close();
      expect({ id: r.id, check }).toEqual({ id: r.id, check: 'ok' });
      expect(rows).toBe(r.rows);
      expect(r.rows).toBeGreaterThanOrEqual(r.before);
      expect(r.rows).toBeLessThanOrEqual(r.after);
    }
  });
});
