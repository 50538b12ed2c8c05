import type { Ack, Refusal } from '../event-writer';
import type { RestoreOutcome } from '../targets/drill-target';
import type { TimelineEntry } from '../timeline';

export interface Objectives {
  /** Seconds from the fault to the first read of restored data. */
  readonly rtoSeconds?: number;
  /** Seconds between the fault and the newest acknowledged write that survived. */
  readonly rpoSeconds?: number;
  readonly maxLost?: number;
}

/** Everything the runner observed; the report is computed from it (pure, unit-tested). */
export interface Observations {
  readonly runId: string;
  readonly scenario: string;
  readonly kind: 'PCA' | 'PRA';
  readonly summary: string;
  readonly target: string;
  readonly targetDescription: string;
  readonly ratePerSecond: number;
  readonly startedAt: number;
  readonly faultAt: number;
  readonly faultDetail: string;
  /** When the recovery procedure returned (= faultAt when the platform recovers by itself). */
  readonly recoveredAt: number;
  readonly firstReadAt: number | null;
  /** Whether clients saw the service fail at all after the fault. */
  readonly outageObserved: boolean;
  readonly attempts: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly acks: readonly Ack[];
  /** The writes that were not acknowledged, with their times. */
  readonly refusals: readonly Refusal[];
  /** The drill's messages present after recovery. */
  readonly stored: ReadonlySet<string>;
  /** The newest backup when the fault hit, and the one restored. */
  readonly backupAtFault: { id: string; createdAt: string; rows: number } | null;
  readonly restored: RestoreOutcome | null;
  readonly timeline: readonly TimelineEntry[];
  readonly objectives: Objectives;
  readonly extraChecks?: readonly Check[];
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface DrillReport {
  readonly run_id: string;
  readonly scenario: string;
  readonly kind: 'PCA' | 'PRA';
  readonly summary: string;
  readonly target: string;
  readonly target_description: string;
  readonly started_at: string;
  readonly fault_at: string;
  readonly fault: string;
  readonly rto_read_ms: number | null;
  readonly rto_write_ms: number | null;
  readonly rpo_ms: number | null;
  readonly writes: {
    readonly rate_per_second: number;
    readonly attempted: number;
    readonly acknowledged: number;
    readonly failed: Readonly<Record<string, number>>;
    readonly lost: number;
    /** Of the lost ones, those acknowledged after the fault (into a doomed or damaged database). */
    readonly lost_after_fault: number;
    readonly lost_examples: readonly string[];
  };
  readonly backup_at_fault: (DrillReport['restored_backup'] & { age_at_fault_ms: number }) | null;
  readonly restored_backup: { id: string; created_at: string; rows: number; from?: string } | null;
  readonly checks: readonly Check[];
  readonly objectives: Objectives & { readonly missed: readonly string[] };
  readonly passed: boolean;
  readonly timeline: readonly TimelineEntry[];
  /** What the report's SVG timeline draws (report/timeline-svg.ts). */
  readonly chart: DrillChart;
}

/**
 * The writes over time, in buckets of their sending time, and the instants that matter, all in
 * milliseconds from the start of the drill.
 */
export interface DrillChart {
  readonly bucket_ms: number;
  readonly buckets: readonly {
    readonly t_ms: number;
    /** Acknowledged and still there after recovery. */
    readonly kept: number;
    /** Acknowledged, and missing after recovery. */
    readonly lost: number;
    /** Not acknowledged: refused, failed on the network, timed out. */
    readonly refused: number;
  }[];
  readonly end_ms: number;
  readonly fault_ms: number;
  /** When the recovery procedure returned (the restore done, the API started again). */
  readonly recovered_ms: number;
  readonly first_read_ms: number | null;
  readonly first_write_ms: number | null;
  /** The instant the data went back to: the restored backup's time, or the replayed instant's. */
  readonly restored_snapshot_ms: number | null;
}

const BUCKETS = [50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 300_000];

/** Buckets of writes by sending time: at most about 120 of them, whatever the drill's length. */
export function drillChart(
  o: Observations,
  lost: ReadonlySet<string>,
  firstReadAt: number | null,
  firstWriteAt: number | null,
): DrillChart {
  let last = Math.max(o.recoveredAt, o.faultAt, firstReadAt ?? 0, firstWriteAt ?? 0);
  for (const a of o.acks) last = Math.max(last, a.ackAt);
  for (const r of o.refusals) last = Math.max(last, r.sentAt);
  const end = last - o.startedAt;
  const bucket = BUCKETS.find((b) => end / b <= 120) ?? Math.ceil(end / 120 / 60_000) * 60_000;
  const buckets = Array.from({ length: Math.floor(end / bucket) + 1 }, (_, i) => ({
    t_ms: i * bucket,
    kept: 0,
    lost: 0,
    refused: 0,
  }));
  const at = (t: number) =>
    buckets[Math.min(buckets.length - 1, Math.max(0, Math.floor((t - o.startedAt) / bucket)))];
  for (const a of o.acks) at(a.sentAt)[lost.has(a.message) ? 'lost' : 'kept']++;
  for (const r of o.refusals) at(r.sentAt).refused++;
  const rel = (t: number | null) => (t === null ? null : t - o.startedAt);
  return {
    bucket_ms: bucket,
    buckets,
    end_ms: end,
    fault_ms: o.faultAt - o.startedAt,
    recovered_ms: o.recoveredAt - o.startedAt,
    first_read_ms: rel(firstReadAt),
    first_write_ms: rel(firstWriteAt),
    restored_snapshot_ms: o.restored ? Date.parse(o.restored.createdAt) - o.startedAt : null,
  };
}

export function computeReport(o: Observations): DrillReport {
  const lost = o.acks.filter((a) => !o.stored.has(a.message));
  // The first write after the fault that is still there: a write acknowledged by a damaged or
  // doomed database and then lost does not count as the service being back.
  const firstWriteAt = o.acks
    .filter((a) => a.sentAt >= o.faultAt && o.stored.has(a.message))
    .reduce<number | null>((min, a) => (min === null || a.ackAt < min ? a.ackAt : min), null);
  const survivedBeforeFault = o.acks.filter((a) => a.ackAt <= o.faultAt && o.stored.has(a.message));
  const newestSurvivor = survivedBeforeFault.reduce<Ack | null>(
    (n, a) => (!n || a.ackAt > n.ackAt ? a : n),
    null,
  );
  const restoredAt = o.restored ? Date.parse(o.restored.createdAt) : null;
  const rpo = newestSurvivor
    ? o.faultAt - newestSurvivor.ackAt
    : restoredAt !== null
      ? o.faultAt - restoredAt
      : null;

  const checks: Check[] = [];
  const lostAfterRecovery = lost.filter((a) => a.sentAt >= o.recoveredAt);
  checks.push({
    name: 'writes after recovery are kept',
    ok: lostAfterRecovery.length === 0,
    detail: `${lostAfterRecovery.length} acknowledged after recovery and missing`,
  });
  if (o.restored && restoredAt !== null) {
    const missingFromBackup = o.acks.filter((a) => a.ackAt < restoredAt && !o.stored.has(a.message));
    checks.push({
      name: 'restored data matches the backup',
      ok: missingFromBackup.length === 0,
      detail: `${missingFromBackup.length} writes acknowledged before ${o.restored.id} was taken are missing`,
    });
  }
  checks.push({
    name: 'service recovered',
    ok: o.firstReadAt !== null && firstWriteAt !== null,
    detail:
      o.firstReadAt === null
        ? 'no successful read after the fault'
        : firstWriteAt === null
          ? 'no durable write after the fault'
          : 'reads and writes succeed',
  });
  checks.push(...(o.extraChecks ?? []));

  const rtoRead = o.firstReadAt === null ? null : Math.max(0, o.firstReadAt - o.faultAt);
  const missed: string[] = [];
  const { rtoSeconds, rpoSeconds, maxLost } = o.objectives;
  if (rtoSeconds !== undefined && (rtoRead === null || rtoRead > rtoSeconds * 1000)) {
    missed.push(`RTO ${fmtMs(rtoRead)} > ${rtoSeconds}s`);
  }
  if (rpoSeconds !== undefined && (rpo === null || rpo > rpoSeconds * 1000))
    missed.push(`RPO ${fmtMs(rpo)} > ${rpoSeconds}s`);
  if (maxLost !== undefined && lost.length > maxLost) missed.push(`${lost.length} lost writes > ${maxLost}`);

  return {
    run_id: o.runId,
    scenario: o.scenario,
    kind: o.kind,
    summary: o.summary,
    target: o.target,
    target_description: o.targetDescription,
    started_at: new Date(o.startedAt).toISOString(),
    fault_at: new Date(o.faultAt).toISOString(),
    fault: o.faultDetail,
    rto_read_ms: rtoRead,
    rto_write_ms: firstWriteAt === null ? null : Math.max(0, firstWriteAt - o.faultAt),
    rpo_ms: rpo === null ? null : Math.max(0, rpo),
    writes: {
      rate_per_second: o.ratePerSecond,
      attempted: o.attempts,
      acknowledged: o.acks.length,
      failed: o.failures,
      lost: lost.length,
      lost_after_fault: lost.filter((a) => a.sentAt >= o.faultAt).length,
      lost_examples: lost.slice(0, 5).map((a) => a.message),
    },
    backup_at_fault: o.backupAtFault
      ? {
          id: o.backupAtFault.id,
          created_at: o.backupAtFault.createdAt,
          rows: o.backupAtFault.rows,
          age_at_fault_ms: o.faultAt - Date.parse(o.backupAtFault.createdAt),
        }
      : null,
    restored_backup: o.restored
      ? { id: o.restored.id, created_at: o.restored.createdAt, rows: o.restored.rows, from: o.restored.from }
      : null,
    checks,
    objectives: { ...o.objectives, missed },
    passed: missed.length === 0 && checks.every((c) => c.ok),
    timeline: o.timeline,
    chart: drillChart(
      o,
      new Set(lost.map((a) => a.message)),
      o.firstReadAt === null ? null : Math.max(o.firstReadAt, o.faultAt),
      firstWriteAt,
    ),
  };
}

export function fmtMs(ms: number | null): string {
  if (ms === null) return 'n/a';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
