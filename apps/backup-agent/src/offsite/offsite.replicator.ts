import { BackupManifest, compareBackupIds, parseBackupId } from '@pra-kit/shared';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OffsiteState } from '../core/backup.catalog';
import { BackupStore, LocalBackupStore, StoredBackup } from '../core/backup.store';
import { writeFileDurable } from '../infra/durable-fs';
import { BackupDomainError, OffsiteError } from '../core/errors';
import { Clock, Logger, Offsite, OffsiteListing, OffsiteStatus } from '../core/ports';
import { decideRetention, RetentionPolicy } from '../core/retention.policy';

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

/** A backup waiting for its offsite copy. */
interface QueueEntry {
  readonly id: string;
  /** The backup's created_at: the upload lag is measured from it. */
  readonly createdAt: string;
  readonly queuedAt: string;
  attempts: number;
  lastError: string | null;
  lastAttemptAt: string | null;
  /** Monotonic ms before which this backup is not tried again (set after a problem of its own). */
  notBefore: number;
}

interface Journal {
  readonly format: 1;
  readonly pending: Omit<QueueEntry, 'notBefore'>[];
}

/** Delay before retry number `failures` (1, 2, ...): base, 2*base, 4*base... capped at max. */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
}

/**
 * Keeps the offsite store in step with the local backups, in the background, without ever getting
 * in the way of a local backup ("backups keep running when offsite fails"):
 *
 * - `backupCreated` queues the new backup and returns at once; one worker uploads the queue, newest
 *   first (the freshest restore point is the one that matters most for RPO).
 * - A failure of the store (down, wrong credentials, bucket missing) stops the pass and retries it
 *   after an exponential backoff (retryBaseMs doubling, capped at retryMaxMs); the queue keeps
 *   growing meanwhile and is caught up when the store answers again. A problem of one backup (its
 *   local file no longer matches its manifest, or the bucket holds another backup under its id)
 *   does not hold up the others: that backup waits retryMaxMs, loudly.
 * - Nothing here deletes or changes a local backup. A backup removed locally (retention) before it
 *   could be uploaded is dropped from the queue, with a warning.
 * - The queue is journaled durably in BACKUP_DIR/.offsite/queue.json, and recomputed at start and
 *   after each outage by comparing the local and the offsite lists (the offsite list is the truth:
 *   the journal only remembers attempts and errors, and what a listing could not be made for).
 *   So a pending upload survives a `kill -9`, and backups taken by another process are caught up.
 * - After uploads, offsite retention runs with its own policy; like the local one it never prunes
 *   the newest verified backup. Local backups that offsite retention would prune at once are not
 *   uploaded by the catch-up.
 *
 * Scheduling uses real monotonic time (timers); the injected clock dates things and drives
 * retention, like everywhere else in the core.
 */
