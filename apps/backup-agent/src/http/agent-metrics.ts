import { latestBackup } from '@pra-kit/shared';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { BackupAgent } from '../core/backup-agent';

/**
 * The agent's Prometheus metrics, read from the core's stats at scrape time. The alert rules
 * (deploy/k8s overlay monitoring) use: last success timestamp (backup too old), failures, restores.
 */
export class AgentMetrics {
  readonly skippedTicks: Counter;

  constructor(
    readonly registry: Registry,
    agent: BackupAgent,
    backupDir: string = agent.config.backupDir,
  ) {
    collectDefaultMetrics({ register: registry });
    const s = agent.stats;
    gauge(
      registry,
      'pra_backup_last_success_timestamp_seconds',
      'When the newest successful backup was taken (0: never)',
      () => seconds(s.lastSuccessAt),
    );
    gauge(
      registry,
      'pra_backup_last_attempt_timestamp_seconds',
      'When the last backup attempt started (0: never)',
      () => seconds(s.lastAttemptAt),
    );
    gauge(
      registry,
      'pra_backup_last_duration_seconds',
      'Duration of the last successful backup (snapshot + verify + sha256)',
      () => (s.lastDurationMs ?? 0) / 1000,
    );
    gauge(
      registry,
      'pra_backup_last_size_bytes',
      'Size of the last successful backup',
      () => s.lastSizeBytes ?? 0,
    );
    gauge(registry, 'pra_backup_last_rows', 'Events in the last successful backup', () => s.lastRows ?? 0);
    gauge(registry, 'pra_backup_running', '1 while a backup or restore runs in this process', () =>
      agent.running ? 1 : 0,
    );
    counter(registry, 'pra_backup_taken_total', 'Backups taken by this process', () => s.backupsTaken);
    counter(registry, 'pra_backup_failures_total', 'Backup attempts that failed', () => s.failuresTotal);
    counter(registry, 'pra_restores_total', 'Restores done by this process', () => s.restoresTotal);
    counter(registry, 'pra_backups_pruned_total', 'Backups deleted by retention', () => s.prunedTotal);
    gauge(registry, 'pra_restore_last_timestamp_seconds', 'When the last restore finished (0: never)', () =>
      seconds(s.lastRestoreAt),
    );
    // Read from the backup directory, like the API's /status: the two agree by construction, and
    // the value survives an agent restart (the stats above are per process).
    gauge(
      registry,
      'pra_backup_newest_timestamp_seconds',
      'When the newest backup in BACKUP_DIR was taken (0: none)',
      () => seconds(latestBackup(backupDir)?.createdAt ?? null),
    );
    new Gauge({
      name: 'pra_backups',
      help: 'Backups in the local backup directory',
      registers: [registry],
      async collect() {
        this.set((await agent.local.list()).length);
      },
    });
    this.registerOffsite(registry, agent);
    this.skippedTicks = new Counter({
      name: 'pra_backup_skipped_total',
      help: 'Scheduled backups skipped because another backup or restore was running',
      registers: [registry],
    });
  }

  /**
   * Offsite copies, read from the replicator's status (no S3 call at scrape time). All 0 when offsite
   * is off (pra_offsite_enabled 0). Alert on: lag growing, healthy 0, failures increasing.
   */
  private registerOffsite(registry: Registry, agent: BackupAgent): void {
    const status = () => agent.offsite?.status() ?? null;
    gauge(registry, 'pra_offsite_enabled', '1 when offsite copies are configured (S3_BUCKET)', () =>
      status() ? 1 : 0,
    );
    gauge(
      registry,
      'pra_offsite_healthy',
      '1 when the last offsite operation succeeded, 0 while it fails (or before the first check)',
      () => (status()?.healthy ? 1 : 0),
    );
    gauge(
      registry,
      'pra_offsite_upload_lag_seconds',
      'Age of the oldest local backup not yet offsite (0: all uploaded)',
      () => {
        const oldest = status()?.oldestPendingCreatedAt;
        return oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0;
      },
    );
    gauge(
      registry,
      'pra_offsite_pending_uploads',
      'Local backups waiting for their offsite copy',
      () => status()?.pending ?? 0,
    );
    counter(
      registry,
      'pra_offsite_upload_failures_total',
      'Failed offsite attempts (store unreachable or refusing, or a backup refused)',
      () => status()?.failuresTotal ?? 0,
    );
    counter(
      registry,
      'pra_offsite_uploads_total',
      'Backups copied offsite by this process',
      () => status()?.uploadsTotal ?? 0,
    );
    counter(
      registry,
      'pra_offsite_pruned_total',
      'Offsite backups deleted by offsite retention',
      () => status()?.prunedTotal ?? 0,
    );
    gauge(
      registry,
      'pra_offsite_last_upload_success_timestamp_seconds',
      'When the last offsite copy completed (0: never, in this process)',
      () => seconds(status()?.lastUploadAt),
    );
    gauge(
      registry,
      'pra_offsite_backups',
      'Backups in the offsite store at the last listing',
      () => status()?.remoteBackups ?? 0,
    );
  }
}

function seconds(d: Date | null | undefined): number {
  return d ? d.getTime() / 1000 : 0;
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A counter whose value lives in the core's stats (reset + inc keeps the counter type). */
function counter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
