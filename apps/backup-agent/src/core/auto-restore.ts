import {
  AUTO_RESTORE_RECORD_FILE,
  AutoRestoreEvent,
  LATEST,
  readAutoRestoreRecord,
  withAutoRestoreEvent,
} from '@pra-kit/shared';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../infra/durable-fs';
import type { BackupAgent } from './backup-agent';
import { RestoreResult } from './backup.restorer';
import {
  BackupCorruptError,
  BackupNotFoundError,
  DatabaseInUseError,
  EncryptionKeyError,
  OperationInProgressError,
} from './errors';
import { Clock, Logger } from './ports';

/** BACKUP_AUTO_RESTORE: off (the default), or latest. */
export type AutoRestoreMode = 'off' | 'latest';

export type AutoRestoreOutcome =
  /** The database is there: nothing to do (nothing is ever restored over it). */
  | { readonly outcome: 'not-needed'; readonly detail: string }
  /** No verified restore point anywhere: a fresh service; the API starts empty. */
  | { readonly outcome: 'nothing-to-restore'; readonly detail: string }
  | { readonly outcome: 'restored'; readonly detail: string; readonly result: RestoreResult }
  /** refused: a point that fails verification, or a database in use; failed: anything else. */
  | { readonly outcome: 'refused' | 'failed'; readonly detail: string; readonly error: unknown };

export interface AutoRestoreOptions {
  readonly logger: Logger;
  readonly clock: Clock;
  /** How long to wait for another backup or restore (a CronJob's backup) to finish; default 60 s. */
  readonly busyWaitMs?: number;
}

/**
 * Recovery without a human: when the live database is missing and a verified restore point
 * exists (local first, then offsite), restore the newest, offline, through the agent's one
 * restore (verification, temp file, fsync, sha256, rename). Run when the agent starts, before the
 * API opens the database: the init container of the auto-restore overlay (`restore --auto`), or
 * `serve` with BACKUP_AUTO_RESTORE=latest.
 *
 * It never restores over a database that is there, and refuses what it cannot verify: a point
 * whose checksum or integrity check fails is refused, not skipped for an older one (which point
 * to fall back to is a human's decision, and an empty API is not started meanwhile: backups
 * exist, so the API waits for a restore). Every restore, refusal and failure is logged and
 * recorded in BACKUP_DIR/.auto-restore.json (the metrics and the API's /status read it).
 */
export async function autoRestore(
  agent: BackupAgent,
  options: AutoRestoreOptions,
): Promise<AutoRestoreOutcome> {
  const { logger, clock } = options;
  const { dbPath, backupDir } = agent.config;
  if (existsSync(dbPath)) return { outcome: 'not-needed', detail: `${dbPath} is there: nothing to restore` };

  const started = clock.now();
  const t0 = performance.now();
  logger.warn(`automatic restore: ${dbPath} is missing; restoring the newest verified restore point`);
  let result: RestoreResult;
  try {
    result = await restoreWhenFree(agent, options.busyWaitMs ?? 60_000);
  } catch (err) {
    if (err instanceof BackupNotFoundError) {
      const detail =
        `no verified restore point in ${backupDir}${agent.offsite ? ` nor in ${agent.offsite.store.location}` : ''}: ` +
        `nothing to restore, the API starts on an empty database`;
      logger.log(`automatic restore: ${detail}`);
      return { outcome: 'nothing-to-restore', detail };
    }
    const refused =
      err instanceof BackupCorruptError ||
      err instanceof DatabaseInUseError ||
      err instanceof EncryptionKeyError;
    const detail = `${refused ? 'refused' : 'failed'}: ${(err as Error).message}. ${advice(err)}`;
    logger.error(`automatic restore ${detail}`);
    await record(
      agent,
      {
        at: started.toISOString(),
        outcome: refused ? 'refused' : 'failed',
        id: err instanceof BackupCorruptError ? err.id : null,
        rows: null,
        created_at: null,
        from: null,
        duration_ms: Math.round(performance.now() - t0),
        detail,
      },
      logger,
    );
    return { outcome: refused ? 'refused' : 'failed', detail, error: err };
  }
  const r = result.restored;
  const detail = `restored ${r.id} (${r.rows} rows, taken ${r.created_at}) from ${r.from === 's3' ? 'the offsite copy' : backupDir} into ${dbPath}`;
  logger.warn(`automatic restore: ${detail}, in ${result.duration_ms} ms`);
  await record(
    agent,
    {
      at: started.toISOString(),
      outcome: 'restored',
      id: r.id,
      rows: r.rows,
      created_at: r.created_at,
      from: r.from,
      duration_ms: Math.round(performance.now() - t0),
      detail,
    },
    logger,
  );
  return { outcome: 'restored', detail, result };
}

/** The restore, retried while another backup or restore holds the lock (up to `waitMs`). */
async function restoreWhenFree(agent: BackupAgent, waitMs: number): Promise<RestoreResult> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await agent.restore({ ref: LATEST, mode: 'offline' });
    } catch (err) {
      if (!(err instanceof OperationInProgressError) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function advice(err: unknown): string {
  if (err instanceof BackupCorruptError)
    return `Nothing was restored and the API waits (backups exist). Choose another point: "list", then "restore --id <id> --offline"`;
  if (err instanceof DatabaseInUseError)
    return 'A database appeared meanwhile and is in use: it was left alone';
  if (err instanceof EncryptionKeyError) return 'Set the S3_ENCRYPTION_KEY the backups were made with';
  return 'Nothing was restored; restore by hand once it is fixed';
}

async function record(agent: BackupAgent, event: AutoRestoreEvent, logger: Logger): Promise<void> {
  const dir = agent.config.backupDir;
  try {
    await mkdir(dir, { recursive: true });
    const next = withAutoRestoreEvent(readAutoRestoreRecord(dir), event);
    agent.stats.autoRestore = next;
    await writeFileDurable(join(dir, AUTO_RESTORE_RECORD_FILE), `${JSON.stringify(next, null, 2)}\n`);
  } catch (err) {
    logger.warn(`could not record the automatic restore in ${dir}: ${(err as Error).message}`);
  }
}
