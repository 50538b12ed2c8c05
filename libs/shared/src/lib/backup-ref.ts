import { InvalidBackupIdError, normalizeBackupId } from './backup-id';
import { BackupManifest } from './backup-manifest';

/**
 * Which backup an operator means: the one place that reads "latest", an id or an instant, for the
 * agent's HTTP API, its CLI and the drill alike, so that `GET /backups/latest`, `POST
 * /restore/latest` and `restore --latest` cannot drift apart.
 *
 * - `latest`: the newest verified backup that is not a safety snapshot (see isLatestCandidate).
 *   An empty input means latest too, so a Job can always pass `--id "$(BACKUP_ID)"`.
 * - `id`: one backup, `app-<unix-seconds>[-<n>]` (`.db` accepted), validated before any path.
 * - `at`: the state at an instant (point-in-time restore).
 */
export type BackupRef = { kind: 'latest' } | { kind: 'id'; id: string } | { kind: 'at'; at: Date };

export const LATEST: BackupRef = Object.freeze({ kind: 'latest' });

/** undefined, null, '' and 'latest' are latest; an id (with or without .db) is that id. */
export function parseBackupRef(input: string | undefined | null): BackupRef {
  if (input === undefined || input === null || input === '' || input === 'latest') return LATEST;
  if (typeof input !== 'string') throw new InvalidBackupIdError(String(input));
  return { kind: 'id', id: normalizeBackupId(input) };
}

/** An instant that is not one of the accepted forms (HTTP 400, CLI exit 2). */
export class InvalidInstantError extends Error {
  readonly code = 'INVALID_INSTANT';
  constructor(readonly input: string) {
    super(
      `invalid instant ${JSON.stringify(input.length > 80 ? `${input.slice(0, 80)}…` : input)}: expected ` +
        `an ISO-8601 date and time with its zone (2026-11-22T09:30:00Z, 2026-11-22T10:30:00+01:00) ` +
        `or unix seconds (1795339800, 1795339800.25)`,
    );
    this.name = 'InvalidInstantError';
  }
}

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;
const UNIX_SECONDS = /^(\d{1,11})(?:\.(\d{1,9}))?$/;

/**
 * ISO-8601 with a zone (`Z` or `+hh:mm`), or unix seconds (integer or fractional). A date without a
 * zone is refused: the agent runs in UTC and the operator may not, so "09:30" would be a guess.
 */
export function parseInstant(input: string): Date {
  const text = String(input);
  const unix = UNIX_SECONDS.exec(text);
  if (unix) return new Date(Number(unix[1]) * 1000 + fractionMs(unix[2]));
  const m = ISO_INSTANT.exec(text);
  if (!m) throw new InvalidInstantError(text);
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  const fields = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 2026-02-30 over to March 2nd: a date that is not in the calendar is refused.
  const asWritten = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}`;
  const offsetMinutes = m[8] ? 0 : Number(m[10]) * 60 + Number(m[11]);
  if (fields.toISOString().slice(0, 19) !== asWritten || Number(m[11] ?? 0) > 59 || offsetMinutes > 18 * 60) {
    throw new InvalidInstantError(text);
  }
  const offsetMs = (m[9] === '-' ? -1 : 1) * offsetMinutes * 60_000;
  return new Date(fields.getTime() + fractionMs(m[7]) - offsetMs);
}

/** The text form that parses back: `latest`, the id, or the instant in ISO-8601 UTC. */
export function formatBackupRef(ref: BackupRef): string {
  switch (ref.kind) {
    case 'latest':
      return 'latest';
    case 'id':
      return ref.id;
    case 'at':
      return ref.at.toISOString();
  }
}

/**
 * What `latest` may name: a backup verified when it was taken, which the schedule or an operator
 * took. Safety snapshots (`pre-restore`) hold the state a restore replaced: they are restored by
 * id, on purpose, never as "latest".
 */
export function isLatestCandidate(manifest: BackupManifest | null | undefined): boolean {
  return manifest?.verification.ok === true && manifest.reason !== 'pre-restore';
}

/** The agent CLI's options that name `ref` (`restore ...`), for the drill and for scripts. */
export function backupRefArgs(ref: BackupRef): string[] {
  switch (ref.kind) {
    case 'latest':
      return ['--latest'];
    case 'id':
      return ['--id', ref.id];
    case 'at':
      return ['--at', ref.at.toISOString()];
  }
}

/** The agent's HTTP route that restores `ref`: `/restore/latest`, `/restore/<id>`, `/restore?at=...`. */
export function restorePathOf(ref: BackupRef): string {
  return ref.kind === 'at'
    ? `/restore?at=${encodeURIComponent(ref.at.toISOString())}`
    : `/restore/${formatBackupRef(ref)}`;
}

function fractionMs(digits: string | undefined): number {
  return digits ? Math.floor(Number(`0.${digits}`) * 1000) : 0;
}
