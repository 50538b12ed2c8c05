import { BackupManifest } from '@pra-kit/shared';
import { existsSync } from 'node:fs';
import { BackupStore, LocalBackupStore, StoredBackup } from '../core/backup.store';
import { BackupDomainError, OffsiteError } from '../core/errors';
import { Clock, Logger, OffsiteListing } from '../core/ports';
import { decideRetention, RetentionPolicy } from '../core/retention.policy';
import { monotonicMs } from './retry.backoff';
import { PendingUpload, UploadJournal } from './upload.journal';

export interface UploadPassOptions {
  /** Offsite retention (BACKUP_OFFSITE_KEEP_*). */
  readonly retention: RetentionPolicy;
  /** How long a backup refused by the store (conflict, local file corrupt) waits before a retry. */
  readonly holdMs: number;
  readonly encrypted: boolean;
}

/**
 * One upload pass, and what the passes learned about the store:
 *
 * 1. when needed (at start, after a failure), check the store and catch up: the local verified
 *    backups that are not offsite and that offsite retention would keep are queued (the offsite
 *    list is the truth; the journal only remembers attempts and errors);
 * 2. upload what is due, newest first: `<id>.db`, then `<id>.json` (the store's `put`);
 * 3. after uploads, offsite retention.
 *
 * A failure of the store itself (down, credentials, bucket) ends the pass with that error, for the
 * caller to back off. A problem of one backup (the bucket holds another backup under its id, its
 * local file no longer matches its manifest) is recorded on it, holds it for `holdMs`, loudly, and
 * the pass goes on with the others. Nothing here deletes or changes a local backup.
 */
export class UploadPass {
  /** Backups this process uploaded (id -> uploaded_at), for the catalog's offsite state. */
  readonly uploaded = new Map<string, string>();
  readonly counters = { uploads: 0, refused: 0, pruned: 0 };
  lastUploadAt: Date | null = null;
  /** The last offsite listing (refreshed by each check, upload and prune). */
  private remote: StoredBackup[] | null = null;
  private needsCheck = true;

  constructor(
    private readonly store: BackupStore,
    private readonly local: LocalBackupStore,
    private readonly journal: UploadJournal,
    private readonly options: UploadPassOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Whether the store was checked and the queue recomputed since the start or the last failure. */
  get checked(): boolean {
    return !this.needsCheck;
  }

  /** The next pass checks the store and recomputes the queue first (after a failure). */
  recheck(): void {
    this.needsCheck = true;
  }

  /** Backups in the store at the last listing; null before the first one. */
  get remoteCount(): number | null {
    return this.remote?.length ?? null;
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

  /** Runs the pass; `storeWorks` is called each time the store has just proved that it works. */
  async run(storeWorks: () => void): Promise<void> {
    if (this.needsCheck) {
      await this.store.prepare();
      await this.catchUp();
      this.needsCheck = false;
      storeWorks();
    }
    let uploaded = 0;
    for (
      let entry = this.journal.nextDue(monotonicMs());
      entry;
      entry = this.journal.nextDue(monotonicMs())
    ) {
      if (await this.uploadOne(entry)) {
        uploaded++;
        storeWorks(); // say so now, not after the whole backlog
      }
    }
    if (uploaded > 0) await this.prune(await this.store.list());
  }

  /** Uploads one backup: true when it is offsite now. Store failures are thrown. */
  private async uploadOne(entry: PendingUpload): Promise<boolean> {
    const local = await this.local.stat(entry.id);
    if (!local?.manifest) {
      await this.dropRemovedLocally(entry);
      return false;
    }
    entry.attempts++;
    entry.lastAttemptAt = this.clock.now().toISOString();
    try {
      await this.store.put(local.manifest, this.local.pathOf(entry.id));
    } catch (err) {
      if (!existsSync(this.local.pathOf(entry.id))) {
        await this.dropRemovedLocally(entry);
        return false;
      }
      entry.lastError = (err as Error).message;
      if (isStoreFailure(err)) throw err;
      this.counters.refused++;
      entry.notBefore = monotonicMs() + this.options.holdMs;
      this.logger.error(
        `offsite copy of ${entry.id} refused: ${entry.lastError}; retrying in ${seconds(this.options.holdMs)}`,
      );
      await this.journal.save();
      return false;
    }
    await this.journal.change({ remove: [entry.id] });
    const at = this.clock.now();
    this.uploaded.set(entry.id, at.toISOString());
    if (this.uploaded.size > 1000) this.uploaded.delete(this.uploaded.keys().next().value as string);
    this.lastUploadAt = at;
    this.counters.uploads++;
    this.logger.log(
      `offsite copy of ${entry.id} done: ${this.store.location}${entry.id}.db` +
        `${this.options.encrypted ? ' (encrypted)' : ''}, ${local.manifest.size} bytes` +
        `${entry.attempts > 1 ? ` after ${entry.attempts} attempts` : ''}`,
    );
    return true;
  }

  private async dropRemovedLocally(entry: PendingUpload): Promise<void> {
    await this.journal.change({ remove: [entry.id] });
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
    // Uploaded by a run that died before it could update the journal.
    const alreadyOffsite = this.journal.ids().filter((id) => offsiteIds.has(id));
    const missing = (await this.local.list()).filter(
      (b) => b.manifest?.verification.ok === true && !offsiteIds.has(b.id) && !this.journal.has(b.id),
    );
    const expired = new Set(
      decideRetention(
        [...remote, ...missing].map(candidate),
        this.options.retention,
        this.clock.now(),
      ).expired,
    );
    const toUpload = missing.filter((b) => !expired.has(b.id));
    if (toUpload.length > 0) {
      this.logger.log(
        `offsite catch-up: ${toUpload.length} local backup(s) not yet in ${this.store.location}: ${toUpload.map((b) => b.id).join(', ')}`,
      );
    }
    await this.journal.change({
      remove: alreadyOffsite,
      add: toUpload.map((b) => ({ id: b.id, createdAt: (b.manifest as BackupManifest).created_at })),
    });
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

export function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
