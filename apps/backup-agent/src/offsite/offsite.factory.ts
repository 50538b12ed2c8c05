import { join } from 'node:path';
import { Clock, Logger } from '../core/ports';
import { RetentionPolicy } from '../core/retention.policy';
import { LocalDirStore } from '../stores/local-dir.store';
import { snapshotsInChains } from '../core/backup-agent';
import { ChainStore } from '../replication/chain.store';
import { SnapshotInChain } from '../core/replication.port';
import { S3Bucket } from '../stores/s3.bucket';
import { S3ChainStore } from '../stores/s3-chain.store';
import { S3Store, S3StoreOptions } from '../stores/s3.store';
import { OffsiteReplicator } from './offsite.replicator';
import { SegmentUploader } from './segment.uploader';

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
  /** S3_SYNC_INTERVAL: how often the replication chains' new segments go to the bucket. */
  readonly syncIntervalMs: number;
}

/** Where the upload queue is journaled: a subdirectory, out of the way of the backup files. */
export function offsiteJournalFile(backupDir: string): string {
  return join(backupDir, '.offsite', 'queue.json');
}

/** Where the segments' upload is journaled. */
export function segmentJournalFile(backupDir: string): string {
  return join(backupDir, '.offsite', 'segments.json');
}

/**
 * The replication chains' copy to the bucket (segments, in order), beside the backups' one; null
 * when offsite copies are off. It runs in `serve`, where replication writes the chains.
 */
export function buildSegmentUploader(
  settings: OffsiteSettings | null,
  offsite: OffsiteReplicator | null,
  local: ChainStore,
  localSnapshots: () => Promise<SnapshotInChain[]>,
  clock: Clock,
  logger: Logger,
): SegmentUploader | null {
  if (!settings || !offsite) return null;
  return new SegmentUploader(
    local,
    offsite.chains,
    // Offsite retention keeps what the bucket's snapshots need, and what the volume's still do (a
    // snapshot not uploaded yet must find its segments there when it arrives).
    async () => [...snapshotsInChains(await offsite.store.list()), ...(await localSnapshots())],
    {
      intervalMs: settings.syncIntervalMs,
      retryBaseMs: settings.retryBaseMs,
      retryMaxMs: settings.retryMaxMs,
      journalFile: segmentJournalFile((offsite as OffsiteReplicator).localDir),
    },
    clock,
    logger,
  );
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
  const bucket = new S3Bucket(settings.s3);
  const store = new S3Store(settings.s3, logger, bucket);
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
    new S3ChainStore(bucket),
  );
}
