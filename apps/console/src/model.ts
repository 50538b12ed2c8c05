/**
 * What the console reads from the agent, as the console uses it. The agent's JSON is parsed here,
 * once, and leniently: a field an older agent does not send yet (`chain`, `/chains`,
 * `/health/backups`) becomes null, and an entry that is not a restore point is left out instead of
 * breaking the page.
 */

export type PointReason = 'scheduled' | 'manual' | 'pre-restore' | 'imported' | 'replication' | 'unknown';
export type Location = 'local' | 'offsite' | 'both';

export interface ChainRef {
  readonly id: string;
  readonly live: boolean;
  /** Any instant from `from` to `to` (ms) can be restored from this point's chain. */
  readonly from: number;
  readonly to: number;
}

export interface RestorePoint {
  readonly id: string;
  /** ms since the epoch. */
  readonly createdAt: number;
  readonly rows: number | null;
  readonly size: number;
  /** true: verified when taken; false: failed; null: no manifest, never verified. */
  readonly verified: boolean | null;
  readonly reason: PointReason;
  readonly location: Location;
  /** Offsite state (`uploaded`, `pending`, `failed`, `absent`); null when offsite copies are off. */
  readonly offsite: {
    readonly state: string;
    readonly attempts?: number;
    readonly lastError?: string;
  } | null;
  readonly note: string | null;
  readonly chain: ChainRef | null;
}

/** A continuous restorable range (a replication chain): any instant in [from, to] can be restored. */
export interface RestorableRange {
  readonly id: string;
  readonly live: boolean;
  readonly from: number;
  readonly to: number;
  readonly endReason: string | null;
  readonly snapshots: readonly string[];
  readonly transactions: number | null;
  readonly bytes: number | null;
  /** The part of the range the offsite bucket can restore (null: none, or no bucket). */
  readonly offsite: { readonly from: number; readonly to: number } | null;
}

/** The agent's error body: `message` is written for a person, `code` for scripts. */
export interface ApiErrorBody {
  readonly statusCode: number;
  readonly code: string;
  readonly message: string;
}

/** What `POST /restore/...` answers (a dry run too). */
export interface RestoreAnswer {
  readonly restored: { readonly id: string; readonly createdAt: number; readonly rows: number | null };
  readonly mode: 'online' | 'offline';
  readonly dryRun: boolean;
  readonly rowsBefore: number | null;
  /** For a dry run of a backup, the backup's rows; of an instant, what replaying gives. */
  readonly rowsAfter: number | null;
  readonly durationMs: number | null;
  readonly safetySnapshot: string | null;
  readonly notes: readonly string[];
  readonly pointInTime: {
    readonly at: string;
    /** The commit time of the last transaction replayed (the snapshot's when none is). */
    readonly targetTime: string | null;
    readonly transactions: number | null;
  } | null;
}

/** What `POST /backups` answers: the new backup's manifest. */
export interface BackupTaken {
  readonly id: string;
  readonly createdAt: number;
  readonly rows: number;
  readonly size: number;
  readonly durationMs: number;
  readonly verified: boolean;
}

/** One drill report (`GET /drills`). */
export interface DrillSummary {
  readonly name: string;
  readonly scenario: string;
  readonly kind: string;
  readonly target: string;
  readonly startedAt: number;
  readonly passed: boolean;
  readonly rtoReadMs: number | null;
  readonly rtoWriteMs: number | null;
  readonly rpoMs: number | null;
  readonly acknowledged: number;
  readonly lost: number;
  readonly objectives: {
    readonly rtoSeconds?: number;
    readonly rpoSeconds?: number;
    readonly maxLost?: number;
  };
  /** The drill wrote an SVG timeline: `GET /drills/<name>/timeline.svg`. */
  readonly timelineSvg: boolean;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);
