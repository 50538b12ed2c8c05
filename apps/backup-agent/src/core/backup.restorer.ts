import { BackupManifest, VerifyMode } from '@pra-kit/shared';
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BackupCreator } from './backup.creator';
import { fsyncFile, renameDurable, sha256File } from '../infra/durable-fs';
import {
  BackupCorruptError,
  RestoreNotPossibleError,
  SourceCorruptError,
  SourceUnavailableError,
} from './errors';
import { guardOfflineRestore } from './offline-guard';
import { Logger } from './ports';
import {
  checkpointWal,
  countRows,
  inspectDatabase,
  LiveRestore,
  pageSizeOf,
  removeQuietly,
} from '../infra/sqlite-file';

export type RestoreMode = 'online' | 'offline';

export interface RestorePlan {
  /** The backup to restore, already fetched into `file` (local path), not yet verified. */
  readonly manifest: BackupManifest;
  readonly file: string;
  /** Where the backup came from, for the answer. */
  readonly from: 'local' | 's3';
  readonly mode: RestoreMode;
  readonly dryRun: boolean;
  /** The file was checked just before (a point-in-time restore's rebuilt database): not again. */
  readonly verified?: boolean;
  /** For a point-in-time restore: what was asked and what was replayed (in the answer). */
  readonly pointInTime?: RestoreResult['point_in_time'];
  /** Offline: replace the file even when another process has it open (the CLI's --force). */
  readonly force?: boolean;
  /**
   * Place the restored database here instead of the live one: a scratch file that does not exist
   * yet (the scheduled restore test). Offline only; the live database is never opened.
   */
  readonly target?: string;
}

export interface RestoreResult {
  readonly restored: {
    readonly id: string;
    readonly created_at: string;
    readonly rows: number;
    readonly size: number;
    readonly sha256: string;
    readonly from: 'local' | 's3';
  };
  /** What was done: `online` (API kept serving) or `offline` (file replaced). */
  readonly mode: RestoreMode;
  readonly dry_run: boolean;
  readonly rows_before: number | null;
  readonly rows_after: number | null;
  readonly duration_ms: number;
  /** The backup of the state just before the restore: restore it to undo. */
  readonly safety_snapshot: string | null;
  readonly notes: readonly string[];
  /**
   * A point-in-time restore: the instant asked (`latest` or ISO), the chain and snapshot it came
   * from, the transactions replayed onto the snapshot, and the commit time of the last one.
   */
  readonly point_in_time?: {
    readonly at: string;
    readonly chain: string;
    readonly snapshot: string;
    readonly transactions: number;
    readonly target_time: string;
    /** Asked for with allow_gap: the chain misses a segment before the instant; this says where it stopped. */
    readonly stopped_at_gap?: string;
  };
}

/**
 * Restores a backup into the live database without ever corrupting it.
 *
 * 1. Verify the backup: size and sha256 against its manifest, then SQLite's integrity check.
 *    Anything wrong: BackupCorruptError, nothing touched.
 * 2. Take a safety snapshot of the current database (a normal, listed backup), so the restore can
 *    be undone.
 * 3. Replace the content:
 *    - online (the API keeps serving): the backup is copied into the live database through the
 *      backup API, as one write transaction; readers see the old content until it commits, then
 *      the new one. The restore takes the database's write lock first and takes the safety
 *      snapshot while holding it, so no write can slip in between the snapshot and the restore:
 *      every acknowledged write is either in the safety snapshot or came after the restore.
 *    - offline (the API is stopped, or the database file is gone): copy to a temp file on the data
 *      volume, fsync, check its sha256, remove the stale `-wal`/`-shm`, rename over the database.
 *      Never a `cp` over an open database: refused while another process has the file open
 *      (offline-guard.ts), before anything is done and again just before the rename.
 */
export class BackupRestorer {
  constructor(
    private readonly options: { readonly dbPath: string; readonly verify: VerifyMode },
    private readonly creator: BackupCreator,
    private readonly logger: Logger,
  ) {}

  async restore(plan: RestorePlan): Promise<RestoreResult> {
    const t0 = performance.now();
    if (plan.target !== undefined) return this.restoreInto(plan, plan.target, t0);
    if (!plan.verified) await this.verify(plan);
    const notes: string[] = [];
    const live = this.options.dbPath;
    const liveExists = existsSync(live);
    let mode = plan.mode;
    if (mode === 'online' && !liveExists) {
      mode = 'offline';
      notes.push(
        `${live} does not exist: restored by placing the file (offline path), nothing was serving it`,
      );
    }
    // Offline over an existing file: refused while another process has it open (nothing done yet).
    if (mode === 'offline' && liveExists) guardOfflineRestore(live, plan.force === true, notes, this.logger);
    const rowsBefore = liveExists ? countRows(live) : null;
    if (mode === 'online') {
      const livePageSize = pageSizeOf(live);
      if (livePageSize !== null && livePageSize !== plan.manifest.page_size) {
        throw new RestoreNotPossibleError(
          `page size differs (live ${livePageSize}, backup ${plan.manifest.page_size}): use an offline restore`,
        );
      }
    }

    if (plan.dryRun) {
      notes.push(
        liveExists
          ? 'a safety snapshot of the current database would be taken first'
          : 'no current database to snapshot',
      );
      // What the database would hold: the restore point's rows.
      return this.result(plan, mode, rowsBefore, plan.manifest.rows, null, notes, t0);
    }

    let safety: string | null = null;
    if (mode === 'online') {
      safety = await this.restoreOnline(plan, notes);
    } else {
      safety = liveExists ? await this.safetySnapshot(notes) : null;
      await this.restoreOffline(plan, notes);
    }
    const rowsAfter = countRows(live);
    this.logger.log(
      `restored ${plan.manifest.id} (${mode}): rows ${rowsBefore ?? 'none'} -> ${rowsAfter}` +
        (safety ? `; undo with ${safety}` : ''),
    );
    return this.result(plan, mode, rowsBefore, rowsAfter, safety, notes, t0);
  }

