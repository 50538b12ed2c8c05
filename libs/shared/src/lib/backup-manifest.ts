import { backupFileName, parseBackupId } from './backup-id';

/**
 * The manifest written beside every backup (`<id>.json`). It is written, fsynced and renamed into
 * place before the backup file itself is renamed, so a listed backup always has its checksum and
 * verification result. It never changes afterwards (offsite state is tracked separately).
 */
export interface BackupManifest {
  readonly format: 1;
  readonly id: string;
  readonly file: string;
  /** ISO-8601 UTC, when the snapshot's read transaction started. */
  readonly created_at: string;
  readonly size: number;
  readonly sha256: string;
  readonly page_size: number;
  readonly page_count: number;
  /** Events in the snapshot. */
  readonly rows: number;
  readonly schema_version: number;
  readonly sqlite_version: string;
  /** Why it was taken: the schedule, an operator, or a safety snapshot before a restore. */
  readonly reason: BackupReason;
  readonly duration_ms: number;
  readonly verification: {
    readonly mode: VerifyMode;
    readonly ok: boolean;
    readonly checked_at: string;
  };
  /**
   * Where the snapshot stands in a replication chain (continuous replication): the state after
   * transaction `tx` of chain `id`, from `time_us` on. Absent for a standalone snapshot.
   */
  readonly chain?: ChainPosition;
}

/** A snapshot's place in a replication chain. */
export interface ChainPosition {
  readonly id: string;
  /** The last transaction of the chain that the snapshot holds (0: the chain's start). */
  readonly tx: number;
  /** When its read transaction was opened, in microseconds since the epoch. */
  readonly time_us: number;
}

export type VerifyMode = 'quick' | 'full';
/**
 * Why it was taken: the schedule, an operator, a safety snapshot before a restore, a file adopted by
 * `verify`, or the base of a new replication chain.
 */
export type BackupReason = 'scheduled' | 'manual' | 'pre-restore' | 'imported' | 'replication';

/** What SQLite says about a backup file, as its manifest records it. */
export interface DatabaseFacts {
  readonly pageSize: number;
  readonly pageCount: number;
  /** Events in the database. */
  readonly rows: number;
  /** `PRAGMA user_version`: the schema's migration level. */
  readonly schemaVersion: number;
  readonly sqliteVersion: string;
}

/** What a manifest is made of. */
export interface ManifestInput {
  readonly id: string;
  /** When the snapshot's read transaction started (for an adopted file: the time in its name). */
  readonly createdAt: Date;
  readonly size: number;
  readonly sha256: string;
  readonly facts: DatabaseFacts;
  readonly reason: BackupReason;
  /** How long taking it took; 0 for a file adopted by `verify`. */
  readonly durationMs: number;
  /** The check it passed: a manifest is written only for a backup that passed it. */
  readonly checkedWith: VerifyMode;
  readonly checkedAt: Date;
  /** Its place in a replication chain, when it has one. */
  readonly chain?: ChainPosition | null;
}

/** The one way a manifest is built (a new backup, an adopted file). */
export function manifestFor(input: ManifestInput): BackupManifest {
  const { facts } = input;
  return {
    format: 1,
    id: input.id,
    file: backupFileName(input.id),
    created_at: input.createdAt.toISOString(),
    size: input.size,
    sha256: input.sha256,
    page_size: facts.pageSize,
    page_count: facts.pageCount,
    rows: facts.rows,
    schema_version: facts.schemaVersion,
    sqlite_version: facts.sqliteVersion,
    reason: input.reason,
    duration_ms: input.durationMs,
    verification: { mode: input.checkedWith, ok: true, checked_at: input.checkedAt.toISOString() },
    ...(input.chain
      ? { chain: { id: input.chain.id, tx: input.chain.tx, time_us: input.chain.time_us } }
      : {}),
  };
}

/** The one way a manifest is written, on a volume or in a bucket: indented JSON and a newline. */
export function serializeManifest(manifest: BackupManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Reads a manifest file's text; null (never throws) when it is not JSON or not one of ours. */
export function parseManifestText(text: string): BackupManifest | null {
  try {
    return parseManifest(JSON.parse(text));
  } catch {
    return null;
  }
}

export const MANIFEST_SUFFIX = '.json';

export function manifestFileName(id: string): string {
  return `${id}${MANIFEST_SUFFIX}`;
}

/** Validates a parsed manifest; returns null (never throws) when it is not one of ours. */
export function parseManifest(value: unknown): BackupManifest | null {
  if (!value || typeof value !== 'object') return null;
  const m = value as Record<string, unknown>;
  const id = typeof m['id'] === 'string' ? parseBackupId(m['id']) : null;
  const verification = m['verification'] as Record<string, unknown> | undefined;
  const ok =
    m['format'] === 1 &&
    id !== null &&
    id.id === m['id'] &&
    m['file'] === `${m['id']}.db` &&
    typeof m['created_at'] === 'string' &&
    !Number.isNaN(Date.parse(m['created_at'])) &&
    isNonNegativeInt(m['size']) &&
    typeof m['sha256'] === 'string' &&
    /^[0-9a-f]{64}$/.test(m['sha256']) &&
    isNonNegativeInt(m['page_size']) &&
    isNonNegativeInt(m['page_count']) &&
    isNonNegativeInt(m['rows']) &&
    isNonNegativeInt(m['schema_version']) &&
    typeof m['sqlite_version'] === 'string' &&
    typeof m['reason'] === 'string' &&
    isNonNegativeInt(m['duration_ms']) &&
    !!verification &&
    (verification['mode'] === 'quick' || verification['mode'] === 'full') &&
    typeof verification['ok'] === 'boolean' &&
    typeof verification['checked_at'] === 'string' &&
    (m['chain'] === undefined || isChainPosition(m['chain']));
  return ok ? (value as BackupManifest) : null;
}

function isChainPosition(v: unknown): v is ChainPosition {
  const c = v as Record<string, unknown> | null;
  return (
    !!c &&
    typeof c['id'] === 'string' &&
    /^chain-\d{12,14}$/.test(c['id']) &&
    isNonNegativeInt(c['tx']) &&
    isNonNegativeInt(c['time_us'])
  );
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
