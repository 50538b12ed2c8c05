import { latestBackup } from '@pra-kit/shared';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { BackupAgent } from '../core/backup-agent';
import { replicationLagSeconds } from '../core/replication.port';

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
    // Automatic restores: recorded in BACKUP_DIR by whichever process did them (the init container).
    counter(
      registry,
      'pra_auto_restores_total',
      'Automatic restores done at start (BACKUP_AUTO_RESTORE, restore --auto)',
      () => s.autoRestore.restores_total,
    );
    counter(
      registry,
      'pra_auto_restore_failures_total',
      'Automatic restores refused (a point that fails verification) or failed',
      () => s.autoRestore.failures_total,
    );
    gauge(
      registry,
      'pra_auto_restore_last_timestamp_seconds',
      'When the last automatic restore was done (0: never)',
      () => seconds(s.autoRestore.last_restore ? new Date(s.autoRestore.last_restore.at) : null),
    );
    gauge(
      registry,
      'pra_auto_restore_last_failure_timestamp_seconds',
      'When an automatic restore was last refused or failed (0: never)',
      () => seconds(s.autoRestore.last_failure ? new Date(s.autoRestore.last_failure.at) : null),
    );
    // Scheduled restore tests (core/restore-test.ts): from the record in BACKUP_DIR, so the last
    // success survives a restart (the alert fires when none passed for 26 hours).
    gauge(
      registry,
      'pra_restore_test_last_success_timestamp_seconds',
      'When a restore test last passed: the newest point restored into a scratch file and checked (0: never)',
      () => seconds(s.restoreTest.last_success ? new Date(s.restoreTest.last_success.at) : null),
    );
    gauge(
      registry,
      'pra_restore_test_last_failure_timestamp_seconds',
      'When a restore test last failed (0: never)',
      () => seconds(s.restoreTest.last_failure ? new Date(s.restoreTest.last_failure.at) : null),
    );
    counter(registry, 'pra_restore_tests_total', 'Restore tests run', () => s.restoreTest.tests_total);
    counter(
      registry,
      'pra_restore_test_failures_total',
      'Restore tests that failed (the point could not be restored, or its copy was not intact)',
      () => s.restoreTest.failures_total,
    );
    this.registerOffsite(registry, agent);
    this.registerReplication(registry, agent);
    counter(
      registry,
      'pra_backup_insufficient_storage_total',
      'Backups and restores refused because the backup volume had no room, even after retention (HTTP 507)',
      () => s.insufficientStorageTotal,
    );
    const space = () => agent.volumeSpace().catch(() => null);
    new Gauge({
      name: 'pra_backup_volume_free_bytes',
      help: 'Free bytes on the backup volume',
      registers: [registry],
      async collect() {
        this.set((await space())?.freeBytes ?? 0);
      },
    });
    new Gauge({
      name: 'pra_backup_volume_min_free_bytes',
      help: 'Free bytes retention keeps on the backup volume (BACKUP_MIN_FREE)',
      registers: [registry],
      async collect() {
        this.set((await space())?.minFreeBytes ?? 0);
      },
    });
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
  /**
   * Continuous replication. Alert on: lag over 5 s for a minute, a chain break, enabled but not
   * following (deploy/k8s/overlays/monitoring/prometheus-rule.yaml).
   */
  private registerReplication(registry: Registry, agent: BackupAgent): void {
    const status = () => agent.replication?.status() ?? null;
    gauge(
      registry,
      'pra_replication_enabled',
      '1 when the agent follows the WAL (BACKUP_REPLICATION=on)',
      () => (status() ? 1 : 0),
    );
    gauge(registry, 'pra_replication_following', '1 while a chain is being written', () =>
      status()?.state === 'following' ? 1 : 0,
    );
    gauge(
      registry,
      'pra_replication_lag_seconds',
      'Age of the oldest committed transaction not yet on the backup volume (0: all shipped)',
      () => replicationLagSeconds(status(), new Date()) ?? 0,
    );
    gauge(
      registry,
      'pra_replication_last_segment_lag_seconds',
      'Commit-to-durable delay of the oldest transaction of the last segment written',
      () => (status()?.lastSegmentLagMs ?? 0) / 1000,
    );
    counter(
      registry,
      'pra_replication_chain_breaks_total',
      'Chains ended because continuity was lost (a new one starts from a snapshot)',
      () => status()?.breaksTotal ?? 0,
    );
    counter(
      registry,
      'pra_replication_wal_restarts_total',
      'WAL restarts followed without a break',
      () => status()?.walRestarts ?? 0,
    );
    counter(
      registry,
      'pra_replication_transactions_total',
      'Transactions shipped in segments',
      () => status()?.transactionsShipped ?? 0,
    );
    counter(
      registry,
      'pra_replication_segments_written_total',
      'Segments written to the backup volume',
      () => status()?.segmentsWritten ?? 0,
    );
    gauge(
      registry,
      'pra_replication_restorable_until_timestamp_seconds',
      'Commit time of the newest transaction on the backup volume (0: none)',
      () => (status()?.durableUntilUs ?? 0) / 1e6,
    );
    // From the chains on the backup volume (footers are cached: no page data is read).
    const chains = async () => (agent.replication ? await agent.chains() : []);
    new Gauge({
      name: 'pra_replication_restorable_from_timestamp_seconds',
      help: 'Oldest instant of the newest restorable range (0: none)',
      registers: [registry],
      async collect() {
        const newest = (await chains()).find((c) => c.from !== null);
        this.set(newest?.from ? Date.parse(newest.from) / 1000 : 0);
      },
    });
    new Gauge({
      name: 'pra_replication_segment_bytes',
      help: 'Bytes of replication segments on the backup volume',
      registers: [registry],
      async collect() {
        this.set((await chains()).reduce((n, c) => n + c.bytes, 0));
      },
    });
  }

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
    // The replication chains' copy (serve with replication on): what the bucket's RPO is made of.
    const segments = () => agent.offsite?.segments() ?? null;
    gauge(
      registry,
      'pra_offsite_segments_lag_seconds',
      'Age of the oldest replication segment not yet in the bucket (0: all there, or not copying)',
      () => segments()?.lagSeconds ?? 0,
    );
    gauge(
      registry,
      'pra_offsite_segments_backlog_bytes',
      'Bytes of replication segments waiting for the bucket',
      () => segments()?.backlogBytes ?? 0,
    );
    gauge(
      registry,
      'pra_offsite_segments_healthy',
      '1 when the last segment upload pass succeeded, 0 while it fails (or before the first pass)',
      () => (segments()?.healthy ? 1 : 0),
    );
    counter(
      registry,
      'pra_offsite_segments_uploaded_total',
      'Replication segments copied to the bucket by this process',
      () => segments()?.segmentsUploaded ?? 0,
    );
    counter(
      registry,
      'pra_offsite_segment_bytes_uploaded_total',
      'Bytes of replication segments copied to the bucket by this process',
      () => segments()?.bytesUploaded ?? 0,
    );
    counter(
      registry,
      'pra_offsite_segment_upload_failures_total',
      'Failed segment upload passes (the bucket unreachable or refusing)',
      () => segments()?.failuresTotal ?? 0,
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
