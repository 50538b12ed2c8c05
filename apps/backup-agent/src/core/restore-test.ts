import {
  BackupRef,
  LATEST,
  readRestoreTestRecord,
  RESTORE_TEST_RECORD_FILE,
  RestoreTestEvent,
  RestoreTestRecord,
  withRestoreTestEvent,
} from '@pra-kit/shared';
import { basename, dirname, join } from 'node:path';
import { writeFileDurable } from '../infra/durable-fs';
import { inspectDatabase, removeQuietly } from '../infra/sqlite-file';
import { RestoreResult } from './backup.restorer';
import { BackupNotFoundError, PointInTimeUnavailableError } from './errors';
import { Clock, Logger } from './ports';

/**
 * Restore verification on a schedule (BACKUP_VERIFY_RESTORE_SCHEDULE): a backup that was never
 * restored is a hope, not a backup. The newest restore point is restored exactly as a real restore
 * would do it (the agent's own restore: verification, temp file, fsync, sha256, rename) into a
 * scratch file on the backup volume; then `integrity_check` of the restored copy, its row count
 * against what the point says it holds, and the scratch file is removed. The live database is
 * never opened. BackupAgent.testRestore() runs it under the operation lock.
 */

/** The scratch file, in the backup directory. Its `.tmp` suffix: a killed test's leftover is removed at the next start. */
export function restoreTestScratch(backupDir: string): string {
  return join(backupDir, '.restore-test.db.tmp');
}

/**
 * What the test restores: with continuous replication, the state of a minute ago, so the test
 * replays a chain onto its snapshot exactly as a point-in-time restore does; without it, the newest
 * restore point, what `POST /restore/latest` restores.
 */
export function restoreTestRef(
  now: Date,
  pointInTime: boolean,
  lookbackMs = RESTORE_TEST_LOOKBACK_MS,
): BackupRef {
  return pointInTime ? { kind: 'at', at: new Date(now.getTime() - lookbackMs) } : LATEST;
}

/** How far back the point-in-time restore test goes: a minute. */
export const RESTORE_TEST_LOOKBACK_MS = 60_000;

export interface RestoreTestDeps {
  readonly backupDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Replication is on: test a point-in-time restore (restoreTestRef). */
  readonly pointInTime: boolean;
  /** How far back; a minute unless a test asks for less. */
  readonly lookbackMs?: number;
  /** The agent's restore, offline, into `target` (RestoreRequest.into); the caller holds the lock. */
  restoreInto(ref: BackupRef, target: string): Promise<RestoreResult>;
}

export type RestoreTestOutcome =
  | {
      readonly outcome: 'passed' | 'failed';
      readonly event: RestoreTestEvent;
      readonly record: RestoreTestRecord;
    }
  /** Nothing to test yet (no restore point); not recorded. */
  | { readonly outcome: 'nothing-to-test'; readonly detail: string };

export async function runRestoreTest(deps: RestoreTestDeps): Promise<RestoreTestOutcome> {
  const { backupDir, clock, logger } = deps;
  const scratch = restoreTestScratch(backupDir);
  const leftovers = [
    scratch,
    `${scratch}-journal`,
    `${scratch}-wal`,
    `${scratch}-shm`,
    join(dirname(scratch), `.${basename(scratch)}.restore.tmp`),
  ];
  const started = clock.now();
  const t0 = performance.now();
  let ref = restoreTestRef(started, deps.pointInTime, deps.lookbackMs);
  let id: string | null = null;
  let expected: number | null = null;
  let found: number | null = null;
  let ok = false;
  let detail: string;
  let fallback = '';
  await removeQuietly(...leftovers);
  try {
    let result: RestoreResult;
    try {
      result = await deps.restoreInto(ref, scratch);
    } catch (err) {
      // No chain reaches a minute ago (replication started since, or a chain just broke): the
      // newest restore point is what a restore would take.
      if (!(err instanceof PointInTimeUnavailableError) || ref.kind !== 'at') throw err;
      fallback = ` (no chain reaches ${ref.at.toISOString()}: ${err.message}; the newest restore point was tested)`;
      ref = LATEST;
      await removeQuietly(...leftovers);
      result = await deps.restoreInto(ref, scratch);
    }
    id = result.restored.id;
    expected = result.restored.rows;
    const inspection = inspectDatabase(scratch, 'full');
    found = inspection.facts?.rows ?? null;
    if (!inspection.ok) detail = `the restored copy fails integrity_check: ${inspection.detail}`;
    else if (found !== expected)
      detail = `the restored copy holds ${found} rows, the restore point says ${expected}`;
    else {
      ok = true;
      const pit = result.point_in_time;
      const what = pit
        ? `the state of ${pit.target_time} (${pit.snapshot} and ${pit.transactions} transaction(s) of ${pit.chain})`
        : `${id} (${result.restored.from === 's3' ? 'from the offsite copy' : 'from the backup volume'})`;
      detail =
        `restored ${what} into a scratch file: sha256 and integrity_check ok, ` +
        `${found} rows as recorded; scratch removed${fallback}`;
    }
  } catch (err) {
    if (err instanceof BackupNotFoundError) {
      return { outcome: 'nothing-to-test', detail: `no restore point to test yet: ${err.message}` };
    }
    id = (err as { id?: string }).id ?? id;
    detail = `the restore failed: ${(err as Error).message}`;
  } finally {
    await removeQuietly(...leftovers);
  }
  const event: RestoreTestEvent = {
    at: started.toISOString(),
    ok,
    id,
    rows_expected: expected,
    rows_found: found,
    duration_ms: Math.round(performance.now() - t0),
    detail,
  };
  if (ok) logger.log(`restore test passed: ${detail} (${event.duration_ms} ms)`);
  else logger.error(`restore test FAILED${id ? ` for ${id}` : ''}: ${detail}`);
  const record = withRestoreTestEvent(readRestoreTestRecord(backupDir), event);
  try {
    await writeFileDurable(join(backupDir, RESTORE_TEST_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
  } catch (err) {
    logger.warn(`could not record the restore test in ${backupDir}: ${(err as Error).message}`);
  }
  return { outcome: ok ? 'passed' : 'failed', event, record };
}
