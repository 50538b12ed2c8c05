import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { BackupAgent } from '../core/backup-agent';
import { OperationInProgressError } from '../core/errors';

/** When to test a restore (BACKUP_VERIFY_RESTORE_SCHEDULE). */
export interface RestoreTestSettings {
  /** Cron expression, 5 fields or 6 with seconds, in UTC; null: no restore tests. */
  readonly schedule: string | null;
  /** With no passed test in the last day, the first one runs this long after start. */
  readonly firstRunDelayMs: number;
}

/** Injection token: the Nest module provides it (http/agent.module.ts). */
export const RESTORE_TEST_SETTINGS = Symbol('RESTORE_TEST_SETTINGS');

const DAY_MS = 24 * 3600 * 1000;
/** A test that meets a running backup or restore waits for it: every 15 s, up to 5 minutes. */
const BUSY_RETRY_MS = 15_000;
const BUSY_ATTEMPTS = 20;

/**
 * Tests a restore on BACKUP_VERIFY_RESTORE_SCHEDULE (BackupAgent.testRestore). When no test has
 * passed in the last day (a new deployment, an agent stopped for long), one runs a minute after
 * start, so the 26-hour alert fires only when tests really fail. A failed test is logged, recorded
 * and counted by the core; nothing here ever crashes the process.
 */
@Injectable()
export class RestoreTestScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RestoreTest');
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    @Inject(RESTORE_TEST_SETTINGS) private readonly settings: RestoreTestSettings,
    private readonly agent: BackupAgent,
    private readonly registry: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const { schedule } = this.settings;
    if (!schedule) {
      this.logger.log('scheduled restore tests are off (BACKUP_VERIFY_RESTORE_SCHEDULE=off)');
      return;
    }
    const job = CronJob.from({ cronTime: schedule, onTick: () => this.run(), start: true, utcOffset: 0 });
    this.registry.addCronJob('restore-test', job);
    this.logger.log(`scheduled restore tests: "${schedule}" (next ${job.nextDate().toUTC().toISO()})`);
    const last = this.agent.stats.restoreTest.last_success;
    if (!last || Date.now() - Date.parse(last.at) > DAY_MS)
      this.later(() => this.run(), this.settings.firstRunDelayMs);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One restore test. Resolves in all cases. */
  async run(attempt = 1): Promise<void> {
    if (this.stopped) return;
    try {
      const outcome = await this.agent.testRestore();
      if (outcome.outcome === 'nothing-to-test') this.logger.log(outcome.detail);
    } catch (err) {
      if (err instanceof OperationInProgressError && attempt < BUSY_ATTEMPTS) {
        this.later(() => this.run(attempt + 1), BUSY_RETRY_MS);
        return;
      }
      this.logger.error(`restore test not run: ${(err as Error).message}`);
    }
  }

  private later(fn: () => Promise<void>, ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void fn(), ms);
    this.timer.unref();
  }
}
