import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import type { AgentConfig } from '../config/agent-config';
import { BackupAgent } from '../core/backup-agent';
import { OperationInProgressError } from '../core/errors';
import { AgentMetrics } from '../http/agent-metrics';
import { AGENT_CONFIG } from '../http/agent.tokens';

/**
 * Runs a backup on BACKUP_SCHEDULE. A tick never overlaps the previous one (it is skipped and
 * counted while a backup or restore runs); a failed tick is logged and counted by the core, and
 * never crashes the process.
 */
@Injectable()
export class BackupScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger('BackupScheduler');

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly agent: BackupAgent,
    private readonly metrics: AgentMetrics,
    private readonly registry: SchedulerRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.agent.start();
    const job = CronJob.from({
      cronTime: this.config.schedule,
      onTick: () => this.tick(),
      start: true,
      utcOffset: 0,
    });
    this.registry.addCronJob('backup', job);
    this.logger.log(`scheduled backups: "${this.config.schedule}" (next ${job.nextDate().toUTC().toISO()})`);
    if (this.config.backupOnStart) void this.tick();
  }

  /** One scheduled backup. Resolves in all cases. */
  async tick(): Promise<void> {
    if (this.agent.running) {
      this.metrics.skippedTicks.inc();
      this.logger.warn(`skipped a scheduled backup: a ${this.agent.running} is running`);
      return;
    }
    try {
      await this.agent.backup('scheduled');
    } catch (err) {
      if (err instanceof OperationInProgressError) {
        this.metrics.skippedTicks.inc();
        this.logger.warn(`skipped a scheduled backup: ${err.message}`);
      } else {
        this.logger.error(`scheduled backup failed: ${(err as Error).message}`);
      }
    }
  }
}
