/**
 * Health at a glance: the agent's own report (`GET /health/backups`) when it has one, else what the
 * console can work out from `GET /ready` and `GET /backups`. Pure, unit-tested.
 */
import { formatDuration } from './format';
import { instant, RestorableRange, RestorePoint } from './model';
import { Freshness, freshness, freshnessOf, rangesAt, restorableIntervals } from './timeline';

export type HealthStatus = 'ok' | 'degraded' | 'failing';

export interface HealthView {
  readonly status: HealthStatus;
  /** One sentence for a person. */
  readonly summary: string;
  /** `report`: the agent's GET /health/backups; `derived`: worked out by the console. */
  readonly source: 'report' | 'derived';
  readonly freshness: Freshness;
  readonly lastError: {
    readonly message: string;
    readonly code: string | null;
    readonly at: number | null;
  } | null;
  readonly offsite: {
    readonly status: string;
    readonly pending: number;
    readonly lagMs: number | null;
    readonly backlogBytes: number | null;
    readonly error: string | null;
    /** The replication chains' copy to the bucket (null: not copied, e.g. replication off). */
    readonly segments: {
      readonly status: string;
      readonly pending: number;
      readonly lagMs: number | null;
      readonly backlogBytes: number | null;
      readonly error: string | null;
    } | null;
  } | null;
  readonly replication: {
    readonly enabled: boolean;
    readonly state: string | null;
    readonly lagMs: number | null;
    readonly lastBreak: string | null;
  } | null;
  readonly storage: {
    readonly freeBytes: number;
    readonly totalBytes: number | null;
    readonly minFreeBytes: number | null;
    readonly ok: boolean;
  } | null;
  readonly conditions: readonly { readonly name: string; readonly ok: boolean; readonly message: string }[];
}

/** `BACKUP_RPO_OBJECTIVE`'s default, used when the agent does not say its own. */
export const DEFAULT_OBJECTIVE_SECONDS = 60;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : null;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const seconds = (v: unknown): number | null => (num(v) === null ? null : (num(v) as number) * 1000);

/** Text of an error that may be a string, `{code, message}` or `{reason, at}`. */
function errorText(v: unknown): string | null {
  const o = obj(v);
  return o ? (str(o['message']) ?? str(o['reason'])) : str(v);
}

/** The agent's report, `GET /health/backups` (always 200). */
export function healthFromReport(json: unknown): HealthView {
  const r = obj(json) ?? {};
  const rpo = obj(r['rpo']) ?? {};
  const objectiveMs = seconds(rpo['objective_seconds']) ?? DEFAULT_OBJECTIVE_SECONDS * 1000;
  const fresh = freshnessOf(instant(rpo['newest_restorable_at']), seconds(rpo['age_seconds']), objectiveMs);
  const backups = obj(r['backups']) ?? {};
  const lastError = obj(backups['last_error']);
  const offsite = obj(r['offsite']);
  const replication = obj(r['replication']);
  const storage = obj(r['storage']);
  const status =
    r['status'] === 'ok' || r['status'] === 'degraded' || r['status'] === 'failing'
      ? r['status']
      : 'degraded';
  return {
    status,
    summary: str(r['summary']) ?? 'the agent sent no summary',
    source: 'report',
    freshness: fresh,
    lastError: lastError
      ? {
          message: str(lastError['message']) ?? 'unknown error',
          code: str(lastError['code']),
          at: instant(lastError['at']),
        }
      : null,
    offsite: offsite
      ? {
          status: str(offsite['status']) ?? 'unknown',
          pending: num(offsite['pending_uploads']) ?? 0,
          lagMs: seconds(offsite['lag_seconds']),
          backlogBytes: num(offsite['backlog_bytes']),
          error: errorText(offsite['error']) ?? errorText(offsite['last_error']),
          segments: segmentsOf(obj(offsite['segments'])),
        }
      : null,
    replication: replication
      ? {
          enabled: replication['enabled'] === true,
          state: str(replication['state']),
          lagMs: seconds(replication['lag_seconds']),
          lastBreak: errorText(replication['last_error']) ?? errorText(replication['last_break']),
        }
      : null,
    storage:
      storage && num(storage['free_bytes']) !== null
        ? {
            freeBytes: num(storage['free_bytes']) as number,
            totalBytes: num(storage['total_bytes']),
            minFreeBytes: num(storage['min_free_bytes']),
            ok: storage['ok'] !== false,
          }
        : null,
    conditions: Array.isArray(r['conditions'])
      ? r['conditions'].flatMap((c) => {
          const o = obj(c);
          return o && str(o['name'])
            ? [{ name: str(o['name']) as string, ok: o['ok'] === true, message: str(o['message']) ?? '' }]
            : [];
        })
      : [],
  };
}

