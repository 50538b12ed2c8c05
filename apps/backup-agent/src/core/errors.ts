/**
 * The backup domain's errors. Each has a stable `code`; the HTTP layer maps them to a status in one
 * place (the exception filter) and the CLI to an exit code.
 */
export abstract class BackupDomainError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class BackupNotFoundError extends BackupDomainError {
  readonly code = 'BACKUP_NOT_FOUND';
  constructor(
    readonly id: string,
    where = 'in the catalog',
  ) {
    super(`backup ${id} not found ${where}`);
  }
}

/** Another backup or restore holds the operation lock (this process or another one). */
export class OperationInProgressError extends BackupDomainError {
  readonly code: 'BACKUP_IN_PROGRESS' | 'RESTORE_IN_PROGRESS' | 'OPERATION_IN_PROGRESS';
  constructor(readonly running: string | null) {
    super(
      running
        ? `a ${running} is already running; retry when it is done`
        : 'another backup or restore is running (held by another process); retry when it is done',
    );
    this.code =
      running === 'restore'
        ? 'RESTORE_IN_PROGRESS'
        : running === 'backup'
          ? 'BACKUP_IN_PROGRESS'
          : 'OPERATION_IN_PROGRESS';
  }
}

/**
 * A restore to an instant was asked for, and that needs continuous replication of the database,
 * which is not set up: only the backups themselves can be restored.
 */
export class PointInTimeUnavailableError extends BackupDomainError {
  readonly code = 'POINT_IN_TIME_UNAVAILABLE';
}

/** A backup failed its checksum or integrity check: it is refused, nothing is changed. */
export class BackupCorruptError extends BackupDomainError {
  readonly code = 'BACKUP_CORRUPT';
  constructor(
    readonly id: string,
    readonly reason: string,
  ) {
    super(`backup ${id} failed verification: ${reason}`);
  }
}

/** The database to back up does not exist or cannot be opened. */
export class SourceUnavailableError extends BackupDomainError {
  readonly code = 'SOURCE_DATABASE_UNAVAILABLE';
}

/**
 * The source database is empty, no local backup exists, and the offsite bucket holds backups: both
 * volumes were lost and an empty database was started. Backing it up would make an empty backup
 * the newest restore point (offsite too), so the agent refuses until a restore is done.
 */
export class DataLossSuspectedError extends BackupDomainError {
  readonly code = 'DATA_LOSS_SUSPECTED';
}

/** The live database itself failed its integrity check while being backed up. */
export class SourceCorruptError extends BackupDomainError {
  readonly code = 'SOURCE_DATABASE_CORRUPT';
}

/** A restore cannot be done the requested way (e.g. online into a db with another page size). */
export class RestoreNotPossibleError extends BackupDomainError {
  readonly code = 'RESTORE_NOT_POSSIBLE';
}

/**
 * An offline restore would replace the database file while another process has it open (the API,
 * or a serving agent following it): writes it acknowledged could be lost, and the file corrupted.
 * Nothing was changed. Stop the pod (or the API), or restore online.
 */
export class DatabaseInUseError extends BackupDomainError {
  readonly code = 'DATABASE_IN_USE';
}

/**
 * A store already holds a different backup under this id (same id, another sha256). Overwriting it
 * could destroy the only copy of a restore point, so the write is refused and nothing is changed.
 */
export class BackupConflictError extends BackupDomainError {
  readonly code = 'BACKUP_CONFLICT';
  constructor(
    readonly id: string,
    detail: string,
  ) {
    super(`refusing to overwrite backup ${id}: ${detail}`);
  }
}

/**
 * The offsite store (S3/MinIO) cannot be used right now. Local backups are not affected: uploads
 * wait in the queue and are retried. Subclasses say why, each with its own code.
 */
export class OffsiteError extends BackupDomainError {
  readonly code: string = 'OFFSITE_UNAVAILABLE';
}

/** The endpoint does not answer (down, DNS, timeout) or answers with a server error. */
export class OffsiteUnavailableError extends OffsiteError {}

/** The credentials are wrong, missing, or not allowed to use the bucket. */
export class OffsiteAccessDeniedError extends OffsiteError {
  override readonly code = 'OFFSITE_ACCESS_DENIED';
}

/** The bucket does not exist and creating it is not allowed (S3_CREATE_BUCKET=false). */
export class OffsiteBucketMissingError extends OffsiteError {
  override readonly code = 'OFFSITE_BUCKET_MISSING';
}

/**
 * An offsite backup is encrypted with another key than S3_ENCRYPTION_KEY (or no key is set). The
 * backup itself is fine: it is the agent's configuration that must change, so nothing is done.
 */
export class EncryptionKeyError extends BackupDomainError {
  constructor(
    readonly code: 'ENCRYPTION_KEY_MISMATCH' | 'ENCRYPTION_KEY_MISSING',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A replication chain does not hold together (a segment missing, altered, or not following the
 * previous one): the point-in-time restore that needed it is refused, naming the segment, and
 * nothing is changed.
 */
export class ChainCorruptError extends BackupDomainError {
  readonly code = 'CHAIN_CORRUPT';
}

/**
 * The backup volume has no room for what was asked, even after retention removed the oldest restore
 * points it may remove. Nothing partial is left behind; the next attempt succeeds once there is room.
 */
export class InsufficientStorageError extends BackupDomainError {
  readonly code = 'INSUFFICIENT_STORAGE';
  constructor(
    readonly neededBytes: number,
    readonly freeBytes: number,
    readonly path: string,
    what: string,
  ) {
    super(
      `not enough space on the backup volume ${path} for ${what}: about ${mib(neededBytes)} needed, ` +
        `${mib(freeBytes)} free after removing the restore points retention may remove. Free space ` +
        `(a larger volume, fewer points kept with BACKUP_KEEP_*, a shorter BACKUP_PITR_WINDOW); the ` +
        `agent tries again by itself`,
    );
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
