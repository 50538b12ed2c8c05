import { ConfigError, InvalidBackupIdError, InvalidInstantError } from '@pra-kit/shared';
import {
  BackupCorruptError,
  BackupNotFoundError,
  ChainCorruptError,
  InsufficientStorageError,
  DatabaseInUseError,
  EncryptionKeyError,
  OperationInProgressError,
  PointInTimeUnavailableError,
} from '../core/errors';

/** Exit codes of the one-shot commands (stable: scripts and Jobs rely on them). */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  corrupt: 4,
  busy: 5,
  offsiteFailed: 6,
  /** The backup volume has no room (HTTP 507); 6 was already "offsite copy not done". */
  noSpace: 7,
} as const;

/** The one place where the domain's errors become exit codes (http/domain-errors.ts: statuses). */
export function exitCodeFor(err: unknown): number {
  if (err instanceof BackupNotFoundError || err instanceof PointInTimeUnavailableError) return EXIT.notFound;
  if (err instanceof BackupCorruptError || err instanceof ChainCorruptError) return EXIT.corrupt;
  if (err instanceof OperationInProgressError) return EXIT.busy;
  if (err instanceof InsufficientStorageError) return EXIT.noSpace;
  if (err instanceof DatabaseInUseError) return EXIT.busy; // the database is busy: another process has it
  if (err instanceof InvalidBackupIdError || err instanceof InvalidInstantError) return EXIT.usage;
  if (err instanceof ConfigError) return EXIT.usage;
  if (err instanceof EncryptionKeyError) return EXIT.usage; // S3_ENCRYPTION_KEY is configuration
  return EXIT.failed;
}
