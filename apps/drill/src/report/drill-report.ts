import type { Ack } from '../event-writer';
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
  };
}

export function fmtMs(ms: number | null): string {
  if (ms === null) return 'n/a';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
