import { seedEventsDb } from '@pra-kit/shared/testing';
import { Layout, makeLayout, startAgentProcess } from './support/agent-harness';

/** The real agent on a 1-second schedule: failed ticks are counted and never crash it. */
describe('scheduled backups', () => {
  let layout: Layout;
  beforeAll(() => (layout = makeLayout('scheduler')));
  afterAll(() => layout.remove());

  const metric = async (baseUrl: string, name: string) => {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  };
  const until = async (check: () => Promise<boolean>) => {
    const deadline = Date.now() + 15_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('counts failures while the database is missing, keeps running, and backs up once it exists', async () => {
    const agent = await startAgentProcess(layout, { BACKUP_SCHEDULE: '* * * * * *', BACKUP_ON_START: 'true' });
    try {
      await until(async () => (await metric(agent.baseUrl, 'pra_backup_failures_total')) >= 2);
      expect((await fetch(`${agent.baseUrl}/health`)).status).toBe(200);
      expect(await metric(agent.baseUrl, 'pra_backup_taken_total')).toBe(0);

      seedEventsDb(layout.dbPath, 12);
      await until(async () => (await metric(agent.baseUrl, 'pra_backup_taken_total')) >= 2);
      const list = (await (await fetch(`${agent.baseUrl}/backups`)).json()) as { rows: number; reason: string }[];
      expect(list.length).toBeGreaterThanOrEqual(2);
      expect(list.every((b) => b.rows === 12 && b.reason === 'scheduled')).toBe(true);
      expect(await metric(agent.baseUrl, 'pra_backup_last_rows')).toBe(12);
      expect(agent.child.exitCode).toBeNull();
    } finally {
      await agent.stop();
    }
  });
});
