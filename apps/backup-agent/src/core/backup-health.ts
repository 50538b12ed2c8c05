import { BackupManifest } from '@pra-kit/shared';
import { OffsiteStatus, SegmentUploadStatus } from './ports';
import { ChainView, ReplicationStatus, replicationLagSeconds } from './replication.port';

/**
 * GET /health/backups: can the data be restored, and how recent would it be? A report in words a
 * student understands, separate from /ready (which only says whether the agent itself can work).
 */
export interface BackupHealthReport {
  readonly status: 'ok' | 'degraded' | 'failing';
  readonly summary: string;
  readonly rpo: {
    readonly objective_seconds: number;
    /** The newest instant a restore would bring back (ISO); null when nothing is restorable. */
    readonly newest_restorable_at: string | null;
    /** How much would be lost if the data volume were lost now (seconds); null: everything. */
    readonly age_seconds: number | null;
    readonly ok: boolean;
  };
  readonly replication: {
    readonly enabled: boolean;
    readonly state: ReplicationStatus['state'] | 'off';
    readonly chain: string | null;
    readonly lag_seconds: number | null;
    readonly durable_until: string | null;
    readonly last_break: { readonly reason: string; readonly at: string } | null;
    readonly last_error: { readonly message: string; readonly at: string } | null;
  };
  readonly backups: {
    readonly newest: { readonly id: string; readonly created_at: string; readonly rows: number } | null;
    readonly last_success_at: string | null;
    readonly last_error: { readonly message: string } | null;
  };
  readonly storage: {
    readonly path: string;
    readonly free_bytes: number | null;
    readonly total_bytes: number | null;
    readonly min_free_bytes: number | null;
    readonly ok: boolean;
  };
  readonly offsite: {
    readonly status: 'ok' | 'failing' | 'starting';
    readonly pending_uploads: number;
    readonly lag_seconds: number;
    readonly error: string | null;
    /** The replication chains' copy (null: not copying them, e.g. replication off). */
    readonly segments: {
      readonly status: 'ok' | 'failing' | 'starting';
      readonly lag_seconds: number;
      readonly pending_segments: number;
      readonly backlog_bytes: number;
      readonly error: string | null;
    } | null;
  } | null;
  readonly conditions: readonly { readonly name: string; readonly ok: boolean; readonly message: string }[];
}

export interface BackupHealthInput {
  readonly now: Date;
  readonly objectiveSeconds: number;
  readonly replicationEnabled: boolean;
  readonly replication: ReplicationStatus | null;
  readonly syncIntervalMs: number | null;
  readonly chains: readonly ChainView[];
  /** The newest verified snapshot that `latest` could take (not a safety snapshot). */
  readonly newestSnapshot: BackupManifest | null;
  readonly lastBackupSuccessAt: Date | null;
  readonly lastBackupError: string | null;
  readonly storage: {
    readonly path: string;
    readonly freeBytes: number;
    readonly totalBytes: number;
    readonly minFreeBytes: number;
    /** What the next snapshot will take (the live database, with a margin). */
    readonly nextSnapshotBytes: number;
  } | null;
  readonly offsite: OffsiteStatus | null;
  /** The replication chains' copy to the bucket (null: not running here). */
  readonly offsiteSegments?: SegmentUploadStatus | null;
  /** S3_SYNC_INTERVAL (ms), for the words of the offsite condition. */
  readonly offsiteSyncIntervalMs?: number | null;
}

