import { InvalidBackupIdError, InvalidInstantError } from '@pra-kit/shared';
import type { DomainErrorMapper } from '@pra-kit/shared/nest';
import {
  BackupConflictError,
  BackupCorruptError,
  BackupNotFoundError,
  ChainCorruptError,
  InsufficientStorageError,
  DatabaseInUseError,
  DataLossSuspectedError,
  EncryptionKeyError,
  OffsiteError,
  OperationInProgressError,
  PointInTimeUnavailableError,
  RestoreNotPossibleError,
  SourceCorruptError,
  SourceUnavailableError,
} from '../core/errors';

/** The one place where the backup domain's errors become HTTP statuses. */
export const mapAgentError: DomainErrorMapper = (err) => {
  if (err instanceof InvalidBackupIdError) return { status: 400, code: err.code };
  if (err instanceof InvalidInstantError) return { status: 400, code: err.code };
  if (err instanceof BackupNotFoundError) return { status: 404, code: err.code };
  if (err instanceof OperationInProgressError) return { status: 409, code: err.code };
  if (err instanceof RestoreNotPossibleError) return { status: 409, code: err.code };
  if (err instanceof DatabaseInUseError) return { status: 409, code: err.code };
  if (err instanceof BackupCorruptError) return { status: 422, code: err.code };
  // A segment of a replication chain missing or altered: named, and nothing was changed.
  if (err instanceof ChainCorruptError) return { status: 422, code: err.code };
  // A well-formed request the agent cannot do as it is set up: 422, and the message says why.
  if (err instanceof PointInTimeUnavailableError) return { status: 422, code: err.code };
  if (err instanceof SourceUnavailableError) return { status: 503, code: err.code };
  if (err instanceof SourceCorruptError) return { status: 503, code: err.code };
  if (err instanceof DataLossSuspectedError) return { status: 409, code: err.code };
  if (err instanceof BackupConflictError) return { status: 409, code: err.code };
  // The backup volume has no room even after retention: 507, with the bytes needed and free.
  if (err instanceof InsufficientStorageError) return { status: 507, code: err.code };
  // The offsite store cannot be used right now (down, credentials, bucket): the request was fine.
  if (err instanceof OffsiteError) return { status: 503, code: err.code };
  // Wrong or missing S3_ENCRYPTION_KEY: 503, not 422. The backup is not corrupt (422 would send the
  // operator to another restore point, which would fail the same way); the agent's configuration
  // is what must change (the Secret), and the same request succeeds once it has. Nothing is changed.
  if (err instanceof EncryptionKeyError) return { status: 503, code: err.code };
  return undefined;
};
