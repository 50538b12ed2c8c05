import { dirname } from 'node:path';
import { BackupManifest } from '@pra-kit/shared';
import { OffsiteState } from '../core/backup.catalog';
import { BackupStore, LocalBackupStore } from '../core/backup.store';
import { OffsiteError } from '../core/errors';
import { Clock, Logger, Offsite, OffsiteListing, OffsiteStatus, SegmentUploadStatus } from '../core/ports';
import { ChainStore } from '../replication/chain.store';
import { SegmentUploader } from './segment.uploader';
import { RetentionPolicy } from '../core/retention.policy';
import { PassRunner } from './pass.runner';
import { Backoff, failureOf } from './retry.backoff';
import { seconds, UploadPass } from './upload.pass';
import { UploadJournal } from './upload.journal';

export interface OffsiteReplicatorOptions {
  /** Offsite retention (BACKUP_OFFSITE_KEEP_*), usually longer than the local one. */
  readonly retention: RetentionPolicy;
  /** First retry delay after a failure; doubles with each failure in a row, up to retryMaxMs. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** The durable queue: BACKUP_DIR/.offsite/queue.json. */
  readonly journalFile: string;
  /** For /ready and logs. */
  readonly endpoint: string;
  readonly encrypted: boolean;
}

/**
 * Keeps the offsite store in step with the local backups, in the background, without ever getting
 * in the way of a local backup ("backups keep running when offsite fails"). It coordinates four
 * small parts:
 *
 * - the journal (upload.journal.ts): the durable upload queue; `backupCreated` resolves once the
 *   new backup is in it, on disk;
 * - the upload pass (upload.pass.ts): catch up, upload newest first, offsite retention;
 * - the backoff (retry.backoff.ts): a failure of the store stops the pass, and the next one waits
 *   retryBaseMs, doubling, capped at retryMaxMs; the queue keeps growing meanwhile and is caught
 *   up when the store answers again;
 * - the runner (pass.runner.ts): one pass at a time, another right after when new backups
 *   arrived meanwhile, and a timer for the next retry.
 *
 * Here: health (for /ready and /metrics, and one ERROR line when uploads start failing, a WARN per
 * retry, a line when they work again), `drain` for the one-shot `backup`, and start/stop.
 * Scheduling uses real monotonic time (timers); the injected clock dates things and drives
 * retention, like everywhere else in the core.
 */
export class OffsiteReplicator implements Offsite {
  private readonly journal: UploadJournal;
  private readonly backoff: Backoff;
  private readonly pass: UploadPass;
  private readonly runner: PassRunner;
  private stopped = true;
  private idleWaiters: (() => void)[] = [];
  private healthy: boolean | null = null;
  private lastError: { code: string; message: string; at: Date } | null = null;
  private storeFailures = 0;

  /** The replication chains' copy to the bucket, when replication runs here (attachSegments). */
  private segmentUploader: SegmentUploader | null = null;

  constructor(
    readonly store: BackupStore,
    private readonly local: LocalBackupStore,
    private readonly options: OffsiteReplicatorOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** The same bucket's replication chains (read for a restore from it; written by the uploader). */
    readonly chains: ChainStore,
  ) {
    this.journal = new UploadJournal(options.journalFile, clock, logger);
    this.backoff = new Backoff(options.retryBaseMs, options.retryMaxMs);
    this.pass = new UploadPass(
      store,
      local,
      this.journal,
      { retention: options.retention, holdMs: options.retryMaxMs, encrypted: options.encrypted },
      clock,
      logger,
    );
    this.runner = new PassRunner(() => this.runPass(), {
      settled: () => this.wakeIfIdle(),
      nextRunAt: () => this.backoff.nextAttemptAt ?? this.journal.earliestDue(),
    });
  }

  /** The local backup directory (where the journals live). */
  get localDir(): string {
    return dirname(dirname(this.options.journalFile));
  }

  /** Copies the replication chains too (serve with replication on). Before start(). */
  attachSegments(uploader: SegmentUploader): void {
    this.segmentUploader = uploader;
  }

