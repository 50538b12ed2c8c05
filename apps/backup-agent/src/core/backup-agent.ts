import {
  BackupManifest,
  BackupReason,
  BackupRef,
  formatBackupRef,
  isLatestCandidate,
  manifestFor,
  normalizeBackupId,
  serializeManifest,
  VerifyMode,
} from '@pra-kit/shared';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BackupCreator } from './backup.creator';
import { BackupView, buildCatalog } from './backup.catalog';
import { BackupRestorer, RestoreMode, RestoreResult } from './backup.restorer';
import { LocalBackupStore, StoredBackup } from './backup.store';
import { sha256File, writeFileDurable } from '../infra/durable-fs';
import {
  BackupCorruptError,
  BackupNotFoundError,
  DataLossSuspectedError,
  OperationInProgressError,
  PointInTimeUnavailableError,
} from './errors';
import { OperationKind, OperationLock } from '../infra/operation.lock';
import { Clock, Logger, Offsite } from './ports';
import { decideRetention, RetentionPolicy } from './retention.policy';
import { countRows, inspectDatabase, removeQuietly } from '../infra/sqlite-file';

export interface AgentCoreConfig {
  readonly dbPath: string;
  readonly backupDir: string;
  readonly verify: VerifyMode;
  readonly retention: RetentionPolicy;
}

export interface RestoreRequest {
  /** Which backup (parseBackupRef), or which instant. */
  readonly ref: BackupRef;
  readonly mode: RestoreMode;
  readonly dryRun?: boolean;
  /** Where to take the backup from; by default the local copy, or offsite when there is none. */
  readonly from?: 'local' | 's3';
}

export interface VerifyReport {
  readonly id: string;
  readonly ok: boolean;
  readonly detail: string;
  /** A manifest was written for a backup that had none (after it passed the check). */
  readonly adopted?: boolean;
}

/** Counters and last results, read by /metrics. */
export interface AgentStats {
  backupsTaken: number;
  failuresTotal: number;
  lastAttemptAt: Date | null;
  lastSuccessAt: Date | null;
  lastDurationMs: number | null;
  lastSizeBytes: number | null;
  lastRows: number | null;
  lastError: string | null;
  lastBackupId: string | null;
  restoresTotal: number;
  lastRestoreAt: Date | null;
  prunedTotal: number;
}

/** What a BackupAgent is built from (agent.factory.ts builds them from the configuration). */
export interface AgentParts {
  readonly local: LocalBackupStore;
  /** null when offsite copies are off. */
  readonly offsite?: Offsite | null;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * The backup domain's entry point, used by the HTTP API, the scheduler and the CLI alike. Every
 * backup and restore runs under the operation lock: one at a time, across processes.
 */
export class BackupAgent {
  readonly local: LocalBackupStore;
  readonly offsite: Offsite | null;
  readonly stats: AgentStats = {
    backupsTaken: 0,
    failuresTotal: 0,
    lastAttemptAt: null,
    lastSuccessAt: null,
    lastDurationMs: null,
    lastSizeBytes: null,
    lastRows: null,
    lastError: null,
    lastBackupId: null,
    restoresTotal: 0,
    lastRestoreAt: null,
    prunedTotal: 0,
  };
  private readonly lock: OperationLock;
  private readonly creator: BackupCreator;
  private readonly restorer: BackupRestorer;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(
    readonly config: AgentCoreConfig,
    parts: AgentParts,
  ) {
    this.local = parts.local;
    this.offsite = parts.offsite ?? null;
    this.clock = parts.clock;
    this.logger = parts.logger;
    this.lock = new OperationLock(join(config.backupDir, '.agent.lock'));
    this.creator = new BackupCreator(config, this.clock, this.logger);
    this.restorer = new BackupRestorer(config, this.creator, this.logger);
  }

  /** What is running in this process right now, if anything. */
  get running(): OperationKind | null {
    return this.lock.current;
  }

  /** Removes leftovers of an interrupted run. Skipped (false) when another process holds the lock. */
  async start(): Promise<boolean> {
    try {
      await this.lock.run('prune', () => this.creator.cleanLeftovers(dirname(this.config.dbPath)));
      return true;
    } catch (err) {
      if (err instanceof OperationInProgressError) return false;
      throw err;
    }
  }

