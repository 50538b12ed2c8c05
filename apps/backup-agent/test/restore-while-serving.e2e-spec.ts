import { readMessages, ServiceProcess } from '@pra-kit/shared/testing';
import { join } from 'node:path';
import { json, Layout, makeLayout, startAgentProcess, startApiProcess } from './support/agent-harness';

/**
 * Restore a chosen older point while the real API serves readers and writers: no request gets a
 * 5xx, afterwards /count equals the backup's rows, every acknowledged write is either in the safety
 * snapshot or in the restored database, and restoring the safety snapshot brings the newer state back.
 */
describe('online restore while the API serves', () => {
  let layout: Layout;
  let api: ServiceProcess;
  let agent: ServiceProcess;
  const statuses = new Map<number, number>();
  const record = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);

  beforeAll(async () => {
    layout = makeLayout('restore-serving');
    api = await startApiProcess(layout);
    agent = await startAgentProcess(layout, { BACKUP_KEEP_LAST: '100' });
  });
  afterAll(async () => {
    await agent?.stop();
    await api?.stop();
    layout.remove();
  });

  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${api.baseUrl}${path}`);
    record(res.status);
    return json<T>(res);
  };
  const post = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${agent.baseUrl}${path}`, { method: 'POST' });
    return { status: res.status, body: await json<T>(res) };
  };

  /** Readers and writers hitting the API until stopped; returns every acknowledged write. */
  function load(tag: string, writers: number) {
    let running = true;
    const acked: string[] = [];
    const tasks = [
      ...Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; running; i++) {
          const body = await get<{ message: string }>(`/add?message=${tag}-${w}-${i}`);
          acked.push(body.message);
        }
      }),
      ...Array.from({ length: 3 }, async () => {
        while (running) {
          await get('/count');
          await get('/consultation?limit=20');
        }
      }),
    ];
    return { acked, stop: async () => ((running = false), await Promise.all(tasks)) };
  }

  it('restores the chosen point with no 5xx, and the safety snapshot undoes it', async () => {
    const phase1 = load('before', 4);
    await new Promise((r) => setTimeout(r, 300));
    const chosen = await post<{ id: string; rows: number }>('/backups');
    expect(chosen.status).toBe(201);
    await new Promise((r) => setTimeout(r, 300));

    // Restore while readers and writers keep going.
    const restore = await post<{ rows_after: number; safety_snapshot: string; mode: string }>(
      `/restore/${chosen.body.id}`,
    );
    await phase1.stop();
    expect(restore.status).toBe(200);
    expect(restore.body.mode).toBe('online');

    const safety = readMessages(join(layout.backupDir, `${restore.body.safety_snapshot}.db`));
    const kept = new Set([...safety, ...readMessages(layout.dbPath)]);
    const lost = phase1.acked.filter((m) => !kept.has(m));
    expect(lost).toEqual([]); // every acknowledged write is in the safety snapshot or the live db
    expect(safety.length).toBeGreaterThan(chosen.body.rows);

    // Readers only: /count equals the chosen backup's rows exactly after a restore.
    const phase2 = load('readers-only', 0);
    const again = await post<{ rows_after: number }>(`/restore/${chosen.body.id}`);
    await phase2.stop();
    expect(again.status).toBe(200);
    expect((await get<{ count: number }>('/count')).count).toBe(chosen.body.rows);

    // Undo: the first restore's safety snapshot brings the newer state back.
    const undo = await post<{ rows_after: number }>(`/restore/${restore.body.safety_snapshot}`);
    expect(undo.status).toBe(200);
    expect((await get<{ count: number }>('/count')).count).toBe(safety.length);

    const serverErrors = [...statuses].filter(([status]) => status >= 500);
    expect(serverErrors).toEqual([]);
    expect(statuses.get(200)).toBeGreaterThan(100);
  });
});