  segments(): SegmentUploadStatus | null {
    return this.segmentUploader?.status() ?? null;
  }

  /** Loads the journal and starts the passes (the first one checks the bucket, catches up, prunes). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.journal.load();
    this.runner.start();
    await this.segmentUploader?.start();
  }

  /** Stops the passes; waits a little for an upload in flight (it resumes at the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    const running = this.runner.stop();
    const segments = this.segmentUploader?.stop();
    if (running) await Promise.race([running, sleep(5_000)]);
    if (segments) await Promise.race([segments, sleep(5_000)]);
    await this.journal.flush();
    this.store.close?.();
  }

  async backupCreated(manifest: BackupManifest): Promise<void> {
    if (!manifest.verification.ok || this.journal.has(manifest.id)) return;
    await this.journal.change({ add: [{ id: manifest.id, createdAt: manifest.created_at }] });
    this.runner.trigger();
  }

  stateOf(id: string): OffsiteState | null {
    const entry = this.journal.get(id);
    if (entry) {
      return {
        state: entry.lastError ? 'failed' : 'pending',
        attempts: entry.attempts,
        ...(entry.lastError ? { last_error: entry.lastError } : {}),
      };
    }
    const uploadedAt = this.pass.uploaded.get(id);
    return uploadedAt ? { state: 'uploaded', uploaded_at: uploadedAt } : null;
  }

  listRemote(): Promise<OffsiteListing> {
    return this.pass.listRemote();
  }

  status(): OffsiteStatus {
    return {
      location: this.store.location,
      endpoint: this.options.endpoint,
      encrypted: this.options.encrypted,
      healthy: this.healthy,
      lastError: this.lastError,
      consecutiveFailures: this.backoff.consecutiveFailures,
      pending: this.journal.size,
      oldestPendingCreatedAt: this.journal.oldestCreatedAt(),
      uploadsTotal: this.pass.counters.uploads,
      failuresTotal: this.storeFailures + this.pass.counters.refused,
      prunedTotal: this.pass.counters.pruned,
      lastUploadAt: this.pass.lastUploadAt,
      remoteBackups: this.pass.remoteCount,
    };
  }

  /**
   * Resolves when nothing is left to upload (true) or after `timeoutMs` (false). The one-shot
   * `backup` command waits with it before it exits.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.isIdle()) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  /** One pass, unless the backoff says it is too early (the runner's timer comes back). Never throws. */
  private async runPass(): Promise<void> {
    if (this.backoff.waiting) return;
    try {
      await this.pass.run(() => this.storeWorks());
      this.storeWorks();
    } catch (err) {
      await this.storeFailed(err);
    }
  }

  private storeWorks(): void {
    const failures = this.backoff.succeeded();
    if (failures > 0) {
      this.logger.log(
        `offsite ${this.store.location} at ${this.options.endpoint} works again after ${failures} failed attempt(s)`,
      );
    }
    this.lastError = null;
    this.healthy = true;
  }

  private async storeFailed(err: unknown): Promise<void> {
    this.storeFailures++;
    this.healthy = false;
    this.pass.recheck();
    const delay = this.backoff.failed();
    this.lastError = failureOf(err, this.clock.now());
    const message = this.lastError.message;
    // The store's own errors name the bucket and the endpoint; anything else gets them here.
    const place = err instanceof OffsiteError ? '' : ` to ${this.store.location} at ${this.options.endpoint}`;
    const failures = this.backoff.consecutiveFailures;
    const text =
      `offsite copies${place} failed: ${message}. Local backups are not affected; ` +
      `${this.journal.size} upload(s) pending; retry ${failures} in ${seconds(delay)}`;
    if (failures === 1) this.logger.error(text);
    else this.logger.warn(text);
    await this.journal.save(); // attempts and last errors survive a restart
  }

  private isIdle(): boolean {
    return this.journal.size === 0 && this.pass.checked && !this.runner.running;
  }

  private wakeIfIdle(): void {
    if (this.isIdle()) this.idleWaiters.splice(0).forEach((w) => w());
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
