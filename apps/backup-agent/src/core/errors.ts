/**
 * The backup domain's errors. Each has a stable `code`; the HTTP layer maps them to a status in one
 * place (the exception filter) and the CLI to an exit code.
 */
export { InvalidBackupIdError } from '@pra-kit/shared';

export abstract class BackupDomainError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class BackupNotFoundError extends BackupDomainError {
  readonly code = 'BACKUP_NOT_FOUND';
  constructor(readonly id: string, where = 'in the catalog') {
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
      running === 'restore' ? 'RESTORE_IN_PROGRESS' : running === 'backup' ? 'BACKUP_IN_PROGRESS' : 'OPERATION_IN_PROGRESS';
  }
}

export { OperationInProgressError as RestoreInProgressError };

/** A backup failed its checksum or integrity check: it is refused, nothing is changed. */
export class BackupCorruptError extends BackupDomainError {
  readonly code = 'BACKUP_CORRUPT';
  constructor(readonly id: string, readonly reason: string) {
    super(`backup ${id} failed verification: ${reason}`);
  }
}

/** The database to back up does not exist or cannot be opened. */
export class SourceUnavailableError extends BackupDomainError {
  readonly code = 'SOURCE_DATABASE_UNAVAILABLE';
}

/** The live database itself failed its integrity check while being backed up. */
export class SourceCorruptError extends BackupDomainError {
  readonly code = 'SOURCE_DATABASE_CORRUPT';
}

/** A restore cannot be done the requested way (e.g. online into a db with another page size). */
export class RestoreNotPossibleError extends BackupDomainError {
  readonly code = 'RESTORE_NOT_POSSIBLE';
}