  /** Takes a backup, then applies retention. Failures are counted, recorded, and rethrown. */
  async backup(reason: BackupReason): Promise<BackupManifest> {
    const started = this.clock.now();
    this.stats.lastAttemptAt = started;
    let manifest: BackupManifest;
    try {
      manifest = await this.lock.run('backup', async () => {
        await this.refuseEmptyAfterLoss();
        const m = await this.creator.create(reason);
        await this.pruneLocked();
        return m;
      });
    } catch (err) {
      if (!(err instanceof OperationInProgressError)) {
        this.stats.failuresTotal++;
        this.stats.lastError = (err as Error).message;
      }
      throw err;
    }
    Object.assign(this.stats, {
      backupsTaken: this.stats.backupsTaken + 1,
      lastSuccessAt: new Date(manifest.created_at),
      lastDurationMs: manifest.duration_ms,
      lastSizeBytes: manifest.size,
      lastRows: manifest.rows,
      lastBackupId: manifest.id,
      lastError: null,
    });
    await this.offsite?.backupCreated(manifest);
    return manifest;
  }

  /**
   * Both volumes lost, then an empty database started: the backup volume is empty, the database has
   * no rows, and the bucket has backups. Checked only in that state (no local backup), so it costs
   * nothing in normal operation.
   */
  private async refuseEmptyAfterLoss(): Promise<void> {
    if (!this.offsite || (await this.local.list()).length > 0 || countRows(this.config.dbPath) !== 0) return;
    let offsite: StoredBackup[];
    try {
      offsite = await this.offsite.store.list();
    } catch {
      return; // cannot tell: an empty first backup is better than none
    }
    const newest = offsite.find((b) => isLatestCandidate(b.manifest));
    if (newest && (newest.manifest?.rows ?? 0) > 0) {
      throw new DataLossSuspectedError(
        `refusing to back up an empty database: ${this.config.backupDir} holds no backup and ` +
          `${this.offsite.store.location} holds ${offsite.length} (newest ${newest.id}, ${newest.manifest?.rows} rows). ` +
          `Both volumes look lost: restore first (restore --latest --from s3, or POST /restore/latest?from=s3)`,
      );
    }
  }

  async restore(request: RestoreRequest): Promise<RestoreResult> {
    const ref = request.ref;
    refuseInstant(ref);
    return this.lock.run('restore', async () => {
      const source = await this.locate(ref, request.from);
      let file = this.local.pathOf(source.id);
      let download: string | null = null;
      try {
        if (source.from === 's3') {
          // Downloaded (and decrypted) beside the backups, then verified like a local backup.
          download = join(this.config.backupDir, `.${source.id}.download.tmp`);
          await mkdir(this.config.backupDir, { recursive: true });
          await (this.offsite as Offsite).store.fetch(source.id, download);
          file = download;
        }
        const result = await this.restorer.restore({
          manifest: source.manifest,
          file,
          from: source.from,
          mode: request.mode,
          dryRun: request.dryRun ?? false,
        });
        if (!result.dry_run) {
          this.stats.restoresTotal++;
          this.stats.lastRestoreAt = this.clock.now();
        }
        if (result.safety_snapshot) await this.offsiteCopyOf(result.safety_snapshot);
        return result;
      } finally {
        if (download) await removeQuietly(download);
      }
    });
  }

  /** Restore points, newest first (local and offsite merged). */
  async list(): Promise<BackupView[]> {
    const local = await this.local.list();
    // When the store does not answer, its last listing is shown, and the log says why (the CLI's
    // `list` prints it: an empty list must not pass for "no offsite backups").
    let offsite: StoredBackup[] | null = null;
    if (this.offsite) {
      const listing = await this.offsite.listRemote();
      if (listing.error)
        this.logger.warn(`offsite listing failed, showing the last one seen: ${listing.error}`);
      offsite = listing.backups;
    }
    return buildCatalog(local, offsite, (id) => this.offsite?.stateOf(id) ?? null, this.clock.now());
  }

  /** One restore point. `latest` is the backup that `restore` of `latest` would take, by construction. */
  async get(ref: BackupRef): Promise<BackupView> {
    refuseInstant(ref);
    const id = ref.kind === 'latest' ? (await this.locate(ref, undefined)).id : ref.id;
    const found = (await this.list()).find((b) => b.id === id);
    if (!found) throw new BackupNotFoundError(id);
    return found;
  }

  /**
   * Re-checks sha256 and integrity of one backup or all local ones. A backup without a manifest
   * that passes the integrity check is adopted: a manifest is written for it (reason `imported`).
   */
  async verify(id?: string, mode: VerifyMode = 'full'): Promise<VerifyReport[]> {
    return this.lock.run('verify', async () => {
      const all = await this.local.list();
      const targets = id === undefined ? all : all.filter((b) => b.id === normalizeBackupId(id));
      if (id !== undefined && targets.length === 0) throw new BackupNotFoundError(normalizeBackupId(id));
      const reports: VerifyReport[] = [];
      for (const b of targets) reports.push(await this.verifyOne(b, mode));
      return reports;
    });
  }

