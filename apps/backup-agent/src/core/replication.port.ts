import { ChainPosition } from '@pra-kit/shared';

/**
 * Continuous replication, as the core sees it (docs/architecture.md, "Continuous replication"):
 * chains of a snapshot plus the segments of every transaction committed after it, and the restore
 * of any instant they cover. Implemented by replication/replication.ts; absent (null) when
 * BACKUP_REPLICATION is off. A one-shot command has the read side only (chains, plans, replays):
 * nothing follows the WAL there.
 */
export interface Replication {
  /** Starts following the WAL (serve; no-op for the read side alone). */
  start(): void;
  /** Ships what is committed and lets go of the WAL; the chain goes on at the next start. */
  stop(): Promise<void>;
  /**
   * Opens a snapshot's read transaction (`openReadTx`, always called). While a chain is being
   * written, it is opened under the write lock at an exact point of the chain, which is returned;
   * otherwise null (the snapshot is then a standalone restore point).
   */
  anchorSnapshot(openReadTx: () => void): ChainPosition | null;
  /** Makes every transaction committed so far durable in the live chain (no-op without one). */
  sync(): Promise<void>;
  /** A restore is about to replace the database's content: the live chain ends here, with `reason`. */
  pause(reason: string): Promise<void>;
  /** After the restore: a new chain starts from a fresh snapshot. */
  resume(): void;
  /**
   * Which snapshot and which transactions give the database as it stood at `at` (or at the newest
   * restorable instant). Throws PointInTimeUnavailableError naming the ranges there are.
   */
  plan(at: Date | 'latest', options?: PlanOptions): Promise<PointInTimePlan>;
  /** Rebuilds the planned state into `destFile` from the snapshot's file (copy, then replay). */
  materialize(plan: PointInTimePlan, snapshotFile: string, destFile: string): Promise<void>;
  /** Every chain and what it can restore, newest first. */
  chains(): Promise<ChainView[]>;
  /**
   * Retention: removes the segments no kept snapshot needs (before a chain's oldest snapshot, and
   * older than the point-in-time window), and chains without any snapshot. Returns what it removed.
   */
  prune(keptSnapshots: readonly SnapshotInChain[], now: Date): Promise<ChainPruning>;
  /** For /health/backups and /metrics; null for the read side alone. */
  status(): ReplicationStatus | null;
}

export interface PlanOptions {
  /** Read the chains from the volume (default) or the bucket (both volumes lost). */
  readonly from?: 'local' | 's3';
  /** Stop at a missing segment instead of refusing (the answer says where it stopped). */
  readonly allowGap?: boolean;
}

/** A snapshot with its place in a chain (a verified local backup whose manifest has `chain`). */
export interface SnapshotInChain {
  readonly backupId: string;
  readonly chain: string;
  readonly tx: number;
  readonly timeUs: number;
}

export interface PointInTimePlan {
  readonly chain: string;
  /** The snapshot the replay starts from, and its transaction. */
  readonly snapshot: SnapshotInChain;
  /** The last transaction replayed (the snapshot's own when nothing is replayed). */
  readonly toTx: number;
  /** Commit time of transaction toTx (µs), or the snapshot's time when nothing is replayed. */
  readonly targetTimeUs: number;
  /** Where the chain is read from: the backup volume, or the bucket (both volumes lost). */
  readonly source?: 'local' | 's3';
  /** Set when the restore stops before the instant asked, at a missing segment (asked for: allowGap). */
  readonly stoppedAtGap?: string;
}

/** What a chain can restore (GET /chains, and each restore point's `chain` field). */
export interface ChainView {
  readonly id: string;
  /** `live`: being written now; `ended`: it stopped (end_reason says why). */
  readonly status: 'live' | 'ended';
  readonly started_at: string;
  /** Any instant from `from` to `to` can be restored (null when no snapshot anchors the chain). */
  readonly from: string | null;
  readonly to: string | null;
  readonly end_reason: string | null;
  readonly snapshots: readonly string[];
  readonly segments: number;
  readonly transactions: number;
  readonly bytes: number;
  /** With offsite copies on: the range the bucket can restore of this chain (null: none yet). */
  readonly offsite?: { readonly from: string; readonly to: string } | null;
}

export interface ChainPruning {
  readonly segments: number;
  readonly chains: readonly string[];
  readonly bytes: number;
}

export interface ReplicationStatus {
  readonly state: 'off' | 'waiting' | 'starting' | 'following' | 'paused';
  readonly chain: string | null;
  /** Commit time of the newest transaction on the backup volume (µs), null before the first. */
  readonly durableUntilUs: number | null;
  /** Transactions read from the WAL but not yet in a segment, and the oldest one's commit time. */
  readonly pendingTransactions: number;
  readonly oldestPendingUs: number | null;
  readonly lastPollAt: Date | null;
  readonly breaksTotal: number;
  readonly segmentsWritten: number;
  readonly segmentBytesWritten: number;
  readonly transactionsShipped: number;
  /** The worst commit-to-durable delay of the last segment written, in ms. */
  readonly lastSegmentLagMs: number | null;
  readonly lastError: { readonly message: string; readonly at: Date } | null;
  readonly lastBreak: { readonly reason: string; readonly at: Date } | null;
  /** WAL restarts the replication followed without a break. */
  readonly walRestarts: number;
}

/**
 * How far the backup volume is behind the database, in seconds: the age of the oldest committed
 * transaction not yet in a segment (0 when everything committed is shipped). While the follower has
 * not polled for a while (a blocked process), that silence counts too. null when not following.
 */
export function replicationLagSeconds(status: ReplicationStatus | null, now: Date): number | null {
  if (!status || status.state !== 'following') return null;
  const pending = status.oldestPendingUs === null ? 0 : now.getTime() / 1000 - status.oldestPendingUs / 1e6;
  const silent = status.lastPollAt ? (now.getTime() - status.lastPollAt.getTime()) / 1000 : 0;
  return Math.max(0, pending, silent > 5 ? silent : 0);
}