export class OffsiteReplicator implements Offsite {
  private readonly queue = new Map<string, QueueEntry>();
  /** Recently uploaded by this process, for `stateOf` (uploaded_at). */
  private readonly uploaded = new Map<string, string>();
  /** The last offsite listing (refreshed by each check, upload and prune). */
  private remote: StoredBackup[] | null = null;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private rerun = false;
  /** Check the bucket and recompute the queue at the next pass: at start and after a failure. */
  private needsCheck = true;
  private retryAt = 0;
  private consecutiveFailures = 0;
  private journalWrites: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];
  private readonly counters = { uploads: 0, failures: 0, pruned: 0 };
  private lastError: { code: string; message: string; at: Date } | null = null;
  private lastUploadAt: Date | null = null;
  private healthy: boolean | null = null;

  constructor(
    readonly store: BackupStore,
    private readonly local: LocalBackupStore,
    private readonly options: OffsiteReplicatorOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Loads the journal and starts the worker (first pass: check the bucket, catch up, prune). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.loadJournal();
    this.kick();
  }

  /** Stops scheduling; waits a little for an upload in flight (it resumes at the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const running = this.running;
    if (running) await Promise.race([running, sleep(5_000)]);
    await this.journalWrites;
    this.store.close?.();
  }

  backupCreated(manifest: BackupManifest): void {
    if (!manifest.verification.ok || this.queue.has(manifest.id)) return;
    this.enqueue(manifest.id, manifest.created_at);
    void this.persist();
    this.kick();
  }

  stateOf(id: string): OffsiteState | null {
    const entry = this.queue.get(id);
    if (entry) {
      return {
        state: entry.lastError ? 'failed' : 'pending',
        attempts: entry.attempts,
        ...(entry.lastError ? { last_error: entry.lastError } : {}),
      };
    }
    const uploadedAt = this.uploaded.get(id);
    return uploadedAt ? { state: 'uploaded', uploaded_at: uploadedAt } : null;
  }

  /** The offsite list for the catalog: fresh, or the last one seen when the store does not answer. */
  async listRemote(): Promise<OffsiteListing> {
    try {
      this.remote = await this.store.list();
      return { backups: this.remote, error: null };
    } catch (err) {
      return { backups: this.remote ?? [], error: (err as Error).message };
    }
  }

  status(): OffsiteStatus {
    const oldest = [...this.queue.values()].reduce<string | null>(
      (min, e) => (min === null || e.createdAt < min ? e.createdAt : min),
      null,
    );
    return {
      location: this.store.location,
      endpoint: this.options.endpoint,
      encrypted: this.options.encrypted,
      healthy: this.healthy,
      lastError: this.lastError,
      consecutiveFailures: this.consecutiveFailures,
      pending: this.queue.size,
      oldestPendingCreatedAt: oldest ? new Date(oldest) : null,
      uploadsTotal: this.counters.uploads,
      failuresTotal: this.counters.failures,
      prunedTotal: this.counters.pruned,
      lastUploadAt: this.lastUploadAt,
      remoteBackups: this.remote?.length ?? null,
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

  /** Runs a pass now, or right after the current one. */
  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.pass().finally(() => {
      this.running = null;
      if (this.isIdle()) this.idleWaiters.splice(0).forEach((w) => w());
      if (this.rerun) {
        this.rerun = false;
        this.kick();
      } else {
        this.scheduleNext();
      }
    });
  }

  private isIdle(): boolean {
    return this.queue.size === 0 && !this.needsCheck && !this.running;
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    let at: number | null = null;
    if (this.consecutiveFailures > 0) at = this.retryAt;
    else if (this.queue.size > 0) at = Math.min(...[...this.queue.values()].map((e) => e.notBefore));
    if (at === null) return;
    this.timer = setTimeout(() => this.kick(), Math.max(0, at - monotonicMs()));
    this.timer.unref();
  }

  /** One pass: check and catch up if needed, upload what is due, prune. Never throws. */
  private async pass(): Promise<void> {
    if (monotonicMs() < this.retryAt) return; // in backoff: the timer will come back
    try {
      if (this.needsCheck) {
        await this.store.prepare();
        await this.catchUp();
        this.needsCheck = false;
        this.succeeded();
      }
      let uploaded = 0;
      for (let entry = this.nextDue(); entry; entry = this.nextDue()) {
        if (await this.uploadOne(entry)) {
          uploaded++;
          this.succeeded(); // the store works: say so now, not after the whole backlog
        }
      }
      if (uploaded > 0) await this.prune(await this.store.list());
      this.succeeded();
    } catch (err) {
      this.failed(err);
    }
  }

  /** Newest due backup first. */
  private nextDue(): QueueEntry | undefined {
    const now = monotonicMs();
    return [...this.queue.values()]
      .filter((e) => e.notBefore <= now)
      .sort((a, b) => compareBackupIds(b.id, a.id))[0];
  }

  /**
   * Uploads one backup. Store failures are thrown (they end the pass); a problem of this backup
   * only (conflict, local file corrupt) is recorded on it and the pass goes on.
   */
  private async uploadOne(entry: QueueEntry): Promise<boolean> {
    const local = await this.local.stat(entry.id);
    if (!local?.manifest) {
      this.dropRemovedLocally(entry);
      return false;
    }
    entry.attempts++;
    entry.lastAttemptAt = this.clock.now().toISOString();
    try {
      await this.store.put(local.manifest, this.local.pathOf(entry.id));
    } catch (err) {
      if (!existsSync(this.local.pathOf(entry.id))) {
        this.dropRemovedLocally(entry);
        return false;
      }
      entry.lastError = (err as Error).message;
      if (isStoreFailure(err)) throw err;
      this.counters.failures++;
      entry.notBefore = monotonicMs() + this.options.retryMaxMs;
      this.logger.error(
        `offsite copy of ${entry.id} refused: ${entry.lastError}; retrying in ${seconds(this.options.retryMaxMs)}`,
      );
      await this.persist();
      return false;
    }
    this.queue.delete(entry.id);
    const at = this.clock.now();
    this.uploaded.set(entry.id, at.toISOString());
    if (this.uploaded.size > 1000) this.uploaded.delete(this.uploaded.keys().next().value as string);
    this.lastUploadAt = at;
    this.counters.uploads++;
    await this.persist();
    this.logger.log(
      `offsite copy of ${entry.id} done: ${this.store.location}${entry.id}.db` +
        `${this.options.encrypted ? ' (encrypted)' : ''}, ${local.manifest.size} bytes` +
        `${entry.attempts > 1 ? ` after ${entry.attempts} attempts` : ''}`,
    );
    return true;
  }

  private dropRemovedLocally(entry: QueueEntry): void {
    this.queue.delete(entry.id);
    void this.persist();
    this.logger.warn(
      `offsite copy of ${entry.id} skipped: it was removed locally (retention) before it could be uploaded`,
    );
  }

  /**
   * Recomputes the queue from the truth: local verified backups that are not offsite and that
   * offsite retention would keep. Then prunes offsite.
   */
  private async catchUp(): Promise<void> {
    const remote = await this.store.list();
    const offsiteIds = new Set(remote.map((b) => b.id));
    let changed = false;
    for (const id of this.queue.keys()) {
      if (!offsiteIds.has(id)) continue;
      this.queue.delete(id); // uploaded by a run that died before it could update the journal
      changed = true;
    }
    const missing = (await this.local.list()).filter(
      (b) => b.manifest?.verification.ok === true && !offsiteIds.has(b.id) && !this.queue.has(b.id),
    );
    const expired = new Set(
      decideRetention(
        [...remote, ...missing].map(candidate),
        this.options.retention,
        this.clock.now(),
      ).expired,
    );
    const toUpload = missing.filter((b) => !expired.has(b.id));
    for (const b of toUpload) this.enqueue(b.id, (b.manifest as BackupManifest).created_at);
    if (toUpload.length > 0) {
      changed = true;
      this.logger.log(
        `offsite catch-up: ${toUpload.length} local backup(s) not yet in ${this.store.location}: ${toUpload.map((b) => b.id).join(', ')}`,
      );
    }
    if (changed) await this.persist();
    await this.prune(remote);
  }

  /** Offsite retention over `remote` (a fresh listing). */
  private async prune(remote: StoredBackup[]): Promise<void> {
    const { expired } = decideRetention(remote.map(candidate), this.options.retention, this.clock.now());
    for (const id of expired) {
      await this.store.remove(id);
      this.uploaded.delete(id);
    }
    const gone = new Set(expired);
    this.remote = remote.filter((b) => !gone.has(b.id));
    if (expired.length > 0) {
      this.counters.pruned += expired.length;
      this.logger.log(
        `offsite retention removed ${expired.length} backup(s) from ${this.store.location}: ${expired.join(', ')}`,
      );
    }
  }

  private succeeded(): void {
    if (this.consecutiveFailures > 0) {
      this.logger.log(
        `offsite ${this.store.location} at ${this.options.endpoint} works again after ${this.consecutiveFailures} failed attempt(s)`,
      );
    }
    this.consecutiveFailures = 0;
    this.retryAt = 0;
    this.lastError = null;
    this.healthy = true;
  }

  private failed(err: unknown): void {
    this.consecutiveFailures++;
    this.counters.failures++;
    this.healthy = false;
    this.needsCheck = true;
    const delay = retryDelayMs(this.consecutiveFailures, this.options.retryBaseMs, this.options.retryMaxMs);
    this.retryAt = monotonicMs() + delay;
    const message = (err as Error)?.message ?? String(err);
    this.lastError = {
      code: (err as BackupDomainError)?.code ?? 'OFFSITE_ERROR',
      message,
      at: this.clock.now(),
    };
    // The store's own errors name the bucket and the endpoint; anything else gets them here.
    const place = err instanceof OffsiteError ? '' : ` to ${this.store.location} at ${this.options.endpoint}`;
    const text =
      `offsite copies${place} failed: ${message}. Local backups are not affected; ` +
      `${this.queue.size} upload(s) pending; retry ${this.consecutiveFailures} in ${seconds(delay)}`;
    if (this.consecutiveFailures === 1) this.logger.error(text);
    else this.logger.warn(text);
    void this.persist(); // attempts and last errors survive a restart
  }

  private enqueue(id: string, createdAt: string): void {
    const now = this.clock.now().toISOString();
    this.queue.set(id, {
      id,
      createdAt,
      queuedAt: now,
      attempts: 0,
      lastError: null,
      lastAttemptAt: null,
      notBefore: 0,
    });
  }

  /** Writes the queue durably (serialized writes of the latest state; failures only logged). */
  private persist(): Promise<void> {
    const journal: Journal = {
      format: 1,
      pending: [...this.queue.values()].map(({ notBefore: _notBefore, ...rest }) => rest),
    };
    const file = this.options.journalFile;
    this.journalWrites = this.journalWrites
      .then(async () => {
        await mkdir(dirname(file), { recursive: true });
        await writeFileDurable(file, `${JSON.stringify(journal, null, 2)}\n`);
      })
      .catch((err) =>
        this.logger.warn(`could not write the offsite journal ${file}: ${(err as Error).message}`),
      );
    return this.journalWrites;
  }

  private async loadJournal(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.options.journalFile, 'utf8');
    } catch {
      return; // no journal yet: the catch-up recomputes the queue
    }
    try {
      const journal = JSON.parse(text) as Journal;
      for (const e of journal.pending ?? []) {
        if (parseBackupId(e.id)?.id !== e.id || Number.isNaN(Date.parse(e.createdAt))) continue;
        this.queue.set(e.id, { ...e, attempts: Number(e.attempts) || 0, notBefore: 0 });
      }
      if (this.queue.size > 0)
        this.logger.log(`offsite: ${this.queue.size} upload(s) pending from the journal`);
    } catch (err) {
      this.logger.warn(
        `ignoring the unreadable offsite journal ${this.options.journalFile} (${(err as Error).message}); the queue is recomputed`,
      );
    }
  }
}

/**
 * A failure of the store itself (it will fail for every backup): back off. Anything unknown is
 * treated the same way, the safe side. A conflict or a corrupt local file concerns one backup.
 */
function isStoreFailure(err: unknown): boolean {
  return err instanceof OffsiteError || !(err instanceof BackupDomainError);
}

function candidate(b: StoredBackup) {
  return { id: b.id, createdAt: b.createdAt, verified: b.manifest?.verification.ok === true };
}

function monotonicMs(): number {
  return performance.now();
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
