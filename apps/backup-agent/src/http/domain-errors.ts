import { InvalidBackupIdError } from '@pra-kit/shared';
import type { DomainErrorMapper } from '@pra-kit/shared/nest';
import {
  BackupCorruptError,
  BackupNotFoundError,
  OperationInProgressError,
  RestoreNotPossibleError,
  SourceCorruptError,
  SourceUnavailableError,
} from '../core/errors';

/** The one place where the backup domain's errors become HTTP statuses. */
export const mapAgentError: DomainErrorMapper = (err) => {
  if (err instanceof InvalidBackupIdError) return { status: 400, code: err.code };
  if (err instanceof BackupNotFoundError) return { status: 404, code: err.code };
  if (err instanceof OperationInProgressError) return { status: 409, code: err.code };
  if (err instanceof RestoreNotPossibleError) return { status: 409, code: err.code };
  if (err instanceof BackupCorruptError) return { status: 422, code: err.code };
  if (err instanceof SourceUnavailableError) return { status: 503, code: err.code };
  if (err instanceof SourceCorruptError) return { status: 503, code: err.code };
  return undefined;
};