export function backupHealth(input: BackupHealthInput): BackupHealthReport {
  const { now } = input;
  const conditions: { name: string; ok: boolean; message: string }[] = [];
  const r = input.replication;
  const lag = replicationLagSeconds(r, now);
  const following = r?.state === 'following';

  // The newest restorable instant: "now" when a live chain is caught up, else the end of the newest
  // range, else the newest snapshot.
  const live = input.chains.find((c) => c.status === 'live' && c.from !== null);
  const newestRange = input.chains.find((c) => c.from !== null && c.to !== null);
  let newestAt: Date | null = null;
  if (following && live && lag !== null) newestAt = new Date(now.getTime() - lag * 1000);
  else if (newestRange?.to) newestAt = new Date(newestRange.to);
  const snapshotAt = input.newestSnapshot ? new Date(input.newestSnapshot.created_at) : null;
  if (snapshotAt && (!newestAt || snapshotAt > newestAt)) newestAt = snapshotAt;
  const age = newestAt ? Math.max(0, (now.getTime() - newestAt.getTime()) / 1000) : null;
  const rpoOk = age !== null && age <= input.objectiveSeconds;
  conditions.push({
    name: 'rpo',
    ok: rpoOk,
    message:
      age === null
        ? 'nothing can be restored yet: no backup has been taken'
        : rpoOk
          ? `losing the data volume now would lose at most ${round(age)} s of writes (objective ${input.objectiveSeconds} s)`
          : `losing the data volume now would lose the last ${round(age)} s of writes, more than the objective of ${input.objectiveSeconds} s`,
  });

  if (input.replicationEnabled) {
    conditions.push({
      name: 'replication',
      ok: following && (lag ?? 0) <= Math.max(5, ((input.syncIntervalMs ?? 1000) / 1000) * 2),
      message: following
        ? `continuous replication follows the database: every write is on the backup volume within ${round(
            (input.syncIntervalMs ?? 1000) / 1000,
          )} s (now ${round(lag ?? 0)} s behind)`
        : r?.state === 'paused'
          ? 'continuous replication is paused for a restore'
          : `continuous replication is not following the database right now${
              r?.lastError ? ` (${r.lastError.message})` : ''
            }; it starts a new chain from a fresh snapshot as soon as it can`,
    });
  }

  if (input.lastBackupError) {
    conditions.push({
      name: 'backups',
      ok: false,
      message: `the last backup failed: ${input.lastBackupError}`,
    });
  }

  let storage: BackupHealthReport['storage'] = {
    path: '',
    free_bytes: null,
    total_bytes: null,
    min_free_bytes: null,
    ok: true,
  };
  if (input.storage) {
    const s = input.storage;
    const fits = s.freeBytes >= s.nextSnapshotBytes;
    const ok = fits && s.freeBytes >= s.minFreeBytes;
    storage = {
      path: s.path,
      free_bytes: s.freeBytes,
      total_bytes: s.totalBytes,
      min_free_bytes: s.minFreeBytes,
      ok,
    };
    conditions.push({
      name: 'storage',
      ok,
      message: ok
        ? `${mib(s.freeBytes)} free on the backup volume (${s.path}) of ${mib(s.totalBytes)}`
        : !fits
          ? `the backup volume (${s.path}) is nearly full: the next snapshot needs about ${mib(s.nextSnapshotBytes)} and ${mib(s.freeBytes)} are free; retention removes the oldest restore points it may, then backups fail (507) until space is freed`
          : `the backup volume (${s.path}) is nearly full: ${mib(s.freeBytes)} free, ${mib(s.minFreeBytes)} wanted (BACKUP_MIN_FREE); retention removes the oldest restore points to make room`,
    });
  }

  let offsite: BackupHealthReport['offsite'] = null;
  if (input.offsite) {
    const o = input.offsite;
    const lagSeconds = o.oldestPendingCreatedAt
      ? Math.max(0, (now.getTime() - o.oldestPendingCreatedAt.getTime()) / 1000)
      : 0;
    const status = o.healthy === null ? 'starting' : o.healthy ? 'ok' : 'failing';
    const seg = input.offsiteSegments ?? null;
    const segStatus = !seg ? null : seg.healthy === null ? 'starting' : seg.healthy ? 'ok' : 'failing';
    offsite = {
      status,
      pending_uploads: o.pending,
      lag_seconds: round(lagSeconds),
      error: o.lastError?.message ?? null,
      segments:
        seg && segStatus
          ? {
              status: segStatus,
              lag_seconds: round(seg.lagSeconds),
              pending_segments: seg.pendingSegments,
              backlog_bytes: seg.backlogBytes,
              error: seg.lastError?.message ?? null,
            }
          : null,
    };
    conditions.push({
      name: 'offsite',
      ok: status !== 'failing',
      message:
        status === 'failing'
          ? `copies to ${o.location} are failing (${o.lastError?.message}); ${o.pending} waiting, retried automatically`
          : `${o.pending} backup(s) waiting for their copy to ${o.location}`,
    });
    if (seg && segStatus) {
      // Losing both volumes costs what the bucket does not have yet: the segment backlog, plus up
      // to one S3_SYNC_INTERVAL that no pass has looked at yet.
      const interval = (input.offsiteSyncIntervalMs ?? 10_000) / 1000;
      const behind = seg.lagSeconds > Math.max(5 * 60, interval * 3);
      conditions.push({
        name: 'offsite_replication',
        ok: segStatus !== 'failing' && !behind,
        message:
          segStatus === 'failing'
            ? `the replication's copy to ${seg.location} is failing (${seg.lastError?.message}); ${seg.pendingSegments} segment(s) waiting, retried automatically; local replication is not affected`
            : behind
              ? `the replication's copy to ${seg.location} is ${round(seg.lagSeconds)} s behind: losing both volumes now would lose that much`
              : `losing both volumes now would lose at most about ${round(Math.max(seg.lagSeconds, interval))} s of writes (the bucket ${seg.location} gets the replication every ${round(interval)} s)`,
      });
    }
  }

  const failing = !rpoOk && (age === null || age > input.objectiveSeconds * 10);
  const degraded = conditions.some((c) => !c.ok);
  const status = failing ? 'failing' : degraded ? 'degraded' : 'ok';
  const firstProblem = conditions.find((c) => !c.ok);
  return {
    status,
    summary: firstProblem ? firstProblem.message : (conditions[0]?.message ?? 'ok'),
    rpo: {
      objective_seconds: input.objectiveSeconds,
      newest_restorable_at: newestAt?.toISOString() ?? null,
      age_seconds: age === null ? null : round(age),
      ok: rpoOk,
    },
    replication: {
      enabled: input.replicationEnabled,
      state: r?.state ?? 'off',
      chain: r?.chain ?? null,
      lag_seconds: lag === null ? null : round(lag),
      durable_until: r?.durableUntilUs ? new Date(Math.floor(r.durableUntilUs / 1000)).toISOString() : null,
      last_break: r?.lastBreak ? { reason: r.lastBreak.reason, at: r.lastBreak.at.toISOString() } : null,
      last_error: r?.lastError ? { message: r.lastError.message, at: r.lastError.at.toISOString() } : null,
    },
    backups: {
      newest: input.newestSnapshot
        ? {
            id: input.newestSnapshot.id,
            created_at: input.newestSnapshot.created_at,
            rows: input.newestSnapshot.rows,
          }
        : null,
      last_success_at: input.lastBackupSuccessAt?.toISOString() ?? null,
      last_error: input.lastBackupError ? { message: input.lastBackupError } : null,
    },
    storage,
    offsite,
    conditions,
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
