import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { BackupAgent } from '../core/backup-agent';
import { OperationInProgressError } from '../core/errors';

/** When to back up (from BACKUP_SCHEDULE and BACKUP_ON_START). */
export interface ScheduleSettings {
  /** Cron expression, 5 fields or 6 with seconds, in UTC. */
  readonly schedule: string;
  /** Take a backup as soon as the agent starts. */
  readonly backupOnStart: boolean;
}

/** Counts the ticks skipped while another backup or restore ran (a Prometheus counter in the app). */
export interface SkipCounter {
  inc(): void;
}

/** Injection tokens: the Nest module provides both (http/agent.module.ts). */
export const SCHEDULE_SETTINGS = Symbol('SCHEDULE_SETTINGS');
export const SKIPPED_TICKS = Symbol('SKIPPED_TICKS');

/**
 * Runs a backup on BACKUP_SCHEDULE. A tick never overlaps the previous one (it is skipped and
 * counted while a backup or restore runs); a failed tick is logged and counted by the core, and
 * never crashes the process.
 */
@Injectable()
export class BackupScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger('BackupScheduler');

  constructor(
    @Inject(SCHEDULE_SETTINGS) private readonly settings: ScheduleSettings,
    private readonly agent: BackupAgent,
    @Inject(SKIPPED_TICKS) private readonly skipped: SkipCounter,
    private readonly registry: SchedulerRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.agent.start();
    const job = CronJob.from({
      cronTime: this.settings.schedule,
      onTick: () => this.tick(),
      start: true,
      utcOffset: 0,
    });
    this.registry.addCronJob('backup', job);
    this.logger.log(
      `scheduled backups: "${this.settings.schedule}" (next ${job.nextDate().toUTC().toISO()})`,
    );
    if (this.settings.backupOnStart) void this.tick();
  }

  /** One scheduled backup. Resolves in all cases. */
  async tick(): Promise<void> {
    if (this.agent.running) {
      this.skipped.inc();
      this.logger.warn(`skipped a scheduled backup: a ${this.agent.running} is running`);
      return;
    }
    try {
      await this.agent.backup('scheduled');
    } catch (err) {
      if (err instanceof OperationInProgressError) {
        this.skipped.inc();
        this.logger.warn(`skipped a scheduled backup: ${err.message}`);
      } else {
        this.logger.error(`scheduled backup failed: ${(err as Error).message}`);
      }
    }
  }
}
