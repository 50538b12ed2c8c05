import {
  AutoRestoreRecord,
  BackupManifest,
  BackupReason,
  BackupRef,
  EMPTY_AUTO_RESTORE_RECORD,
  EMPTY_RESTORE_TEST_RECORD,
  formatBackupRef,
  SizeOrShare,
  isLatestCandidate,
  manifestFor,
  normalizeBackupId,
  readAutoRestoreRecord,
  readRestoreTestRecord,
  RestoreTestRecord,
  serializeManifest,
  VerifyMode,
} from '@pra-kit/shared';
import { existsSync } from 'node:fs';
import { mkdir, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BackupCreator, SnapshotAnchor } from './backup.creator';
import { BackupView, buildCatalog } from './backup.catalog';
import { BackupRestorer, RestoreMode, RestorePlan, RestoreResult } from './backup.restorer';
import { LocalBackupStore, StoredBackup } from './backup.store';
import { fsyncFile, sha256File, writeFileDurable } from '../infra/durable-fs';
import {
  BackupCorruptError,
  BackupNotFoundError,
  ChainCorruptError,
  DataLossSuspectedError,
  InsufficientStorageError,
  OperationInProgressError,
  PointInTimeUnavailableError,
} from './errors';
import { OperationKind, OperationLock } from '../infra/operation.lock';
import { Clock, Logger, Offsite } from './ports';
import { ChainView, PointInTimePlan, Replication, SnapshotInChain } from './replication.port';
import { decideRetention, RetentionPolicy } from './retention.policy';
import {
  countRows,
  databaseBytes,
  inspectDatabase,
  makeStandalone,
  removeQuietly,
} from '../infra/sqlite-file';
import { RestoreTestOutcome, runRestoreTest } from './restore-test';

export interface AgentCoreConfig {
  readonly dbPath: string;
  readonly backupDir: string;
  readonly verify: VerifyMode;
  readonly retention: RetentionPolicy;
  /** BACKUP_MIN_FREE: the free space retention keeps on the backup volume (default 10%). */
  readonly minFree?: SizeOrShare;
}

export interface RestoreRequest {
  /** Which backup (parseBackupRef), or which instant. */
  readonly ref: BackupRef;
  readonly mode: RestoreMode;
  readonly dryRun?: boolean;
  /** Where to take the backup from; by default the local copy, or offsite when there is none. */
  readonly from?: 'local' | 's3';
  /** Offline: replace the database even while another process has it open (expert use). */
  readonly force?: boolean;
  /** Restore into this new file instead of the live database (the restore test's scratch file). */
  readonly into?: string;
  /**
   * A point-in-time restore whose chain misses a segment before the instant stops at the gap (and
   * says where) instead of refusing.
   */
  readonly allowGap?: boolean;
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
  /** Operations refused because the backup volume had no room (HTTP 507). */
  insufficientStorageTotal: number;
  /** The automatic restores (core/auto-restore.ts), as recorded in BACKUP_DIR. */
  autoRestore: AutoRestoreRecord;
  /** The scheduled restore tests (core/restore-test.ts), as recorded in BACKUP_DIR. */
  restoreTest: RestoreTestRecord;
}

/** What a BackupAgent is built from (agent.factory.ts builds them from the configuration). */
export interface AgentParts {
  readonly local: LocalBackupStore;
  /** null when offsite copies are off. */
  readonly offsite?: Offsite | null;
  /** Continuous replication (BACKUP_REPLICATION); null when off. */
  readonly replication?: Replication | null;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Space on the backup volume, and the reserve retention keeps free there. */
export interface VolumeSpace {
  readonly path: string;
  readonly freeBytes: number;
  readonly totalBytes: number;
  readonly minFreeBytes: number;
}

/**
 * The backup domain's entry point, used by the HTTP API, the scheduler and the CLI alike. Every
 * backup and restore runs under the operation lock: one at a time, across processes.
 */
export class BackupAgent {
  readonly local: LocalBackupStore;
  readonly offsite: Offsite | null;
  readonly replication: Replication | null;
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
    insufficientStorageTotal: 0,
    autoRestore: EMPTY_AUTO_RESTORE_RECORD,
    restoreTest: EMPTY_RESTORE_TEST_RECORD,
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
    this.replication = parts.replication ?? null;
    this.clock = parts.clock;
    this.logger = parts.logger;
    this.lock = new OperationLock(join(config.backupDir, '.agent.lock'));
    this.creator = new BackupCreator(config, this.clock, this.logger);
    this.restorer = new BackupRestorer(config, this.creator, this.logger);
    // What an earlier process (the init container's `restore --auto`) did, kept on the volume.
    this.stats.autoRestore = readAutoRestoreRecord(config.backupDir);
    this.stats.restoreTest = readRestoreTestRecord(config.backupDir);
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