function segmentsOf(s: Json | null): NonNullable<HealthView['offsite']>['segments'] {
  if (!s) return null;
  return {
    status: str(s['status']) ?? 'unknown',
    pending: num(s['pending_segments']) ?? 0,
    lagMs: seconds(s['lag_seconds']),
    backlogBytes: num(s['backlog_bytes']),
    error: errorText(s['error']),
  };
}

/**
 * For an agent without `GET /health/backups`: the newest restorable instant from the points, the
 * last error and the offsite state from `GET /ready`. `ready` is null when /ready failed, with the
 * agent's sentence in `readyError`.
 */
export function healthFromParts(input: {
  readonly ready: unknown;
  readonly readyError: string | null;
  readonly points: readonly RestorePoint[];
  readonly ranges: readonly RestorableRange[];
  readonly now: number;
  readonly objectiveSeconds?: number;
}): HealthView {
  const { points, ranges, now } = input;
  const ready = obj(input.ready);
  const objectiveMs = (input.objectiveSeconds ?? DEFAULT_OBJECTIVE_SECONDS) * 1000;
  const fresh = freshness(restorableIntervals(points, rangesAt(ranges, now)), now, objectiveMs);
  const lastErrorText = ready ? str(ready['last_backup_error']) : null;
  const offsiteJson = ready ? obj(ready['offsite']) : null;
  const waiting = points.filter(
    (p) => p.location === 'local' && (p.offsite?.state === 'pending' || p.offsite?.state === 'failed'),
  );
  const oldestWaiting = waiting.reduce<number | null>(
    (min, p) => (min === null || p.createdAt < min ? p.createdAt : min),
    null,
  );
  const offsite = offsiteJson
    ? {
        status: str(offsiteJson['status']) ?? 'unknown',
        pending: num(offsiteJson['pending_uploads']) ?? waiting.length,
        lagMs: oldestWaiting === null ? 0 : Math.max(0, now - oldestWaiting),
        backlogBytes: waiting.reduce((sum, p) => sum + p.size, 0),
        error: errorText(offsiteJson['error']),
        segments: null,
      }
    : null;
  const sourceMissing = ready?.['source_database'] === 'missing';

  const objective = formatDuration(objectiveMs);
  let status: HealthStatus = 'ok';
  const sentences: string[] = [];
  if (input.readyError !== null) {
    status = 'failing';
    sentences.push(`The agent is not ready: ${input.readyError}`);
  }
  if (sourceMissing) {
    status = 'failing';
    sentences.push('The database file is missing: choose a restore point and restore it.');
  }
  if (fresh.level === 'none') {
    status = 'failing';
    sentences.push('There is no verified restore point yet: take a backup.');
  } else if (!fresh.ok) {
    status = status === 'failing' ? status : 'degraded';
    sentences.push(
      `The newest restorable instant is ${formatDuration(fresh.ageMs ?? 0)} old, more than the ${objective} objective.`,
    );
  } else if (sentences.length === 0) {
    sentences.push(
      `The newest restorable instant is ${formatDuration(fresh.ageMs ?? 0)} old, within the ${objective} objective.`,
    );
  }
  if (lastErrorText) {
    status = status === 'failing' ? status : 'degraded';
    sentences.push(`The last backup failed: ${lastErrorText}`);
  }
  if (offsite && offsite.status === 'failing') {
    status = status === 'failing' ? status : 'degraded';
    sentences.push(
      `Offsite copies are failing; ${offsite.pending} ${offsite.pending === 1 ? 'backup waits' : 'backups wait'} for upload.`,
    );
  }
  return {
    status,
    summary: sentences.join(' '),
    source: 'derived',
    freshness: fresh,
    lastError: lastErrorText ? { message: lastErrorText, code: null, at: null } : null,
    offsite,
    replication: ranges.length
      ? {
          enabled: true,
          state: ranges.some((r) => r.live) ? 'following' : 'ended',
          lagMs: null,
          lastBreak: null,
        }
      : null,
    storage: null,
    conditions: [],
  };
}
