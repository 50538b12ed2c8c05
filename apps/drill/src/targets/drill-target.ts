import { BackupRef } from '@pra-kit/shared';

/**
 * Where a drill runs and how each fault and recovery step is done there. The scenario logic is the
 * same for every target; only these operations differ (a process, a Podman pod, a Kubernetes pod).
 */
export interface RestoreOutcome {
  readonly id: string;
  readonly createdAt: string;
  readonly rows: number;
  readonly from: 'local' | 's3';
}

export interface DrillTarget {
  readonly name: 'local' | 'podman' | 'k8s';
  /** One line for the report, e.g. "make dev processes under ./var". */
  readonly description: string;
  /** Bearer token for the agent's destructive routes, when one is configured. */
  readonly token: string | undefined;
  /** Whether offsite (S3/MinIO) copies are configured, for the backup-loss scenario. */
  readonly offsite: boolean;

  /** Base URLs; they may change after a restart (a port-forward to a new pod). */
  apiUrl(): string;
  agentUrl(): string;

  /** Finds or starts the system; throws with a clear message when it cannot. */
  setup(): Promise<void>;
  teardown(): Promise<void>;

  /** PCA: kill the API's process or pod the hard way; the platform must bring it back. */
  killApi(): Promise<string>;
  /** PRA: stop the API so nothing writes (scale to 0), and start it again (scale to 1). */
  stopApi(): Promise<void>;
  startApi(): Promise<void>;
  /** Destroy the data volume (pra-data) and give back an empty one. */
  destroyDataVolume(): Promise<string>;
  /** Destroy the backup volume (pra-backup) and give back an empty one. */
  destroyBackupVolume(): Promise<string>;
  /** The offline restore of `ref`, the agent's `restore --offline` (what the restore Job does). */
  restoreOffline(ref: BackupRef, from: 'local' | 's3'): Promise<RestoreOutcome>;
  /** Damage pages of the live database file, the way a failing disk would. */
  corruptDatabase(): Promise<string>;
  /**
   * kill -9 of every process of the pod (API and agent); the platform starts them again, as when a
   * pod is rescheduled. Targets that can run data-loss --auto have it.
   */
  restartPod?(): Promise<string>;
}
