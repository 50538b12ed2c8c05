import { BackupManifest } from '@pra-kit/shared';
import { OffsiteState } from './backup.catalog';
import { BackupStore, StoredBackup } from './backup.store';

/**
 * What the core needs from the outside world, passed in through constructors: a clock, a logger,
 * and the offsite side. The stores' port is in backup.store.ts. docs/architecture.md shows who
 * implements each one.
 */

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface Logger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** The offsite side (S3/MinIO), when configured. Implemented by offsite/offsite.replicator.ts. */
export interface Offsite {
  readonly store: BackupStore;
  /** Starts uploading in the background (serve, and the one-shot `backup`). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * A new verified local backup exists: queue its copy (uploaded in the background, with retries).
   * Resolves once the queue is durable; never rejects.
   */
  backupCreated(manifest: BackupManifest): Promise<void>;
  /** State of a backup's offsite copy when it is not (yet) in the store. */
  stateOf(id: string): OffsiteState | null;
  /** What the store holds: fresh, or as last seen (with the error) when it does not answer. */
  listRemote(): Promise<OffsiteListing>;
  /** For /ready and /metrics. */
  status(): OffsiteStatus;
  /** Resolves true once nothing is left to upload, false after timeoutMs (the one-shot `backup`). */
  drain(timeoutMs: number): Promise<boolean>;
  /** The replication chains' copy to the bucket; null when it does not run here. */
  segments(): SegmentUploadStatus | null;
}

export interface OffsiteListing {
  readonly backups: StoredBackup[];
  /** Why the store could not be listed just now (the backups are then the last ones seen). */
  readonly error: string | null;
}

export interface OffsiteStatus {
  /** e.g. `s3://pra-backups/pra/` */
  readonly location: string;
  readonly endpoint: string;
  readonly encrypted: boolean;
  /** null until the first check; false while the store fails. */
  readonly healthy: boolean | null;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: Date } | null;
  readonly consecutiveFailures: number;
  /** Backups waiting for their offsite copy. */
  readonly pending: number;
  /** created_at of the oldest of them (the upload lag is measured from it). */
  readonly oldestPendingCreatedAt: Date | null;
  readonly uploadsTotal: number;
  /** Failed offsite attempts (a store failure, or a backup refused by the store). */
  readonly failuresTotal: number;
  readonly prunedTotal: number;
  readonly lastUploadAt: Date | null;
  /** Backups in the store at the last listing; null before the first one. */
  readonly remoteBackups: number | null;
}

/** The copy of the replication chains to the bucket (offsite + replication), for /health and /metrics. */
export interface SegmentUploadStatus {
  readonly location: string;
  /** null until the first pass; false while the store fails. */
  readonly healthy: boolean | null;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: Date } | null;
  /** Segments on the volume not yet in the bucket, their bytes, and how old the oldest write in them is. */
  readonly pendingSegments: number;
  readonly backlogBytes: number;
  readonly lagSeconds: number;
  readonly segmentsUploaded: number;
  readonly bytesUploaded: number;
  readonly failuresTotal: number;
  readonly chainsPruned: number;
}
