import { BackupManifest } from '@pra-kit/shared';

/** A backup as a store knows it. */
export interface StoredBackup {
  readonly id: string;
  readonly size: number;
  readonly createdAt: Date;
  /** null when the store holds a file without a (valid) manifest. */
  readonly manifest: BackupManifest | null;
  /** Why the manifest is missing or was rejected. */
  readonly problem?: string;
}

/**
 * Where backups are kept: the local directory (the `pra-backup` volume) or an S3/MinIO bucket.
 * One contract suite (stores/backup.store.contract.ts) runs unchanged against every implementation.
 *
 * - `put` is idempotent and never exposes a partial backup: the data is complete before the
 *   backup is listed. It checks the bytes against the manifest's sha256 (a file that does not
 *   match is refused with BackupCorruptError, nothing listed) and never replaces another backup
 *   stored under the same id (BackupConflictError).
 * - `fetch` writes the backup's bytes to `destFile` and returns its manifest; it does not judge
 *   them: the caller verifies size, sha256 and integrity before using the file.
 * - `remove` of a missing id is not an error.
 */
export interface BackupStore {
  readonly kind: 'local' | 's3';
  /** Human-readable location, e.g. `/backup` or `s3://pra-backups/pra/`. */
  readonly location: string;
  /**
   * Makes the store usable: creates the directory, or checks the bucket (and creates it when
   * allowed). Throws a clear error naming the place otherwise.
   */
  prepare(): Promise<void>;
  /** Newest first. */
  list(): Promise<StoredBackup[]>;
  stat(id: string): Promise<StoredBackup | null>;
  put(manifest: BackupManifest, sourceFile: string): Promise<void>;
  fetch(id: string, destFile: string): Promise<BackupManifest>;
  remove(id: string): Promise<void>;
  /** Releases connections (an S3 client's sockets), so a one-shot command can exit at once. */
  close?(): void;
}

/**
 * The local backup directory as the core uses it: a BackupStore whose files the core reads in
 * place (to verify and restore them) and whose manifests it writes for adopted backups.
 */
export interface LocalBackupStore extends BackupStore {
  readonly kind: 'local';
  /** `<dir>/<id>.db` */
  pathOf(id: string): string;
  /** `<dir>/<id>.json` */
  manifestPathOf(id: string): string;
}
