/** The database cannot be used right now; requests get 503 with `code` and this message. */
export class DatabaseUnavailableError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}

const SQLITE_CODES: Record<string, string> = {
  SQLITE_BUSY: 'DATABASE_BUSY',
  SQLITE_LOCKED: 'DATABASE_BUSY',
  SQLITE_CORRUPT: 'DATABASE_CORRUPT',
  SQLITE_NOTADB: 'DATABASE_CORRUPT',
  SQLITE_FULL: 'DATABASE_FULL',
  SQLITE_READONLY: 'DATABASE_READONLY',
  SQLITE_CANTOPEN: 'DATABASE_UNAVAILABLE',
  SQLITE_IOERR: 'DATABASE_IO_ERROR',
};

/**
 * Turns a SQLite error into a DatabaseUnavailableError (503) so clients see what failed
 * (`DATABASE_CORRUPT`, `DATABASE_FULL`...) instead of a bare 500. Other errors pass through.
 */
export function asDatabaseError(error: unknown): unknown {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  const base = code.replace(/^(SQLITE_[A-Z]+)(_.*)?$/, '$1');
  const mapped = SQLITE_CODES[base] ?? 'DATABASE_ERROR';
  return new DatabaseUnavailableError(mapped, `database error ${code}: ${(error as Error).message}`);
}
