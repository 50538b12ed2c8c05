import { latestBackup } from '@pra-kit/shared';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ApiDatabase } from '../database/api-database';

/**
 * The API's Prometheus metrics, in a registry owned by this app instance. Request count and
 * latency come from the shared HTTP hook; the gauges below are read at scrape time.
 */
export class ApiMetrics {
  readonly eventsAdded: Counter;
  readonly commitBatchSize: Histogram;

  constructor(
    readonly registry: Registry,
    database: ApiDatabase,
    backupDir: string,
  ) {
    collectDefaultMetrics({ register: registry });
    this.eventsAdded = new Counter({
      name: 'pra_api_events_added_total',
      help: 'Events committed through /add and POST /messages by this process',
      registers: [registry],
    });
    this.commitBatchSize = new Histogram({
      name: 'pra_api_commit_batch_size',
      help: 'Writes committed per transaction (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000],
      registers: [registry],
    });
    new Gauge({
      name: 'pra_api_events',
      help: 'Events stored in the database',
      registers: [registry],
      collect() {
        try {
          this.set(database.count());
        } catch {
          this.reset();
        }
      },
    });
    new Gauge({
      name: 'pra_api_db_size_bytes',
      help: 'Size of the database file plus its WAL',
      registers: [registry],
      collect() {
        this.set(database.sizeBytes());
      },
    });
    new Gauge({
      name: 'pra_api_last_backup_timestamp_seconds',
      help: 'When the newest backup in BACKUP_DIR was taken, as /status reports it (0: none)',
      registers: [registry],
      collect() {
        try {
          this.set((latestBackup(backupDir)?.createdAt.getTime() ?? 0) / 1000);
        } catch {
          this.reset();
        }
      },
    });
    new Gauge({
      name: 'pra_api_db_up',
      help: '1 when the database is open, readable and writable',
      registers: [registry],
      collect() {
        this.set(database.checkReady().ready ? 1 : 0);
      },
    });
  }

  recordCommit(batchSize: number): void {
    this.eventsAdded.inc(batchSize);
    this.commitBatchSize.observe(batchSize);
  }
}