  /** Size, sha256 and integrity of a backup file against its manifest. Throws BackupCorruptError. */
  async verify(
    plan: Pick<RestorePlan, 'manifest' | 'file'>,
    mode: VerifyMode = this.options.verify,
  ): Promise<void> {
    const { manifest, file } = plan;
    const sha256 = await sha256File(file);
    if (sha256 !== manifest.sha256) {
      throw new BackupCorruptError(
        manifest.id,
        `sha256 ${sha256} does not match the manifest (${manifest.sha256})`,
      );
    }
    const inspection = inspectDatabase(file, mode);
    if (!inspection.ok) {
      throw new BackupCorruptError(
        manifest.id,
        `${mode === 'full' ? 'integrity_check' : 'quick_check'}: ${inspection.detail}`,
      );
    }
  }

  private async restoreOnline(plan: RestorePlan, notes: string[]): Promise<string | null> {
    // The safety snapshot is taken under the restore's own write lock: no write can commit between
    // the snapshot and the restore, so every acknowledged write is either in the snapshot (the
    // restore can be undone) or came after the restore.
    const restore = new LiveRestore(plan.file, this.options.dbPath);
    const safety = await restore.withWriteLock(() => this.safetySnapshot(notes));
    await restore.copy();
    checkpointWal(this.options.dbPath); // the restored pages go to the file now, not in the API's next write
    if (!restore.lockedStepRan) notes.push('the safety snapshot could not be taken under the restore lock');
    return safety;
  }

  private async restoreOffline(plan: RestorePlan, notes: string[]): Promise<void> {
    const live = this.options.dbPath;
    // Checked again just before the file is replaced: the safety snapshot and the copy took time.
    await this.placeFile(plan, live, () => {
      if (existsSync(live)) guardOfflineRestore(live, plan.force === true, notes, this.logger);
    });
  }

  /**
   * The restore test's restore (RestorePlan.target): the same verification and the same placement
   * as an offline restore, into a scratch file that must not exist yet. Nothing else is touched:
   * no live database, no safety snapshot, no log line of a restore.
   */
  private async restoreInto(plan: RestorePlan, target: string, t0: number): Promise<RestoreResult> {
    if (plan.mode !== 'offline' || plan.dryRun)
      throw new RestoreNotPossibleError('a restore into a scratch file is an offline restore, not a dry run');
    if (existsSync(target))
      throw new RestoreNotPossibleError(`${target} exists: a restore places a new file`);
    if (!plan.verified) await this.verify(plan);
    await this.placeFile(plan, target);
    return this.result(plan, 'offline', null, countRows(target), null, [], t0);
  }

  /**
   * Places the verified backup at `dest`: copy to a temp file beside it (same volume), fsync, check
   * its sha256, remove a stale `-wal`/`-shm`, rename over `dest`. `beforeRename` may refuse.
   */
  private async placeFile(plan: RestorePlan, dest: string, beforeRename?: () => void): Promise<void> {
    await mkdir(dirname(dest), { recursive: true });
    const tmp = join(dirname(dest), `.${basename(dest)}.restore.tmp`);
    try {
      await copyFile(plan.file, tmp);
      await fsyncFile(tmp);
      const copied = await sha256File(tmp);
      if (copied !== plan.manifest.sha256) {
        throw new BackupCorruptError(plan.manifest.id, `the copy on the data volume has sha256 ${copied}`);
      }
      beforeRename?.();
      // The old WAL must go before the rename: its frames belong to the old file and would be
      // replayed into the new one.
      await removeQuietly(`${dest}-wal`, `${dest}-shm`, `${dest}-journal`);
      await renameDurable(tmp, dest);
    } catch (err) {
      await removeQuietly(tmp);
      throw err;
    }
  }

  /**
   * A listed backup of the current state. A corrupt or unreadable current database is the usual
   * reason to restore, so that does not stop the restore (it is noted); anything else does (a full
   * backup volume must not turn into a restore that cannot be undone).
   */
  private async safetySnapshot(notes: string[]): Promise<string | null> {
    try {
      return (await this.creator.create('pre-restore')).id;
    } catch (err) {
      if (err instanceof SourceCorruptError || err instanceof SourceUnavailableError) {
        notes.push(`no safety snapshot: ${err.message}`);
        this.logger.warn(`restoring without a safety snapshot: ${err.message}`);
        return null;
      }
      throw err;
    }
  }

  private result(
    plan: RestorePlan,
    mode: RestoreMode,
    rowsBefore: number | null,
    rowsAfter: number | null,
    safety: string | null,
    notes: string[],
    t0: number,
  ): RestoreResult {
    const m = plan.manifest;
    return {
      restored: {
        id: m.id,
        created_at: m.created_at,
        rows: m.rows,
        size: m.size,
        sha256: m.sha256,
        from: plan.from,
      },
      mode,
      dry_run: plan.dryRun,
      rows_before: rowsBefore,
      rows_after: rowsAfter,
      duration_ms: Math.round(performance.now() - t0),
      safety_snapshot: safety,
      notes,
      ...(plan.pointInTime ? { point_in_time: plan.pointInTime } : {}),
    };
  }
}
