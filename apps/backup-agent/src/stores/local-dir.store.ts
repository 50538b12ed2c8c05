import {
  backupFileName,
  BackupManifest,
  manifestFileName,
  normalizeBackupId,
  readCatalogDir,
  serializeManifest,
} from '@pra-kit/shared';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  fsyncDir,
  fsyncFile,
  removeGently,
  renameDurable,
  sha256File,
  writeFileDurable,
} from '../infra/durable-fs';
import { BackupConflictError, BackupCorruptError, BackupNotFoundError } from '../core/errors';
import { BackupStore, StoredBackup } from '../core/backup.store';

/**
 * Backups in a local directory: `<id>.db` beside its manifest `<id>.json`. The manifest is made
 * durable first and the `.db` is renamed into place last, so a listed backup is always complete.
 * A `.db` without a manifest (copied by hand, or by the workshop's CronJob) is listed as such.
 */
export class LocalDirStore implements BackupStore {
  readonly kind = 'local' as const;

  constructor(readonly dir: string) {}

  get location(): string {
    return this.dir;
  }

  pathOf(id: string): string {
    return join(this.dir, backupFileName(id));
  }

  manifestPathOf(id: string): string {
    return join(this.dir, manifestFileName(normalizeBackupId(id)));
  }

  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  async list(): Promise<StoredBackup[]> {
    return readCatalogDir(this.dir).map((e) => ({
      id: e.id,
      size: e.size,
      createdAt: e.createdAt,
      manifest: e.manifest,
      ...(e.manifestProblem ? { problem: e.manifestProblem } : {}),
    }));
  }

  async stat(id: string): Promise<StoredBackup | null> {
    const wanted = normalizeBackupId(id);
    return (await this.list()).find((b) => b.id === wanted) ?? null;
  }

  async put(manifest: BackupManifest, sourceFile: string): Promise<void> {
    const id = normalizeBackupId(manifest.id);
    const existing = await this.stat(id);
    if (existing) {
      const sha256 = existing.manifest?.sha256 ?? (await sha256File(this.pathOf(id)));
      if (sha256 !== manifest.sha256) {
        throw new BackupConflictError(
          id,
          `${this.pathOf(id)} holds another backup (sha256 ${sha256}); it was left as it is`,
        );
      }
      if (existing.manifest) return; // already here, complete
    }
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.pathOf(id)}.tmp`;
    try {
      await copyFile(sourceFile, tmp);
      await fsyncFile(tmp);
      const copied = await sha256File(tmp);
      if (copied !== manifest.sha256) {
        throw new BackupCorruptError(
          id,
          `the file to store has sha256 ${copied}, its manifest says ${manifest.sha256}`,
        );
      }
      await writeFileDurable(this.manifestPathOf(id), serializeManifest(manifest));
      await renameDurable(tmp, this.pathOf(id));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async fetch(id: string, destFile: string): Promise<BackupManifest> {
    const found = await this.stat(id);
    if (!found) throw new BackupNotFoundError(normalizeBackupId(id), `in ${this.dir}`);
    if (!found.manifest)
      throw new BackupNotFoundError(found.id, `with a manifest in ${this.dir} (${found.problem})`);
    await copyFile(this.pathOf(found.id), destFile);
    return found.manifest;
  }

  /**
   * The .db leaves the listing first, in one rename to a hidden `.tmp` name (a crash then leaves an
   * orphan manifest, which is never listed, and a leftover that the next backup removes); then the
   * manifest goes, and the space is reclaimed a step at a time so the API's commits do not queue
   * behind the freeing of the whole file.
   */
  async remove(id: string): Promise<void> {
    const doomed = join(this.dir, `.${backupFileName(normalizeBackupId(id))}.remove.tmp`);
    try {
      await rename(this.pathOf(id), doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await rm(this.manifestPathOf(id), { force: true });
    // Durable before any byte goes: the backup must never come back, shortened, under its name.
    await fsyncDir(this.dir);
    await removeGently(doomed);
  }
}
