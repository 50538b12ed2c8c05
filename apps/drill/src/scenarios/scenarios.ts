import { BackupRef, LATEST, restorePathOf } from '@pra-kit/shared';
import { HttpError, http, httpOk, pollUntil, sleep } from '../http';
import { DrillTarget, RestoreOutcome } from '../targets/drill-target';
import { Timeline } from '../timeline';

export type ScenarioName = 'pod-loss' | 'data-loss' | 'backup-loss' | 'corruption' | 'point-in-time';

export interface ScenarioContext {
  readonly target: DrillTarget;
  readonly timeline: Timeline;
  readonly timeoutMs: number;
  /** Seconds of writes the point-in-time scenario lets go on after the instant it chose. */
  readonly afterFaultSeconds: number;
  /** The instant the point-in-time scenario restores (ms epoch), set by its fault step. */
  instant?: number;
}

/**
 * A disaster and the way back from it. The runner does the rest (writer, timings, read-back,
 * report); a scenario only says what the fault is and how recovery goes.
 */
export interface Scenario {
  readonly name: ScenarioName;
  /** How the report names it, when not just `name` (data-loss --auto). */
  readonly label?: string;
  readonly kind: 'PCA' | 'PRA';
  readonly summary: string;
  /** Wait for a backup holding some of the drill's writes before the fault. */
  readonly needsBackup: boolean;
  readonly needsOffsite: boolean;
  /** Lost writes allowed by default (--max-lost overrides): 0 for continuity, unbounded for recovery. */
  readonly defaultMaxLost: number | null;
  /**
   * Whether the RPO is the one continuous replication promises: with it on, the default RPO
   * objective is the agent's BACKUP_RPO_OBJECTIVE (the sync interval).
   */
  readonly replicatedRpo?: boolean;
  fault(ctx: ScenarioContext): Promise<string>;
  /** Brings the service back; returns the backup restored, if any. */
  recover(ctx: ScenarioContext): Promise<RestoreOutcome | null>;
}

/** The PRA procedure of the workshop: stop the API, restore offline, start it again. */
async function offlineRestore(ctx: ScenarioContext, from: 'local' | 's3'): Promise<RestoreOutcome> {
  const { target, timeline } = ctx;
  timeline.mark(
    'stop the API',
    'scale to 0 (API and agent): nothing may have the file open while it is replaced',
  );
  await target.stopApi();
  timeline.mark(
    'restore',
    `the newest verified backup, offline, from ${from === 's3' ? 'the offsite copy' : 'the backup volume'}`,
  );
  const restored = await target.restoreOffline(LATEST, from);
  timeline.mark('restored', `${restored.id} (${restored.rows} rows, taken ${restored.createdAt})`);
  await target.startApi();
  timeline.mark('start the API', 'scale to 1');
  return restored;
}

export const SCENARIOS: Record<ScenarioName, Scenario> = {
  'pod-loss': {
    name: 'pod-loss',
    kind: 'PCA',
    summary: "the API's process or pod is killed while a writer adds events; the platform brings it back",
    needsBackup: false,
    needsOffsite: false,
    defaultMaxLost: 0,
    fault: ({ target }) => target.killApi(),
    recover: async ({ timeline }) => {
      timeline.mark('recovery', 'nothing to do: the platform restarts the API on the same volume');
      return null;
    },
  },
  'data-loss': {
    name: 'data-loss',
    kind: 'PRA',
    summary: 'the data volume is destroyed while writing; the newest restorable point is restored offline',
    needsBackup: true,
    needsOffsite: false,
    defaultMaxLost: null,
    replicatedRpo: true,
    fault: ({ target }) => target.destroyDataVolume(),
    recover: (ctx) => offlineRestore(ctx, 'local'),
  },
  'backup-loss': {
    name: 'backup-loss',
    kind: 'PRA',
    summary: 'the data and backup volumes are both lost; the latest backup is restored from the offsite copy',
    needsBackup: true,
    needsOffsite: true,
    defaultMaxLost: null,
    fault: async ({ target }) => `${await target.destroyDataVolume()}; ${await target.destroyBackupVolume()}`,
    recover: (ctx) => offlineRestore(ctx, 's3'),
  },
  corruption: {
    name: 'corruption',
    kind: 'PRA',
    summary: 'pages of the live database file are damaged; the agent detects it and restores online',
    needsBackup: true,
    needsOffsite: false,
    defaultMaxLost: null,
    fault: ({ target }) => target.corruptDatabase(),
    recover: async ({ target, timeline, timeoutMs }) => {
      const agent = target.agentUrl();
      // Detection: a backup of a damaged database fails its integrity check.
      const code = await pollUntil(
        'the agent to detect the corruption',
        async () => {
          const res = await http<{ code?: string }>(`${agent}/backups`, {
            method: 'POST',
            token: target.token,
            timeoutMs: 60_000,
          });
          return res.status === 503 && res.body.code === 'SOURCE_DATABASE_CORRUPT'
            ? res.body.code
            : undefined;
        },
        {
          timeoutMs,
          intervalMs: 1000,
          onWait: (ms) => timeline.progress(`still no detection after ${Math.round(ms / 1000)}s`),
        },
      );
      timeline.mark('detected', `a backup attempt failed with ${code}`);
      timeline.mark(
        'restore',
        `the newest verified backup, online, through the agent (POST ${restorePathOf(LATEST)})`,
      );
      const result = await onlineRestore(target, LATEST, 'online restore');
      const r = result.restored;
      timeline.mark(
        'restored',
        `${r.id} (${r.rows} rows)${result.notes.length ? `; ${result.notes.join('; ')}` : ''}`,
      );
      return { id: r.id, createdAt: r.created_at, rows: r.rows, from: r.from };
    },
  },
  'point-in-time': {
    name: 'point-in-time',
    kind: 'PRA',
    summary:
      'an instant is chosen while writing (a bad deployment, a wrong DELETE just after it); the database is restored online to it',
    needsBackup: true,
    needsOffsite: false,
    defaultMaxLost: null,
    fault: async (ctx) => {
      ctx.instant = Date.now();
      const chosen = new Date(ctx.instant).toISOString();
      ctx.timeline.mark('instant chosen', `${chosen}: the state to go back to`);
      await sleep(ctx.afterFaultSeconds * 1000); // writes go on after it
      return `restore to ${chosen}, ${ctx.afterFaultSeconds} s of writes later`;
    },
    recover: async ({ target, timeline, instant }) => {
      const ref = { kind: 'at', at: new Date(instant as number) } as const;
      timeline.mark('restore', `online, through the agent: POST /restore?at=${ref.at.toISOString()}`);
      const result = await onlineRestore(target, ref, 'point-in-time restore');
      const r = result.restored;
      timeline.mark(
        'restored',
        `the state of ${r.created_at}: ${r.rows} rows (${result.point_in_time?.snapshot} + ${result.point_in_time?.transactions} transactions)`,
      );
      return { id: r.id, createdAt: r.created_at, rows: r.rows, from: r.from };
    },
  },
};

