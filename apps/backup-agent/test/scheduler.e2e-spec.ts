import { seedEventsDb } from '@pra-kit/shared/testing';
import { Layout, makeLayout, metric, startAgentProcess, until } from './support/agent-harness';

/** The real agent on a 1-second schedule: failed ticks are counted and never crash it. */
describe('scheduled backups', () => {
  let layout: Layout;
  beforeAll(() => (layout = makeLayout('scheduler')));
  afterAll(() => layout.remove());

  it('counts failures while the database is missing, keeps running, and backs up once it exists', async () => {
    const agent = await startAgentProcess(layout, {
      BACKUP_SCHEDULE: '* * * * * *',
      BACKUP_ON_START: 'true',
    });
    try {
      await until(async () => (await metric(agent.baseUrl, 'pra_backup_failures_total')) >= 2);
      expect((await fetch(`${agent.baseUrl}/health`)).status).toBe(200);
      expect(await metric(agent.baseUrl, 'pra_backup_taken_total')).toBe(0);

      seedEventsDb(layout.dbPath, 12);
      await until(async () => (await metric(agent.baseUrl, 'pra_backup_taken_total')) >= 2);
      const list = (await (await fetch(`${agent.baseUrl}/backups`)).json()) as {
        rows: number;
        reason: string;
      }[];
      expect(list.length).toBeGreaterThanOrEqual(2);
      expect(list.every((b) => b.rows === 12 && b.reason === 'scheduled')).toBe(true);
      expect(await metric(agent.baseUrl, 'pra_backup_last_rows')).toBe(12);
      expect(agent.child.exitCode).toBeNull();
    } finally {
      await agent.stop();
    }
  });
});
