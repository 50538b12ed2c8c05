import {
  BackupManifest,
  BackupReason,
  ChainPosition,
  backupFileName,
  formatBackupId,
  manifestFileName,
  manifestFor,
  parseBackupId,
  serializeManifest,
  VerifyMode,
} from '@pra-kit/shared';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncFile, removeGently, renameDurable, sha256File, writeFileDurable } from '../infra/durable-fs';
import { InsufficientStorageError, SourceCorruptError, SourceUnavailableError } from './errors';
import { Clock, Logger } from './ports';
import {
  databaseBytes,
  describeSqliteError,
  inspectDatabase,
  isCorruptionError,
  isNoSpaceError,
  makeStandalone,
  removeQuietly,
  snapshotDatabase,
} from '../infra/sqlite-file';

/** Opens a snapshot's read transaction (always, with `openReadTx`); returns its place in a chain. */
export type SnapshotAnchor = (openReadTx: () => void) => ChainPosition | null;

export interface BackupCreatorOptions {
  readonly dbPath: string;
  readonly backupDir: string;
  readonly verify: VerifyMode;
}

/**
 * Takes one backup of the live database into the backup directory, following the rule "nothing
 * partial is ever visible":
 *
 *   snapshot (online backup API) -> <id>.db.tmp -> standalone journal -> integrity check -> fsync
 *   -> sha256 -> manifest <id>.json (durable) -> rename <id>.db.tmp to <id>.db -> fsync the dir.
 *
 * Only the last rename makes the backup exist; a crash anywhere before leaves a temp file (or an
 * orphan manifest) that `cleanLeftovers` removes and that is never listed.
 */
export class BackupCreator {
  constructor(
    private readonly options: BackupCreatorOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * Creates a backup. The caller holds the operation lock. `anchor` opens the snapshot's read
   * transaction (with the function it is given) and says where it stands in a replication chain,
   * if anywhere; without it, the snapshot opens its read transaction itself.
   */
  async create(reason: BackupReason, anchor?: SnapshotAnchor): Promise<BackupManifest> {
    const { dbPath, backupDir, verify } = this.options;
    if (!existsSync(dbPath)) {
      throw new SourceUnavailableError(`source database ${dbPath} does not exist (nothing to back up)`);
    }
    await mkdir(backupDir, { recursive: true });
    const started = this.clock.now();
    const id = this.nextId(started);
    const tmp = join(backupDir, `${backupFileName(id)}.tmp`);
    const manifestPath = join(backupDir, manifestFileName(id));
    const t0 = performance.now();
    try {
      let chain: ChainPosition | null = null;
      try {
        await snapshotDatabase(dbPath, tmp, {
          openAt: anchor ? (openReadTx) => (chain = anchor(openReadTx)) : undefined,
        });
      } catch (err) {
        if (isCorruptionError(err)) {
          throw new SourceCorruptError(`the live database ${dbPath} is corrupt: ${describeSqliteError(err)}`);
        }
        if (!existsSync(dbPath)) throw new SourceUnavailableError(`source database ${dbPath} disappeared`);
        throw err;
      }
      makeStandalone(tmp);
      const inspection = inspectDatabase(tmp, verify);
      if (!inspection.ok || !inspection.facts) {
        throw new SourceCorruptError(
          `the snapshot of ${dbPath} failed ${verify === 'full' ? 'integrity_check' : 'quick_check'}: ${inspection.detail}`,
        );
      }
      await fsyncFile(tmp);
      const [sha256, { size }] = await Promise.all([sha256File(tmp), stat(tmp)]);
      const manifest = manifestFor({
        id,
        // In a chain, the snapshot is the state at the instant its read transaction opened (a few ms
        // after `started`): that instant is when it was taken, and where its restorable range begins.
        createdAt: chain ? new Date(Math.floor((chain as ChainPosition).time_us / 1000)) : started,
        size,
        sha256,
        facts: inspection.facts,
        reason,
        durationMs: Math.round(performance.now() - t0),
        checkedWith: verify,
        checkedAt: this.clock.now(),
        chain,
      });
      await writeFileDurable(manifestPath, serializeManifest(manifest));
      await renameDurable(tmp, join(backupDir, backupFileName(id)));
      this.logger.log(
        `backup ${id} (${reason}): ${manifest.rows} rows, ${size} bytes, ${verify}_check ok, ${manifest.duration_ms} ms` +
          (manifest.chain ? `, in ${manifest.chain.id} after transaction ${manifest.chain.tx}` : ''),
      );
      return manifest;
    } catch (err) {
      await removeQuietly(tmp, manifestPath);
      if (isNoSpaceError(err)) {
        const free = await statfs(backupDir).then(
          (s) => s.bavail * s.bsize,
          () => 0,
        );
        throw new InsufficientStorageError(
          databaseBytes(dbPath) ?? 0,
          free,
          backupDir,
          `a snapshot of ${dbPath} (${reason})`,
        );
      }
      throw err;
    }
  }

  /**
   * Removes what an interrupted backup or restore left: temp files and manifests whose backup was
   * never renamed into place. The caller holds the operation lock, so nothing is in progress.
   */
  async cleanLeftovers(dataDir?: string): Promise<string[]> {
    const removed: string[] = [];
    const names = await readdir(this.options.backupDir).catch(() => [] as string[]);
    const present = new Set(names);
    for (const name of names) {
      const orphanManifest = /^app-[\d-]+\.json$/.test(name) && !present.has(name.replace(/\.json$/, '.db'));
      if (name.endsWith('.tmp') || orphanManifest) {
        await removeGently(join(this.options.backupDir, name));
        removed.push(name);
      }
    }
    if (dataDir) {
      for (const name of await readdir(dataDir).catch(() => [] as string[])) {
        if (name.endsWith('.restore.tmp')) {
          await removeGently(join(dataDir, name));
          removed.push(name);
        }
      }
    }
    if (removed.length > 0)
      this.logger.warn(`removed leftovers of an interrupted run: ${removed.join(', ')}`);
    return removed;
  }

  /**
   * `app-<seconds>`, or `app-<seconds>-<n>` after the backups already named in that second: never an
   * existing name, and never one that sorts before a backup of the same second (retention may have
   * freed a lower name: reusing it would make a new backup look older than one it follows).
   */
  private nextId(at: Date): string {
    const seconds = Math.floor(at.getTime() / 1000);
    let seq = 1;
    for (const name of readdirSync(this.options.backupDir)) {
      const parsed = parseBackupId(name.replace(/\.(db|json|db\.tmp)$/, ''));
      if (parsed && parsed.seconds === seconds) seq = Math.max(seq, parsed.seq + 1);
    }
    for (; ; seq++) {
      const id = formatBackupId(seconds, seq);
      const taken = [backupFileName(id), `${backupFileName(id)}.tmp`, manifestFileName(id)].some((n) =>
        existsSync(join(this.options.backupDir, n)),
      );
      if (!taken) return id;
    }
  }
}
