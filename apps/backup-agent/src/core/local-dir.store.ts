import { backupFileName, BackupManifest, manifestFileName, normalizeBackupId, readCatalogDir } from '@pra-kit/shared';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncFile, renameDurable, writeFileDurable } from './durable-fs';
import { BackupNotFoundError } from './errors';
import { BackupStore, StoredBackup } from './backup.store';

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
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.pathOf(id)}.tmp`;
    try {
      await copyFile(sourceFile, tmp);
      await fsyncFile(tmp);
      await writeFileDurable(this.manifestPathOf(id), `${JSON.stringify(manifest, null, 2)}\n`);
      await renameDurable(tmp, this.pathOf(id));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async fetch(id: string, destFile: string): Promise<BackupManifest> {
    const found = await this.stat(id);
    if (!found) throw new BackupNotFoundError(normalizeBackupId(id), `in ${this.dir}`);
    if (!found.manifest) throw new BackupNotFoundError(found.id, `with a manifest in ${this.dir} (${found.problem})`);
    await copyFile(this.pathOf(found.id), destFile);
    return found.manifest;
  }

  async remove(id: string): Promise<void> {
    // The .db goes first: a crash in between leaves an orphan manifest, which is never listed.
    await rm(this.pathOf(id), { force: true });
    await rm(this.manifestPathOf(id), { force: true });
  }
}
