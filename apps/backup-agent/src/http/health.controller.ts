import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { constants, existsSync } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import type { AgentConfig } from '../config/agent-config';
import { BackupAgent } from '../core/backup-agent';
import { backupHealth, BackupHealthReport } from '../core/backup-health';
import { AGENT_CONFIG } from './agent.tokens';

@Controller()
export class HealthController {
  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly agent: BackupAgent,
  ) {}

  /**
   * Can the data be restored, and how recent would it be (always 200: it is a report, not a probe).
   * See core/backup-health.ts.
   */
  @Get('health/backups')
  async backups(): Promise<BackupHealthReport> {
    const now = new Date();
    const [chains, newest, storage] = await Promise.all([
      this.agent.chains().catch(() => []),
      this.agent.newestSnapshot().catch(() => null),
      this.agent.storage().catch(() => null),
    ]);
    return backupHealth({
      now,
      objectiveSeconds: this.config.rpoObjectiveSeconds,
      replicationEnabled: this.agent.replication?.status() != null,
      replication: this.agent.replication?.status() ?? null,
      syncIntervalMs: this.config.replication.enabled ? this.config.replication.syncIntervalMs : null,
      chains,
      newestSnapshot: newest,
      lastBackupSuccessAt: this.agent.stats.lastSuccessAt,
      lastBackupError: this.agent.stats.lastError,
      storage,
      offsite: this.agent.offsite?.status() ?? null,
      offsiteSegments: this.agent.offsite?.segments() ?? null,
      offsiteSyncIntervalMs: this.config.offsite?.syncIntervalMs ?? null,
    });
  }

  /** Liveness: the process answers. */
  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Readiness: the agent can write backups. A missing source database does NOT make it unready:
   * that is the disaster the agent is there to repair, and it must stay reachable to restore.
   *
   * Offsite problems (S3 down, wrong credentials, bucket missing) are reported in the body
   * (`offsite.status` "failing", with the error's code and a message naming the bucket and the
   * endpoint) but do NOT make the agent unready. The agent is a native sidecar of the api pod, and
   * a sidecar's readiness is part of the pod's: a 503 here would take the API out of its Service, so
   * an S3 outage would become an outage of the application, while the agent still does its first
   * job (local backups) and catches the uploads up later. Offsite health is alerted on from
   * /metrics instead (pra_offsite_healthy, pra_offsite_upload_lag_seconds).
   */
  @Get('ready')
  async ready(): Promise<Record<string, unknown>> {
    try {
      await mkdir(this.config.backupDir, { recursive: true });
      await access(this.config.backupDir, constants.W_OK);
    } catch (err) {
      throw new ServiceUnavailableException({
        code: 'BACKUP_DIR_UNWRITABLE',
        message: `backup directory ${this.config.backupDir} is not writable: ${(err as Error).message}`,
      });
    }
    return {
      status: 'ready',
      source_database: existsSync(this.config.dbPath) ? 'present' : 'missing',
      running: this.agent.running,
      last_backup_error: this.agent.stats.lastError,
      auto_restore: this.autoRestore(),
      restore_test: this.restoreTest(),
      offsite: this.offsite(),
    };
  }

  /** BACKUP_AUTO_RESTORE, and what the automatic restores did (recorded in BACKUP_DIR). */
  private autoRestore(): Record<string, unknown> {
    const r = this.agent.stats.autoRestore;
    return {
      enabled: this.config.autoRestore === 'latest',
      restores_total: r.restores_total,
      failures_total: r.failures_total,
      last: r.last,
    };
  }

  /** BACKUP_VERIFY_RESTORE_SCHEDULE, and the last scheduled restore tests. */
  private restoreTest(): Record<string, unknown> {
    const r = this.agent.stats.restoreTest;
    return {
      schedule: this.config.restoreTestSchedule,
      tests_total: r.tests_total,
      failures_total: r.failures_total,
      last: r.last,
      last_success_at: r.last_success?.at ?? null,
    };
  }

  /** null when offsite copies are off. */
  private offsite(): Record<string, unknown> | null {
    const s = this.agent.offsite?.status();
    if (!s) return null;
    return {
      status: s.healthy === null ? 'starting' : s.healthy ? 'ok' : 'failing',
      location: s.location,
      endpoint: s.endpoint,
      encrypted: s.encrypted,
      pending_uploads: s.pending,
      last_upload_at: s.lastUploadAt?.toISOString() ?? null,
      error: s.lastError
        ? { code: s.lastError.code, message: s.lastError.message, at: s.lastError.at.toISOString() }
        : null,
    };
  }
}
