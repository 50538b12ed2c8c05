import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Counter, Registry } from 'prom-client';
import { BackupAgent } from '../core/backup-agent';
import { OperationInProgressError } from '../core/errors';
import { BackupScheduler } from './backup.scheduler';

/** The tick's decisions, with an agent whose state we set (the real one is exercised end to end). */
describe('BackupScheduler.tick', () => {
  beforeAll(() => Logger.overrideLogger(false));

  function setup(agent: Partial<BackupAgent>) {
    // The counter the app injects is a Prometheus counter too (AgentMetrics.skippedTicks).
    const skippedTicks = new Counter({ name: 'skipped', help: 'skipped ticks', registers: [new Registry()] });
    const scheduler = new BackupScheduler(
      { schedule: '0 * * * * *', backupOnStart: false },
      agent as BackupAgent,
      skippedTicks,
      new SchedulerRegistry(),
    );
    return { scheduler, skipped: async () => (await skippedTicks.get()).values[0]?.value ?? 0 };
  }

  it('skips (and counts) a tick while a restore runs, without calling backup', async () => {
    const backup = jest.fn();
    const { scheduler, skipped } = setup({ running: 'restore', backup } as unknown as Partial<BackupAgent>);
    await scheduler.tick();
    expect(backup).not.toHaveBeenCalled();
    expect(await skipped()).toBe(1);
  });

  it('counts a tick refused by another process as skipped, and swallows real failures', async () => {
    const busy = setup({
      running: null,
      backup: jest.fn().mockRejectedValue(new OperationInProgressError(null)),
    } as never);
    await expect(busy.scheduler.tick()).resolves.toBeUndefined();
    expect(await busy.skipped()).toBe(1);

    const failing = setup({
      running: null,
      backup: jest.fn().mockRejectedValue(new Error('disk full')),
    } as never);
    await expect(failing.scheduler.tick()).resolves.toBeUndefined();
    expect(await failing.skipped()).toBe(0);
  });
});