  /** Applies retention now (also done after every backup). */
  async prune(): Promise<string[]> {
    return this.lock.run('prune', () => this.pruneLocked());
  }

  private async pruneLocked(): Promise<string[]> {
    const list = await this.local.list();
    const decision = decideRetention(
      list.map((b) => ({ id: b.id, createdAt: b.createdAt, verified: b.manifest?.verification.ok === true })),
      this.config.retention,
      this.clock.now(),
    );
    for (const id of decision.expired) await this.local.remove(id);
    await this.creator.cleanLeftovers();
    if (decision.expired.length > 0) {
      this.stats.prunedTotal += decision.expired.length;
      this.logger.log(
        `retention removed ${decision.expired.length} backup(s): ${decision.expired.join(', ')}`,
      );
    }
    return [...decision.expired];
  }

  /** The safety snapshot of a restore goes offsite like any backup. */
  private async offsiteCopyOf(id: string): Promise<void> {
    const manifest = (await this.local.stat(id))?.manifest;
    if (manifest && this.offsite) await this.offsite.backupCreated(manifest);
  }

  /**
   * The backup a ref names and where to take it from: the local copy first (no download), the
   * offsite one when there is no local one or when `from` says so.
   */
  private async locate(
    ref: StoredRef,
    from: 'local' | 's3' | undefined,
  ): Promise<{ id: string; manifest: BackupManifest; from: 'local' | 's3' }> {
    const wanted = formatBackupRef(ref);
    if (from === 's3' && !this.offsite) {
      throw new BackupNotFoundError(wanted, 'offsite: offsite copies are not configured (S3_BUCKET)');
    }
    const pick = (list: StoredBackup[]) =>
      ref.kind === 'latest'
        ? list.find((b) => isLatestCandidate(b.manifest))
        : list.find((b) => b.id === ref.id);

    if (from !== 's3') {
      const local = pick(await this.local.list());
      if (local?.manifest) return { id: local.id, manifest: local.manifest, from: 'local' };
      if (local && !local.manifest) {
        throw new BackupCorruptError(
          local.id,
          `no manifest, so no checksum to verify; run "verify --id ${local.id}" first`,
        );
      }
      if (from === 'local' || !this.offsite) throw new BackupNotFoundError(wanted);
    }
    const remote = pick(await (this.offsite as Offsite).store.list());
    if (!remote?.manifest)
      throw new BackupNotFoundError(wanted, `offsite (${(this.offsite as Offsite).store.location})`);
    return { id: remote.id, manifest: remote.manifest, from: 's3' };
  }

  private async verifyOne(b: StoredBackup, mode: VerifyMode): Promise<VerifyReport> {
    const file = this.local.pathOf(b.id);
    if (b.manifest) {
      try {
        await this.restorer.verify({ manifest: b.manifest, file }, mode);
        return { id: b.id, ok: true, detail: `sha256 and ${mode} check ok` };
      } catch (err) {
        if (err instanceof BackupCorruptError) return { id: b.id, ok: false, detail: err.reason };
        throw err;
      }
    }
    if (!existsSync(file)) return { id: b.id, ok: false, detail: 'file disappeared' };
    const inspection = inspectDatabase(file, mode);
    if (!inspection.ok || !inspection.facts) return { id: b.id, ok: false, detail: inspection.detail };
    const manifest = manifestFor({
      id: b.id,
      createdAt: b.createdAt,
      size: b.size,
      sha256: await sha256File(file),
      facts: inspection.facts,
      reason: 'imported',
      durationMs: 0,
      checkedWith: mode,
      checkedAt: this.clock.now(),
    });
    await writeFileDurable(this.local.manifestPathOf(b.id), serializeManifest(manifest));
    return { id: b.id, ok: true, detail: `${mode} check ok; manifest written (it had none)`, adopted: true };
  }
}

/** A ref that names a stored backup (`latest` or an id), as opposed to an instant. */
type StoredRef = Exclude<BackupRef, { kind: 'at' }>;

/**
 * A point-in-time restore (`at`) needs continuous replication of the WAL, which the agent does not
 * do: only the backups it took can be restored. Checked before the operation lock, so nothing is
 * touched.
 */
function refuseInstant(ref: BackupRef): asserts ref is StoredRef {
  if (ref.kind === 'at') {
    throw new PointInTimeUnavailableError(
      `point-in-time restore needs continuous replication, which is not set up for this agent: ` +
        `it cannot restore the state at ${ref.at.toISOString()}. Restore a backup instead, by id or ` +
        `"latest" (GET /backups or "list" shows them with their times)`,
    );
  }
}