/** An ISO-8601 instant (or unix seconds) as ms; null when absent or unreadable. */
export function instant(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v * 1000;
  if (typeof v !== 'string') return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

const REASONS: readonly PointReason[] = ['scheduled', 'manual', 'pre-restore', 'imported', 'replication'];

function parseChain(v: unknown, now: number): ChainRef | null {
  if (!isObject(v)) return null;
  const id = str(v['id']);
  const from = instant(v['from']);
  const live = v['status'] === 'live';
  const to = instant(v['to']) ?? (live ? now : null);
  return id && from !== null && to !== null ? { id, live, from, to } : null;
}

/** `GET /backups`, newest first. `now` is the agent's clock (a live chain's `to`). */
export function parsePoints(json: unknown, now: number): RestorePoint[] {
  if (!Array.isArray(json)) return [];
  const points: RestorePoint[] = [];
  for (const v of json) {
    if (!isObject(v)) continue;
    const id = str(v['id']);
    const createdAt = instant(v['created_at']);
    if (!id || createdAt === null) continue;
    const reason = str(v['reason']);
    const location = str(v['location']);
    const offsite = isObject(v['offsite']) ? v['offsite'] : null;
    points.push({
      id,
      createdAt,
      rows: num(v['rows']),
      size: num(v['size']) ?? 0,
      verified: bool(v['verified']),
      reason: REASONS.includes(reason as PointReason) ? (reason as PointReason) : 'unknown',
      location: location === 'offsite' || location === 'both' ? location : 'local',
      offsite: offsite
        ? {
            state: str(offsite['state']) ?? 'unknown',
            ...(num(offsite['attempts']) !== null ? { attempts: num(offsite['attempts']) as number } : {}),
            ...(str(offsite['last_error']) ? { lastError: str(offsite['last_error']) as string } : {}),
          }
        : null,
      note: str(v['note']),
      chain: parseChain(v['chain'], now),
    });
  }
  return points.sort((a, b) => b.createdAt - a.createdAt);
}

/** `GET /chains` (newest first); a live chain's `to` is the agent's `now`. */
export function parseRanges(json: unknown, now: number): RestorableRange[] {
  if (!Array.isArray(json)) return [];
  const ranges: RestorableRange[] = [];
  for (const v of json) {
    if (!isObject(v)) continue;
    const id = str(v['id']);
    const live = v['status'] === 'live';
    // (a chain whose `from` is null has no snapshot left to start from: nothing to restore)
    const from = instant(v['from']);
    const to = live ? Math.max(now, instant(v['to']) ?? now) : instant(v['to']);
    if (!id || from === null || to === null || to < from) continue;
    ranges.push({
      id,
      live,
      from,
      to,
      endReason: str(v['end_reason']),
      snapshots: Array.isArray(v['snapshots']) ? v['snapshots'].filter((s) => typeof s === 'string') : [],
      transactions: num(v['transactions']),
      bytes: num(v['bytes']),
      offsite: offsiteRange(v['offsite']),
    });
  }
  return ranges.sort((a, b) => b.from - a.from);
}

function offsiteRange(v: unknown): { from: number; to: number } | null {
  if (!isObject(v)) return null;
  const from = instant(v['from']);
  const to = instant(v['to']);
  return from !== null && to !== null && to >= from ? { from, to } : null;
}

/** The ranges the points' `chain` fields describe, for an agent that lists points but not chains. */
export function rangesFromPoints(points: readonly RestorePoint[]): RestorableRange[] {
  const byId = new Map<string, RestorableRange>();
  for (const p of points) {
    if (!p.chain) continue;
    const known = byId.get(p.chain.id);
    byId.set(p.chain.id, {
      id: p.chain.id,
      live: p.chain.live,
      from: Math.min(known?.from ?? p.chain.from, p.chain.from),
      to: Math.max(known?.to ?? p.chain.to, p.chain.to),
      endReason: null,
      snapshots: [...(known?.snapshots ?? []), p.id],
      transactions: null,
      bytes: null,
      offsite: null,
    });
  }
  return [...byId.values()].sort((a, b) => b.from - a.from);
}

/** Any error answer as the agent's `{statusCode, code, message}`, whatever the body was. */
export function parseErrorBody(status: number, text: string): ApiErrorBody {
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: a proxy's page, or nothing
  }
  if (isObject(body) && typeof body['message'] === 'string') {
    return { statusCode: status, code: str(body['code']) ?? `HTTP_${status}`, message: body['message'] };
  }
  const snippet = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 160);
  return {
    statusCode: status,
    code: `HTTP_${status}`,
    message: `the agent answered ${status}${snippet ? `: ${snippet}` : ' with no explanation'}`,
  };
}