  /**
   * Takes a backup, then applies retention. Failures are counted, recorded, and rethrown. While
   * replication follows the WAL, the snapshot is anchored in its chain (`anchor` overrides that: the
   * base snapshot of a new chain).
   */
  async backup(reason: BackupReason, anchor?: SnapshotAnchor): Promise<BackupManifest> {
    const started = this.clock.now();
    this.stats.lastAttemptAt = started;
    let manifest: BackupManifest;
    try {
      manifest = await this.lock.run('backup', async () => {
        await this.refuseEmptyAfterLoss();
        await this.makeRoom(
          snapshotBytes(this.config.dbPath),
          `a snapshot of ${this.config.dbPath} (${reason})`,
        );
        const replication = this.replication;
        const m = await this.creator.create(
          reason,
          anchor ?? (replication ? (openReadTx) => replication.anchorSnapshot(openReadTx) : undefined),
        );
        await this.pruneLocked();
        return m;
      });
    } catch (err) {
      if (!(err instanceof OperationInProgressError)) {
        this.stats.failuresTotal++;
        this.stats.lastError = (err as Error).message;
      }
      if (err instanceof InsufficientStorageError) this.stats.insufficientStorageTotal++;
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

  /**
   * Restores a backup (by id, or `latest`) or an instant (`at`). With continuous replication,
   * `latest` is the newest restorable instant (the end of the newest chain) when it is newer than
   * the newest snapshot. The live chain ends at a restore; a new one starts after it.
   */
  async restore(request: RestoreRequest): Promise<RestoreResult> {
    try {
      return await this.lock.run('restore', () => this.restoreUnderLock(request));
    } catch (err) {
      if (err instanceof InsufficientStorageError) this.stats.insufficientStorageTotal++;
      throw err;
    }
  }

  /**
   * The scheduled restore test (core/restore-test.ts): a restore by this agent's own restore path,
   * into a scratch file on the backup volume, checked and removed; under the operation lock, after
   * making room for the copy like for a snapshot.
   */
  async testRestore(options: { readonly lookbackMs?: number } = {}): Promise<RestoreTestOutcome> {
    const outcome = await this.lock.run('restore-test', async () => {
      const newest = await this.newestSnapshot();
      // The copy, and the rebuilt database or the download it is made from.
      await this.makeRoom(2 * (newest?.size ?? 0) + 1024 * 1024, 'a restore test of the newest point');
      return runRestoreTest({
        backupDir: this.config.backupDir,
        clock: this.clock,
        logger: this.logger,
        pointInTime: this.replication !== null,
        lookbackMs: options.lookbackMs,
        restoreInto: (ref, target) => this.restoreUnderLock({ ref, mode: 'offline', into: target }),
      });
    });
    if (outcome.outcome !== 'nothing-to-test') this.stats.restoreTest = outcome.record;
    return outcome;
  }

  /** One restore (or a restore test's, with `into`); the caller holds the operation lock. */
  private async restoreUnderLock(request: RestoreRequest): Promise<RestoreResult> {
    const ref = request.ref;
    const pointInTime = await this.pointInTimeFor(ref, request);
    if (pointInTime) return this.restorePointInTime(pointInTime, ref, request);
    const stored = ref as StoredRef;
    const source = await this.locate(stored, request.from);
    return this.withFile(source.id, source.from === 's3', (file) =>
      this.replaceLive(`restored ${source.id}`, {
        manifest: source.manifest,
        file,
        from: source.from,
        mode: request.mode,
        dryRun: request.dryRun ?? false,
        force: request.force ?? false,
        ...(request.into !== undefined ? { target: request.into } : {}),
      }),
    );
  }

  /**
   * Runs `use` with the file of a stored backup: the local one, or, from the bucket, a copy
   * downloaded (and decrypted) beside the backups, removed afterwards. The caller verifies it.
   */
  private async withFile<T>(id: string, fromBucket: boolean, use: (file: string) => Promise<T>): Promise<T> {
    if (!fromBucket) return use(this.local.pathOf(id));
    const download = join(this.config.backupDir, `.${id}.download.tmp`);
    try {
      await mkdir(this.config.backupDir, { recursive: true });
      await (this.offsite as Offsite).store.fetch(id, download);
      return await use(download);
    } finally {
      await removeQuietly(download);
    }
  }

  /** The newest verified snapshot `latest` could name (local), or null. */
  async newestSnapshot(): Promise<BackupManifest | null> {
    return (await this.local.list()).find((b) => isLatestCandidate(b.manifest))?.manifest ?? null;
  }

  /**
   * Space on the backup volume: free and total bytes, and the reserve retention keeps free
   * (BACKUP_MIN_FREE, 10% of the volume by default). A statfs: cheap enough for every scrape and
   * every step of space-aware retention.
   */
  async volumeSpace(): Promise<VolumeSpace> {
    await mkdir(this.config.backupDir, { recursive: true });
    const s = await statfs(this.config.backupDir);
    const totalBytes = s.blocks * s.bsize;
    const minFree = this.config.minFree ?? { percent: 10 };
    const minFreeBytes =
      'bytes' in minFree ? minFree.bytes : Math.floor((totalBytes * minFree.percent) / 100);
    return { path: this.config.backupDir, freeBytes: s.bavail * s.bsize, totalBytes, minFreeBytes };
  }

  /** The volume's space, and what the next snapshot will take (the live database's size, with a margin). */
  async storage(): Promise<VolumeSpace & { readonly nextSnapshotBytes: number }> {
    return { ...(await this.volumeSpace()), nextSnapshotBytes: snapshotBytes(this.config.dbPath) };
  }

  /** Every replication chain and what it can restore, newest first (empty without replication). */
  async chains(): Promise<ChainView[]> {
    return (await this.replication?.chains()) ?? [];
  }

  /**
   * Hands a verified restore plan to the restorer. A real restore ends the live replication chain
   * first (the database's content is about to change under it) and starts a new one after.
   */
  private async replaceLive(reason: string, plan: RestorePlan): Promise<RestoreResult> {
    // A restore into a scratch file (the restore test) leaves the live database and its chain alone.
    if (plan.target !== undefined) return this.restorer.restore(plan);
    // The safety snapshot that makes the restore undoable needs room like any backup, but never
    // at the cost of the point being restored.
    if (!plan.dryRun)
      await this.makeRoom(snapshotBytes(this.config.dbPath), 'the safety snapshot of the restore', [
        plan.manifest.id,
      ]);
    if (!plan.dryRun) await this.replication?.pause(reason);
    try {
      const result = await this.restorer.restore(plan);
      if (!result.dry_run) {
        this.stats.restoresTotal++;
        this.stats.lastRestoreAt = this.clock.now();
      }
      if (result.safety_snapshot) await this.offsiteCopyOf(result.safety_snapshot);
      return result;
    } finally {
      if (!plan.dryRun) this.replication?.resume();
    }
  }

  /**
   * The point-in-time plan for a ref, or null when a stored backup is what to restore: an id, an
   * offsite copy (`from: s3`), or `latest` when no chain reaches past the newest snapshot.
   */
  private async pointInTimeFor(ref: BackupRef, request: RestoreRequest): Promise<PointInTimePlan | null> {
    const replication = this.replication;
    const from = request.from ?? 'local';
    const options = { from, allowGap: request.allowGap ?? false };
    if (ref.kind === 'id') return null;
    if (ref.kind === 'at') {
      if (!replication) refuseInstant(ref);
      if (ref.at.getTime() > this.clock.now().getTime()) {
        throw new PointInTimeUnavailableError(`${ref.at.toISOString()} is in the future`);
      }
      if (from === 'local') await this.syncQuietly(replication as Replication);
      return (replication as Replication).plan(ref.at, options);
    }
    if (!replication) return null;
    if (from === 'local') await this.syncQuietly(replication);
    let plan: PointInTimePlan;
    try {
      plan = await replication.plan('latest', options);
    } catch (err) {
      if (err instanceof PointInTimeUnavailableError) return null;
      throw err;
    }
    if (plan.toTx === plan.snapshot.tx) return null; // nothing after the snapshot: restore the snapshot
    const snapshots = from === 's3' ? await (this.offsite as Offsite).store.list() : await this.local.list();
    const newest = snapshots.find((b) => isLatestCandidate(b.manifest));
    const newestMs = newest?.manifest ? Date.parse(newest.manifest.created_at) : 0;
    return plan.targetTimeUs / 1000 >= newestMs ? plan : null;
  }

  /**
   * Ships what is committed before a restore plans from the chains. Best effort: if the live
   * database cannot be read (it is what is being repaired), the restore goes on with what the
   * chains already hold.
   */
  private async syncQuietly(replication: Replication): Promise<void> {
    try {
      await replication.sync();
    } catch (err) {
      this.logger.warn(`could not ship the last transactions before the restore: ${(err as Error).message}`);
    }
  }

  /**
   * A point-in-time restore: the plan's snapshot is verified, copied to a temp file on the backup
   * volume, the chain's transactions are replayed onto it up to the instant, and the result is
   * checked (integrity) before the normal restore takes it. Nothing touches the live database
   * before all of that passed.
   */
  private async restorePointInTime(
    plan: PointInTimePlan,
    ref: BackupRef,
    request: RestoreRequest,
  ): Promise<RestoreResult> {
    const fromBucket = plan.source === 's3';
    const store = fromBucket ? (this.offsite as Offsite).store : this.local;
    const snapshot = await store.stat(plan.snapshot.backupId);
    if (!snapshot?.manifest) throw new BackupNotFoundError(plan.snapshot.backupId, `in ${store.location}`);
    const stored = snapshot as StoredBackup & { manifest: BackupManifest };
    return this.withFile(stored.id, fromBucket, async (snapshotFile) => {
      await this.restorer.verify({ manifest: stored.manifest, file: snapshotFile });
      return this.replayAndRestore(plan, ref, request, stored, snapshotFile);
    });
  }

  private async replayAndRestore(
    plan: PointInTimePlan,
    ref: BackupRef,
    request: RestoreRequest,
    snapshot: StoredBackup & { manifest: BackupManifest },
    snapshotFile: string,
  ): Promise<RestoreResult> {
    const at = ref.kind === 'at' ? ref.at.toISOString() : 'latest';
    const target = new Date(Math.floor(plan.targetTimeUs / 1000));
    const scratch = join(this.config.backupDir, `.${snapshot.id}.pitr-${plan.toTx}.restore.tmp`);
    // Room for the rebuilt copy, never by removing the snapshot it is rebuilt from (nor so its segments).
    await this.makeRoom(Math.ceil(snapshot.size * 1.5), `rebuilding the state of ${target.toISOString()}`, [
      snapshot.id,
    ]);
    try {
      await (this.replication as Replication).materialize(plan, snapshotFile, scratch);
      makeStandalone(scratch);
      const inspection = inspectDatabase(scratch, this.config.verify);
      if (!inspection.ok || !inspection.facts) {
        throw new ChainCorruptError(
          `the database rebuilt for ${target.toISOString()} from ${snapshot.id} and ${plan.chain} fails its ` +
            `${this.config.verify === 'full' ? 'integrity_check' : 'quick_check'}: ${inspection.detail}; nothing was changed`,
        );
      }
      await fsyncFile(scratch);
      const [sha256, size] = await Promise.all([sha256File(scratch), statSize(scratch)]);
      const manifest = manifestFor({
        id: snapshot.id,
        createdAt: target,
        size,
        sha256,
        facts: inspection.facts,
        reason: snapshot.manifest.reason,
        durationMs: 0,
        checkedWith: this.config.verify,
        checkedAt: this.clock.now(),
        chain: { id: plan.chain, tx: plan.toTx, time_us: plan.targetTimeUs },
      });
      return await this.replaceLive(`restored the state of ${target.toISOString()}`, {
        manifest,
        file: scratch,
        from: plan.source ?? 'local',
        mode: request.mode,
        dryRun: request.dryRun ?? false,
        force: request.force ?? false,
        ...(request.into !== undefined ? { target: request.into } : {}),
        verified: true,
        pointInTime: {
          at,
          chain: plan.chain,
          snapshot: snapshot.id,
          transactions: plan.toTx - plan.snapshot.tx,
          target_time: target.toISOString(),
          ...(plan.stoppedAtGap ? { stopped_at_gap: plan.stoppedAtGap } : {}),
        },
      });
    } finally {
      await removeQuietly(scratch);
    }
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
    const views = buildCatalog(local, offsite, (id) => this.offsite?.stateOf(id) ?? null, this.clock.now());
    // Which points passed a restore test (kept beside the manifests, which never change).
    const tested = readRestoreTestRecord(this.config.backupDir).points;
    const withTests = views.map((v) => ({
      ...v,
      restore_tested_at: tested[v.id]?.tested_at ?? null,
      restore_test_error: tested[v.id]?.error ?? null,
    }));
    if (!this.replication) return withTests;
    const chains = new Map((await this.replication.chains()).map((c) => [c.id, c]));
    const positions = new Map([...(offsite ?? []), ...local].map((b) => [b.id, b.manifest?.chain ?? null]));
    /** From this backup's instant to the end of the range that contains it (null: not in one). */
    const rangeFrom = (at: string, range: { from: string | null; to: string | null } | null) =>
      range && range.from !== null && range.to !== null && Date.parse(range.from) <= Date.parse(at)
        ? { from: at, to: range.to }
        : null;
    return withTests.map((v) => {
      const position = positions.get(v.id);
      const chain = position ? chains.get(position.id) : undefined;
      if (!position || !chain) return { ...v, chain: null };
      const at = new Date(Math.floor(position.time_us / 1000)).toISOString();
      const here = v.location === 'offsite' ? null : rangeFrom(at, chain);
      return {
        ...v,
        chain: {
          id: chain.id,
          tx: position.tx,
          status: chain.status,
          from: here?.from ?? null,
          to: here?.to ?? null,
          ...(this.offsite ? { offsite: rangeFrom(at, chain.offsite ?? null) } : {}),
        },
      };
    });
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
    const now = this.clock.now();
    const inChains = snapshotsInChains(list);
    // The live chain's newest snapshot stays: without it, the chain being written restores nothing.
    const liveChain = this.replication?.status()?.chain ?? null;
    const pinned = inChains
      .filter((s) => s.chain === liveChain)
      .slice(-1)
      .map((s) => s.backupId);
    const decision = decideRetention(
      list.map((b) => ({ id: b.id, createdAt: b.createdAt, verified: b.manifest?.verification.ok === true })),
      this.config.retention,
      now,
      pinned,
    );
    for (const id of decision.expired) await this.local.remove(id);
    if (this.replication) {
      const expired = new Set(decision.expired);
      await this.replication.prune(
        inChains.filter((s) => !expired.has(s.backupId)),
        now,
      );
    }
    await this.creator.cleanLeftovers();
    if (decision.expired.length > 0) {
      this.stats.prunedTotal += decision.expired.length;
      this.logger.log(
        `retention removed ${decision.expired.length} backup(s): ${decision.expired.join(', ')}`,
      );
    }
    const forSpace = await this.makeRoom(0, null);
    return [...decision.expired, ...forSpace];
  }

  /**
   * Space-aware retention: keeps BACKUP_MIN_FREE free, plus `neededBytes` for what comes next, by
   * removing the oldest restore points first (a chain's segments before its new oldest snapshot go
   * with it). Never the newest verified point, nor the live chain's newest snapshot, nor the points in
   * `keep` (what the operation under way is about to read). When even that
   * is not enough for `what` to fit at all, throws InsufficientStorageError; when it fits but eats
   * into the reserve, it goes on and says so. The caller holds the operation lock.
   */
  private async makeRoom(
    neededBytes: number,
    what: string | null,
    keep: readonly string[] = [],
  ): Promise<string[]> {
    const removed: string[] = [];
    for (;;) {
      const { freeBytes, minFreeBytes, path } = await this.volumeSpace();
      if (freeBytes - neededBytes >= minFreeBytes) break;
      const victim = await this.oldestRemovable(keep);
      if (victim) {
        await this.local.remove(victim);
        removed.push(victim);
        if (this.replication)
          await this.replication.prune(snapshotsInChains(await this.local.list()), this.clock.now());
        continue;
      }
      if (what !== null && freeBytes < neededBytes) {
        throw new InsufficientStorageError(neededBytes, freeBytes, path, what);
      }
      if (what !== null) {
        this.logger.warn(
          `the backup volume ${path} keeps less than BACKUP_MIN_FREE free (${freeBytes} bytes free, ${minFreeBytes} wanted) and nothing more may be removed`,
        );
      }
      break;
    }
    if (removed.length > 0) {
      this.stats.prunedTotal += removed.length;
      this.logger.log(
        `retention removed ${removed.length} backup(s) to keep free space: ${removed.join(', ')}`,
      );
    }
    return removed;
  }

  /** The oldest restore point space-aware retention may remove (never one in `keep`), or null. */
  private async oldestRemovable(keep: readonly string[]): Promise<string | null> {
    const list = await this.local.list(); // newest first
    const newestVerified = list.find((b) => b.manifest?.verification.ok === true)?.id;
    const newestLatest = list.find((b) => isLatestCandidate(b.manifest))?.id;
    const liveChain = this.replication?.status()?.chain ?? null;
    const liveNewest = liveChain ? list.find((b) => b.manifest?.chain?.id === liveChain)?.id : undefined;
    const kept = new Set(
      [...keep, newestVerified, newestLatest, liveNewest].filter((id): id is string => !!id),
    );
    const candidates = list.filter((b) => !kept.has(b.id));
    return candidates.length > 0 ? candidates[candidates.length - 1].id : null;
  }

  /**
   * Frees room when replication cannot write a segment (ENOSPC): the same space-aware retention, if
   * no other operation holds the lock right now. Never throws.
   */
  async makeRoomForReplication(bytes: number): Promise<void> {
    try {
      await this.lock.run('prune', () => this.makeRoom(bytes, null));
    } catch (err) {
      if (!(err instanceof OperationInProgressError)) {
        this.logger.warn(`could not free space for replication: ${(err as Error).message}`);
      }
    }
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

/** The verified local snapshots that have a place in a replication chain, oldest first. */
export function snapshotsInChains(list: readonly StoredBackup[]): SnapshotInChain[] {
  const found: SnapshotInChain[] = [];
  for (const b of list) {
    const chain = b.manifest?.verification.ok ? b.manifest.chain : undefined;
    if (chain) found.push({ backupId: b.id, chain: chain.id, tx: chain.tx, timeUs: chain.time_us });
  }
  return found.sort((a, b) => a.timeUs - b.timeUs);
}

/** What a snapshot of the live database will take, with a margin (0 when it cannot be read). */
function snapshotBytes(dbPath: string): number {
  const bytes = databaseBytes(dbPath);
  return bytes === null ? 0 : Math.ceil(bytes * 1.1) + 1024 * 1024;
}

async function statSize(path: string): Promise<number> {
  return (await stat(path)).size;
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
      `point-in-time restore needs continuous replication (BACKUP_REPLICATION=on, the sidecar's default), ` +
        `which is off for this agent: it cannot restore the state at ${ref.at.toISOString()}. Restore a ` +
        `backup instead, by id or "latest" (GET /backups or "list" shows them with their times)`,
    );
  }
}
