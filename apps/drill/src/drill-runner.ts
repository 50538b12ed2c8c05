import { FixedRateWriter } from './event-writer';
import { http, httpOk, pollUntil, sleep } from './http';
import { computeReport, Check, DrillReport, Objectives } from './report/drill-report';
import { Scenario, ScenarioContext } from './scenarios/scenarios';
import { DrillTarget, RestoreOutcome } from './targets/drill-target';
import { Timeline } from './timeline';

export interface RunOptions {
  readonly runId: string;
  readonly ratePerSecond: number;
  readonly warmupSeconds: number;
  /** Writes that go on after the backup the scenario waits for, before the fault. */
  readonly afterBackupSeconds: number;
  readonly settleSeconds: number;
  readonly timeoutSeconds: number;
  readonly objectives: Objectives;
}

interface BackupView {
  id: string;
  created_at: string;
  rows: number | null;
  verified: boolean | null;
  reason: string | null;
  location?: 'local' | 'offsite' | 'both';
}

/**
 * Runs one scenario against one target:
 *   writer at a fixed rate -> warm-up (and, for PRA, a backup holding drill writes) -> FAULT ->
 *   recovery -> first read and first write -> settle -> read everything back -> report.
 * A reader polls /count from the fault on, so the first successful read is known to ~100 ms.
 */
export async function runDrill(
  scenario: Scenario,
  target: DrillTarget,
  options: RunOptions,
  timeline: Timeline,
): Promise<DrillReport> {
  const timeoutMs = options.timeoutSeconds * 1000;
  const ctx: ScenarioContext = { target, timeline, timeoutMs, afterFaultSeconds: options.afterBackupSeconds };
  const startedAt = Date.now();
  timeline.mark('setup', `${scenario.label ?? scenario.name} (${scenario.kind}) on target ${target.name}`);
  await target.setup();
  timeline.mark('target ready', target.description);
  if (scenario.needsOffsite && !target.offsite) {
    throw new Error(`${scenario.name} needs offsite copies (S3/MinIO) configured on the target`);
  }
  await pollUntil(
    'the API to be ready',
    async () => ((await http(`${target.apiUrl()}/ready`)).status === 200 ? true : undefined),
    {
      timeoutMs,
    },
  );
  const baselineMaxId =
    (await httpOk<{ id: number }[]>(`${target.apiUrl()}/consultation?limit=1`))[0]?.id ?? 0;

  const writer = new FixedRateWriter(() => target.apiUrl(), options.runId, options.ratePerSecond);
  const writingFrom = Date.now();
  writer.start();
  timeline.mark('writing', `${options.ratePerSecond} events/s, every acknowledgement recorded`);
  try {
    await sleep(options.warmupSeconds * 1000);
    let backupAtFault: { id: string; createdAt: string; rows: number } | null = null;
    // With continuous replication, every write is on the backup volume within the sync interval,
    // and in the bucket within S3_SYNC_INTERVAL when the agent copies its chains there: no snapshot
    // has to be waited for.
    const health = await replicationHealth(target);
    const replicated = scenario.needsOffsite
      ? health?.replication.enabled === true && !!health.offsite?.segments
      : health?.replication.enabled === true;
    if (replicated) {
      timeline.mark(
        'replication',
        scenario.needsOffsite
          ? 'continuous, and copied to the bucket every S3_SYNC_INTERVAL'
          : 'continuous: each write on the backup volume within the sync interval',
      );
      const where = scenario.needsOffsite ? 'bucket' : 'volume';
      await waitForReplicationAfter(target, writingFrom, where, timeline, timeoutMs);
    }
    if (scenario.needsBackup) {
      // When the backup volume is lost too, only what reached the offsite copy counts.
      const usable = (b: BackupView) =>
        isRestorePoint(b) && (!scenario.needsOffsite || b.location !== 'local');
      const b = replicated
        ? ((await newestBackup(target, usable)) ??
          (await waitForBackupAfter(target, 0, usable, timeline, timeoutMs)))
        : await waitForBackupAfter(target, writingFrom, usable, timeline, timeoutMs);
      timeline.mark(
        replicated ? 'snapshot' : 'backup taken',
        `${b.id}: ${b.rows} rows at ${b.created_at}${scenario.needsOffsite ? ', copied offsite' : ''}` +
          (replicated ? ' (the chain holds every write after it)' : ''),
      );
      await sleep(options.afterBackupSeconds * 1000);
      const newest = (await newestBackup(target, usable)) ?? b; // the schedule may have taken another meanwhile
      backupAtFault = { id: newest.id, createdAt: newest.created_at, rows: newest.rows ?? 0 };
    }
    if (writer.acks.length === 0)
      throw new Error('no write was acknowledged before the fault: is the API healthy?');

    const reader = new OutageReader(() => target.apiUrl());
    let faultAt = Date.now();
    reader.start();
    const faultDetail = await scenario.fault(ctx);
    // Going back to an instant: the outage and the data rolled back count from the restore request.
    if (scenario.name === 'point-in-time') faultAt = Date.now();
    timeline.mark('FAULT', faultDetail);

    const restored: RestoreOutcome | null = await scenario.recover(ctx);
    const recoveredAt = Date.now();
    const firstRead = await reader.firstReadAfter(recoveredAt, timeoutMs, timeline);
    reader.stop();
    timeline.mark(
      'first read',
      firstRead.outage ? 'the service answers again' : 'no outage was observed by readers',
    );
    const firstWrite = await pollUntil(
      'the first acknowledged write after recovery',
      async () => writer.firstAckSentAfter(recoveredAt),
      {
        timeoutMs,
        onWait: (ms) => timeline.progress(`no write acknowledged yet, ${Math.round(ms / 1000)}s`),
      },
    );
    timeline.mark('first write', `${firstWrite.message} (id ${firstWrite.id})`);
    await sleep(options.settleSeconds * 1000);
    await writer.stop();
    timeline.mark('writer stopped', `${writer.acks.length} acknowledged of ${writer.attempts}`);

    const stored = await readDrillMessages(target, options.runId, baselineMaxId, writer.acks, recoveredAt);
    timeline.mark('read back', `${stored.size} of this drill's events are stored`);
    const extraChecks = await finalChecks(scenario, target, timeline);
    timeline.mark('done');
    return computeReport({
      runId: options.runId,
      scenario: scenario.label ?? scenario.name,
      kind: scenario.kind,
      summary: scenario.summary,
      target: target.name,
      targetDescription: target.description,
      ratePerSecond: options.ratePerSecond,
      startedAt,
      faultAt,
      faultDetail,
      recoveredAt,
      firstReadAt: firstRead.at,
      outageObserved: firstRead.outage,
      attempts: writer.attempts,
      failures: Object.fromEntries(writer.failures),
      acks: writer.acks,
      refusals: writer.refusals,
      stored,
      backupAtFault,
      restored,
      timeline: timeline.entries,
      objectives: {
        ...options.objectives,
        ...(options.objectives.maxLost === undefined && scenario.defaultMaxLost !== null
          ? { maxLost: scenario.defaultMaxLost }
          : {}),
        ...(options.objectives.rpoSeconds === undefined && replicated && scenario.replicatedRpo
          ? { rpoSeconds: (health as HealthReport).rpo.objective_seconds }
          : {}),
      },
      extraChecks: [...extraChecks, ...pointInTimeChecks(ctx, writer.acks, stored, restored)],
    });
  } finally {
    await writer.stop();
    await target.teardown();
  }
}

