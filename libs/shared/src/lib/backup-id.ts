/**
 * Backup ids and file names.
 *
 * A backup is a file named like the workshop's: `app-<unix-seconds>.db`. Two backups taken in the
 * same second get a sequence suffix (`app-1772098321-2.db`) so neither overwrites the other. The id
 * is the file name without `.db`; both forms are accepted as input.
 *
 * Ids arrive from URLs and command lines, so they are validated here, before anything touches the
 * filesystem: anything that does not match the strict pattern is rejected, never turned into a path.
 */

const ID_PATTERN = /^app-(\d{9,11})(?:-(\d{1,4}))?$/;
const FILE_SUFFIX = '.db';

export interface BackupIdParts {
  /** Unix seconds encoded in the id. */
  readonly seconds: number;
  /** 1 for the first backup of a second, 2.. for the next ones. */
  readonly seq: number;
}

export class InvalidBackupIdError extends Error {
  readonly code = 'INVALID_BACKUP_ID';
  constructor(readonly input: string) {
    super(
      `invalid backup id ${JSON.stringify(truncate(input, 80))}: expected app-<unix-seconds> ` +
        `or app-<unix-seconds>-<n>, optionally followed by .db`,
    );
    this.name = 'InvalidBackupIdError';
  }
}

/** Parses `app-<ts>[-<n>]` or `app-<ts>[-<n>].db`; returns null when the input is not an id. */
export function parseBackupId(input: string): (BackupIdParts & { id: string }) | null {
  if (typeof input !== 'string' || input.length > 40) return null;
  const bare = input.endsWith(FILE_SUFFIX) ? input.slice(0, -FILE_SUFFIX.length) : input;
  const match = ID_PATTERN.exec(bare);
  if (!match) return null;
  const seq = match[2] === undefined ? 1 : Number(match[2]);
  // "-1" is never written (the first backup of a second has no suffix): one spelling per backup.
  if (seq < 2 && match[2] !== undefined) return null;
  return { id: bare, seconds: Number(match[1]), seq };
}

/** Returns the canonical id (without `.db`) or throws InvalidBackupIdError. */
export function normalizeBackupId(input: string): string {
  const parsed = parseBackupId(input);
  if (!parsed) throw new InvalidBackupIdError(String(input));
  return parsed.id;
}

export function isBackupId(input: string): boolean {
  return parseBackupId(input) !== null;
}

export function formatBackupId(seconds: number, seq = 1): string {
  if (!Number.isSafeInteger(seconds) || seconds < 1e8 || seconds >= 1e11) {
    throw new RangeError(`backup timestamp out of range: ${seconds}`);
  }
  if (!Number.isSafeInteger(seq) || seq < 1 || seq > 9999) {
    throw new RangeError(`backup sequence out of range: ${seq}`);
  }
  return seq === 1 ? `app-${seconds}` : `app-${seconds}-${seq}`;
}

/** File name of a backup: `<id>.db`. */
export function backupFileName(id: string): string {
  return `${normalizeBackupId(id)}${FILE_SUFFIX}`;
}

/** Chronological order (oldest first); ties in the same second ordered by sequence. */
export function compareBackupIds(a: string, b: string): number {
  const pa = parseBackupId(a);
  const pb = parseBackupId(b);
  if (!pa || !pb) throw new InvalidBackupIdError(!pa ? a : b);
  return pa.seconds - pb.seconds || pa.seq - pb.seq;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