export function parseRestoreAnswer(json: unknown): RestoreAnswer {
  const v = isObject(json) ? json : {};
  const restored = isObject(v['restored']) ? v['restored'] : {};
  const pit = isObject(v['point_in_time']) ? v['point_in_time'] : null;
  const dryRun = bool(v['dry_run']) ?? false;
  const restoredRows = num(restored['rows']);
  return {
    restored: {
      id: str(restored['id']) ?? '?',
      createdAt: instant(restored['created_at']) ?? 0,
      rows: restoredRows,
      // (the agent answers rows_after null on a dry run of a backup: it is the backup's rows)
    },
    mode: v['mode'] === 'offline' ? 'offline' : 'online',
    dryRun,
    rowsBefore: num(v['rows_before']),
    rowsAfter: num(v['rows_after']) ?? (dryRun && !pit ? restoredRows : null),
    durationMs: num(v['duration_ms']),
    safetySnapshot: str(v['safety_snapshot']),
    notes: Array.isArray(v['notes']) ? v['notes'].filter((n): n is string => typeof n === 'string') : [],
    pointInTime: pit
      ? {
          at: str(pit['at']) ?? str(pit['target_time']) ?? '?',
          targetTime: str(pit['target_time']),
          transactions: num(pit['transactions']),
        }
      : null,
  };
}

export function parseBackupTaken(json: unknown): BackupTaken {
  const v = isObject(json) ? json : {};
  const verification = isObject(v['verification']) ? v['verification'] : {};
  return {
    id: str(v['id']) ?? '?',
    createdAt: instant(v['created_at']) ?? 0,
    rows: num(v['rows']) ?? 0,
    size: num(v['size']) ?? 0,
    durationMs: num(v['duration_ms']) ?? 0,
    verified: bool(verification['ok']) ?? false,
  };
}

/** `GET /drills`: the reports, newest first; malformed ones are left out. */
export function parseDrills(json: unknown): DrillSummary[] {
  if (!Array.isArray(json)) return [];
  const drills: DrillSummary[] = [];
  for (const v of json) {
    if (!isObject(v)) continue;
    const name = str(v['name']);
    const startedAt = instant(v['started_at']);
    if (!name || startedAt === null) continue;
    const writes = isObject(v['writes']) ? v['writes'] : {};
    const objectives = isObject(v['objectives']) ? v['objectives'] : {};
    const objective = (key: string) => (num(objectives[key]) !== null ? { [key]: num(objectives[key]) } : {});
    drills.push({
      name,
      scenario: str(v['scenario']) ?? '?',
      kind: str(v['kind']) ?? '',
      target: str(v['target']) ?? '?',
      startedAt,
      passed: v['passed'] === true,
      rtoReadMs: num(v['rto_read_ms']),
      rtoWriteMs: num(v['rto_write_ms']),
      rpoMs: num(v['rpo_ms']),
      acknowledged: num(writes['acknowledged']) ?? 0,
      lost: num(writes['lost']) ?? 0,
      objectives: { ...objective('rtoSeconds'), ...objective('rpoSeconds'), ...objective('maxLost') },
      timelineSvg: v['timeline_svg'] === true,
    });
  }
  return drills.sort((a, b) => b.startedAt - a.startedAt);
}

/** The newest point a restore of "the newest backup" would use: verified, not a safety snapshot. */
export function isRestorePoint(p: RestorePoint): boolean {
  return p.verified === true && p.reason !== 'pre-restore';
}