/** Polls /count and tells when clients could read again after an outage. */
class OutageReader {
  private samples: { at: number; ok: boolean }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly apiUrl: () => string) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), 100);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * The first successful read at or after `from` that follows a failed one; or, if readers never
   * saw a failure for 5 s after `from`, the first read after the fault (no outage: RTO 0).
   */
  async firstReadAfter(
    from: number,
    timeoutMs: number,
    timeline: Timeline,
  ): Promise<{ at: number; outage: boolean }> {
    return pollUntil(
      'the first successful read after the fault',
      async () => {
        const failure = this.samples.find((s) => !s.ok);
        if (failure) {
          const ok = this.samples.find((s) => s.ok && s.at >= from && s.at > failure.at);
          return ok ? { at: ok.at, outage: true } : undefined;
        }
        const last = this.samples[this.samples.length - 1];
        return last && last.at - from > 5000 ? { at: this.samples[0].at, outage: false } : undefined;
      },
      { timeoutMs, onWait: (ms) => timeline.progress(`waiting for the service, ${Math.round(ms / 1000)}s`) },
    );
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const at = Date.now();
    const ok = await http(`${this.apiUrl()}/count`, { timeoutMs: 2000 }).then(
      (r) => r.status === 200,
      () => false,
    );
    this.samples.push({ at, ok });
    this.busy = false;
  }
}

const isRestorePoint = (b: BackupView) => b.verified === true && b.reason !== 'pre-restore';

interface HealthReport {
  rpo: { objective_seconds: number };
  replication: { enabled: boolean; state: string; durable_until: string | null };
  offsite: { segments: { lag_seconds: number } | null } | null;
}

/** The agent's backup health report; null for an agent without one (no continuous replication). */
async function replicationHealth(target: DrillTarget): Promise<HealthReport | null> {
  const res = await http<HealthReport>(`${target.agentUrl()}/health/backups`);
  return res.status === 200 && res.body.replication ? res.body : null;
}

/**
 * Waits until the drill's writes after `after` can be restored: on the backup volume (a live chain
 * caught up) or, for `bucket`, in the bucket's copy of a chain.
 */
async function waitForReplicationAfter(
  target: DrillTarget,
  after: number,
  where: 'volume' | 'bucket',
  timeline: Timeline,
  timeoutMs: number,
): Promise<void> {
  const holds = async () => {
    if (where === 'bucket') {
      const chains = await httpOk<{ offsite?: { to: string } | null }[]>(`${target.agentUrl()}/chains`);
      return chains.some((c) => c.offsite && Date.parse(c.offsite.to) > after + 500);
    }
    const r = (await httpOk<HealthReport>(`${target.agentUrl()}/health/backups`)).replication;
    return r.state === 'following' && !!r.durable_until && Date.parse(r.durable_until) > after + 500;
  };
  await pollUntil(
    `the ${where === 'bucket' ? 'bucket' : 'backup volume'} to hold drill writes`,
    async () => ((await holds()) ? true : undefined),
    {
      timeoutMs,
      intervalMs: 250,
      onWait: (ms) =>
        timeline.progress(`replication has no drill write there yet, ${Math.round(ms / 1000)}s`),
    },
  );
}

