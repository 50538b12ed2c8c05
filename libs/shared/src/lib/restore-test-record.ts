import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The scheduled restore tests (`.restore-tests.json` in the backup directory): a backup that was
 * never restored is a hope, not a backup. Manifests never change once written, so which points
 * passed a restore test is kept here. The agent writes it after each test; its /metrics, its
 * GET /backups (`restore_tested_at`) and the API's /status read it.
 */
export const RESTORE_TEST_RECORD_FILE = '.restore-tests.json';

/** Points remembered in `points` (the newest ones; retention removes older backups anyway). */
const MAX_POINTS = 500;

export interface RestoreTestEvent {
  readonly at: string;
  readonly ok: boolean;
  /** The restore point tested; null when the test could not pick one. */
  readonly id: string | null;
  /** Rows the restore point says it holds, and rows found in the restored copy. */
  readonly rows_expected: number | null;
  readonly rows_found: number | null;
  readonly duration_ms: number;
  /** One sentence: what was checked, or what failed. */
  readonly detail: string;
}

export interface RestoreTestRecord {
  readonly tests_total: number;
  readonly failures_total: number;
  readonly last: RestoreTestEvent | null;
  readonly last_success: RestoreTestEvent | null;
  readonly last_failure: RestoreTestEvent | null;
  /** Per restore point: when it last passed, or why it last failed. */
  readonly points: Readonly<
    Record<string, { readonly tested_at: string | null; readonly error: string | null }>
  >;
}

export const EMPTY_RESTORE_TEST_RECORD: RestoreTestRecord = Object.freeze({
  tests_total: 0,
  failures_total: 0,
  last: null,
  last_success: null,
  last_failure: null,
  points: {},
});

/** The record in `backupDir`; the empty record when there is none (or it cannot be read). */
export function readRestoreTestRecord(backupDir: string): RestoreTestRecord {
  try {
    const parsed = JSON.parse(
      readFileSync(join(backupDir, RESTORE_TEST_RECORD_FILE), 'utf8'),
    ) as RestoreTestRecord;
    if (typeof parsed.tests_total !== 'number' || typeof parsed.points !== 'object' || parsed.points === null)
      return EMPTY_RESTORE_TEST_RECORD;
    return parsed;
  } catch {
    return EMPTY_RESTORE_TEST_RECORD;
  }
}

/** The record after one more test. */
export function withRestoreTestEvent(record: RestoreTestRecord, event: RestoreTestEvent): RestoreTestRecord {
  const points = { ...record.points };
  if (event.id) {
    const before = points[event.id];
    delete points[event.id]; // re-inserted last: the newest tests are kept
    points[event.id] = event.ok
      ? { tested_at: event.at, error: null }
      : { tested_at: before?.tested_at ?? null, error: event.detail };
  }
  const ids = Object.keys(points);
  for (const id of ids.slice(0, Math.max(0, ids.length - MAX_POINTS))) delete points[id];
  return {
    tests_total: record.tests_total + 1,
    failures_total: record.failures_total + (event.ok ? 0 : 1),
    last: event,
    last_success: event.ok ? event : record.last_success,
    last_failure: event.ok ? record.last_failure : event,
    points,
  };
}