/** What the agent answers to POST /restore (the fields the drill reports). */
interface RestoreAnswer {
  readonly restored: { id: string; created_at: string; rows: number; from: 'local' | 's3' };
  readonly notes: string[];
  readonly point_in_time?: { transactions: number; snapshot: string };
}

/** An online restore through the agent, with the token; `what` names it if it fails. */
function onlineRestore(target: DrillTarget, ref: BackupRef, what: string): Promise<RestoreAnswer> {
  return httpOk<RestoreAnswer>(`${target.agentUrl()}${restorePathOf(ref)}`, {
    method: 'POST',
    token: target.token,
    timeoutMs: 120_000,
  }).catch((err: HttpError) => {
    throw new Error(`${what} failed: ${err.message}`);
  });
}

interface AutoRestoreView {
  restores_total: number;
  last: {
    outcome: string;
    id: string;
    rows: number;
    created_at: string;
    from: 'local' | 's3';
    at: string;
    detail: string;
  } | null;
}

/**
 * data-loss --auto: the data volume is lost and the pod restarts on the empty one (a node lost,
 * the pod rescheduled); nobody does anything. The agent, started with BACKUP_AUTO_RESTORE=latest,
 * restores the newest verified point before it answers; the API, which refuses to start empty
 * while backups exist, opens it on its next request. The drill only watches.
 */
export function autoDataLoss(): Scenario {
  // When the fault began: the restore to wait for is the first one recorded after it. (No request
  // to the agent before the fault itself: writes go on meanwhile, and would be counted as written
  // after the fault.)
  let faultAt = 0;
  const view = async (target: DrillTarget) =>
    (await http<{ auto_restore?: AutoRestoreView }>(`${target.agentUrl()}/ready`, { timeoutMs: 2000 })).body
      .auto_restore;
  return {
    ...SCENARIOS['data-loss'],
    label: 'data-loss --auto',
    summary:
      'the data volume is destroyed while writing and the pod restarts on the empty one; the agent restores the latest backup by itself',
    fault: async ({ target }) => {
      if (!target.restartPod) throw new Error(`the ${target.name} target cannot restart its pod`);
      faultAt = Date.now();
      return `${await target.destroyDataVolume()}; ${await target.restartPod()}`;
    },
    recover: async ({ target, timeline, timeoutMs }) => {
      timeline.mark('recovery', 'no operator step: the agent restores at start (BACKUP_AUTO_RESTORE=latest)');
      const last = await pollUntil(
        'the automatic restore',
        async () => {
          const v = await view(target).catch(() => undefined);
          if (!v?.last || Date.parse(v.last.at) < faultAt) return undefined;
          if (v.last.outcome !== 'restored')
            throw new Error(`the automatic restore did not restore: ${v.last.detail}`);
          return v.last;
        },
        {
          timeoutMs,
          intervalMs: 100,
          onWait: (ms) => timeline.progress(`no automatic restore yet, ${Math.round(ms / 1000)}s`),
        },
      );
      timeline.mark(
        'restored',
        `by the agent at start: the state of ${last.created_at} from ${last.id} (${last.rows} rows)`,
      );
      return { id: last.id, createdAt: last.created_at, rows: last.rows, from: last.from };
    },
  };
}