/**
 * The point-in-time scenario's promise: after the restore to T, every write acknowledged at or
 * before T is there, and none sent after T (and before the restore) is; a write in flight at T may
 * be either (it committed around T).
 */
function pointInTimeChecks(
  ctx: ScenarioContext,
  acks: readonly { message: string; sentAt: number; ackAt: number }[],
  stored: ReadonlySet<string>,
  restored: RestoreOutcome | null,
): Check[] {
  if (ctx.instant === undefined || !restored) return [];
  const t = ctx.instant;
  const restoreMark = ctx.timeline.entries.find((e) => e.step === 'restore');
  const restoreAt = restoreMark ? Date.parse(restoreMark.at) : Number.POSITIVE_INFINITY;
  const missing = acks.filter((a) => a.ackAt <= t && !stored.has(a.message));
  const kept = acks.filter((a) => a.sentAt > t && a.ackAt < restoreAt && stored.has(a.message));
  const after = acks.filter((a) => a.sentAt > t && a.ackAt < restoreAt).length;
  return [
    {
      name: 'every write acknowledged up to the instant is restored',
      ok: missing.length === 0,
      detail: `${missing.length} of ${acks.filter((a) => a.ackAt <= t).length} missing`,
    },
    {
      name: 'no write sent after the instant survives the restore',
      ok: kept.length === 0 && after > 0,
      detail: `${kept.length} of the ${after} writes sent after it are still there`,
    },
  ];
}

async function newestBackup(
  target: DrillTarget,
  usable: (b: BackupView) => boolean,
): Promise<BackupView | undefined> {
  return (await httpOk<BackupView[]>(`${target.agentUrl()}/backups`)).find(usable);
}

/** Waits for a verified backup whose snapshot started after `after` (so it holds drill writes). */
async function waitForBackupAfter(
  target: DrillTarget,
  after: number,
  usable: (b: BackupView) => boolean,
  timeline: Timeline,
  timeoutMs: number,
): Promise<BackupView> {
  timeline.mark('waiting for a backup', 'one taken by the schedule after the writer started');
  return pollUntil(
    'a backup holding drill writes',
    async () => {
      const list = await httpOk<BackupView[]>(`${target.agentUrl()}/backups`);
      return list.find((b) => usable(b) && Date.parse(b.created_at) > after + 500);
    },
    {
      timeoutMs,
      intervalMs: 500,
      onWait: (ms) => timeline.progress(`no new backup yet, ${Math.round(ms / 1000)}s`),
    },
  );
}

/**
 * Reads back this drill's events, newest first, with the ?before= cursor. Stops below both the
 * id the table had before the drill and the first id written after recovery (a restore of an old
 * backup can make new ids smaller than the baseline).
 */
async function readDrillMessages(
  target: DrillTarget,
  runId: string,
  baselineMaxId: number,
  acks: readonly { message: string; id: number; sentAt: number }[],
  recoveredAt: number,
): Promise<Set<string>> {
  const afterRecovery = acks.filter((a) => a.sentAt >= recoveredAt).map((a) => a.id);
  const floor = Math.min(baselineMaxId, ...afterRecovery.map((id) => id - 1));
  const prefix = `drill-${runId}-`;
  const stored = new Set<string>();
  let before: number | undefined;
  for (;;) {
    const page = await httpOk<{ id: number; message: string }[]>(
      `${target.apiUrl()}/consultation?limit=500${before ? `&before=${before}` : ''}`,
      { timeoutMs: 15_000 },
    );
    for (const e of page) if (e.message.startsWith(prefix)) stored.add(e.message);
    if (page.length < 500 || page[page.length - 1].id <= floor) return stored;
    before = page[page.length - 1].id;
  }
}

/** After a corruption drill, backups must work again (the restored database is sound). */
async function finalChecks(scenario: Scenario, target: DrillTarget, timeline: Timeline): Promise<Check[]> {
  if (scenario.name !== 'corruption') return [];
  // A scheduled backup may be running: 409 means "retry", anything else is the answer.
  const res = await pollUntil(
    'a backup after the restore',
    async () => {
      const r = await http<{ id?: string; code?: string }>(`${target.agentUrl()}/backups`, {
        method: 'POST',
        token: target.token,
        timeoutMs: 60_000,
      });
      return r.status === 409 ? undefined : r;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  timeline.mark(
    'backup after restore',
    res.status === 201 ? `${res.body.id} ok` : `failed: ${res.status} ${res.body.code}`,
  );
  return [
    { name: 'backups work again', ok: res.status === 201, detail: `POST /backups answered ${res.status}` },
  ];
}
