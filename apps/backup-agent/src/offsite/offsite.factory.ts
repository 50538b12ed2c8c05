import { join } from 'node:path';
import { Clock, Logger } from '../core/ports';
import { RetentionPolicy } from '../core/retention.policy';
import { LocalDirStore } from '../stores/local-dir.store';
import { S3Store, S3StoreOptions } from '../stores/s3.store';
import { OffsiteReplicator } from './offsite.replicator';

/** Offsite copies as configured (AgentConfig.offsite; null when S3_BUCKET is unset). */
export interface OffsiteSettings {
  readonly s3: S3StoreOptions;
  /** BACKUP_OFFSITE_KEEP_* */
  readonly retention: RetentionPolicy;
  /** BACKUP_OFFSITE_RETRY_BASE_MS, BACKUP_OFFSITE_RETRY_MAX_MS */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** BACKUP_OFFSITE_WAIT_SECONDS: how long the one-shot `backup` waits for its upload. */
  readonly waitSeconds: number;
}

/** Where the upload queue is journaled: a subdirectory, out of the way of the backup files. */
export function offsiteJournalFile(backupDir: string): string {
  return join(backupDir, '.offsite', 'queue.json');
}

/**
 * Builds the offsite side of the agent (S3 store + replicator) beside the local store, or null when
 * it is off. agent.factory.ts calls it; nothing else builds one.
 */
export function buildOffsite(
  settings: OffsiteSettings | null,
  local: LocalDirStore,
  clock: Clock,
  logger: Logger,
): OffsiteReplicator | null {
  if (!settings) return null;
  const store = new S3Store(settings.s3, logger);
  return new OffsiteReplicator(
    store,
    local,
    {
      retention: settings.retention,
      retryBaseMs: settings.retryBaseMs,
      retryMaxMs: settings.retryMaxMs,
      journalFile: offsiteJournalFile(local.dir),
      endpoint: store.endpointName,
      encrypted: store.encrypted,
    },
    clock,
    logger,
  );
}
