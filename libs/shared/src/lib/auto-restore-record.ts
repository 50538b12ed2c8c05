import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the automatic restores did, kept in the backup directory (`.auto-restore.json`): the init
 * container that restores is gone when the agent serves, so the count and the last one live on
 * the volume. The agent writes it (after each automatic restore, or refusal); its /metrics and
 * the API's /status read it.
 */
export const AUTO_RESTORE_RECORD_FILE = '.auto-restore.json';

export interface AutoRestoreEvent {
  readonly at: string;
  /** restored; refused (a point that fails its verification, a database in use); failed (anything else). */
  readonly outcome: 'restored' | 'refused' | 'failed';
  /** The restore point: restored, or refused. */
  readonly id: string | null;
  readonly rows: number | null;
  /** The moment the restored state is from: the backup's time, or the instant a chain replayed to. */
  readonly created_at: string | null;
  readonly from: 'local' | 's3' | null;
  readonly duration_ms: number | null;
  /** One sentence: what was restored, or why not and what to do. */
  readonly detail: string;
}

export interface AutoRestoreRecord {
  readonly restores_total: number;
  readonly failures_total: number;
  /** The last attempt, whatever its outcome. */
  readonly last: AutoRestoreEvent | null;
  /** The last one that restored. */
  readonly last_restore: AutoRestoreEvent | null;
  /** The last one that was refused or failed. */
  readonly last_failure: AutoRestoreEvent | null;
}

export const EMPTY_AUTO_RESTORE_RECORD: AutoRestoreRecord = Object.freeze({
  restores_total: 0,
  failures_total: 0,
  last: null,
  last_restore: null,
  last_failure: null,
});

/** The record in `backupDir`; the empty record when there is none (or it cannot be read). */
export function readAutoRestoreRecord(backupDir: string): AutoRestoreRecord {
  try {
    const parsed = JSON.parse(
      readFileSync(join(backupDir, AUTO_RESTORE_RECORD_FILE), 'utf8'),
    ) as AutoRestoreRecord;
    if (typeof parsed.restores_total !== 'number' || typeof parsed.failures_total !== 'number')
      return EMPTY_AUTO_RESTORE_RECORD;
    return parsed;
  } catch {
    return EMPTY_AUTO_RESTORE_RECORD;
  }
}

/** The record after one more attempt. */
export function withAutoRestoreEvent(record: AutoRestoreRecord, event: AutoRestoreEvent): AutoRestoreRecord {
  const restored = event.outcome === 'restored';
  return {
    restores_total: record.restores_total + (restored ? 1 : 0),
    failures_total: record.failures_total + (restored ? 0 : 1),
    last: event,
    last_restore: restored ? event : record.last_restore,
    last_failure: restored ? (record.last_failure ?? null) : event,
  };
}
