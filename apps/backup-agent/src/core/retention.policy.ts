/**
 * Retention: which backups to delete. Pure: the same list, policy and time give the same answer.
 *
 * Kept (everything else expires):
 * - the `keepLast` newest backups;
 * - `hourly`: the newest backup of each of the `hourly` most recent UTC hours that have backups;
 *   likewise `daily` (UTC days) and `weekly` (ISO weeks) — the grandfather-father-son scheme, with
 *   restic's semantics (a gap in backups does not consume a slot);
 * - the newest verified backup, always, whatever the policy;
 * - anything dated after `now` (a clock that went backwards must not delete recent backups).
 */
export interface RetentionPolicy {
  /** The N newest backups are always kept. */
  readonly keepLast: number;
  /** Newest backup of each of the last N hours / days / ISO weeks (UTC). */
  readonly hourly: number;
  readonly daily: number;
  readonly weekly: number;
}

export interface RetentionCandidate {
  readonly id: string;
  readonly createdAt: Date;
  readonly verified: boolean;
}

export interface RetentionDecision {
  readonly keep: ReadonlyMap<string, readonly string[]>;
  readonly expired: readonly string[];
}

/** What to delete (`expired`, oldest first) and why each kept backup is kept. */
export function decideRetention(
  list: readonly RetentionCandidate[],
  policy: RetentionPolicy,
  now: Date,
  /** Kept whatever the policy (the newest snapshot of the live replication chain). */
  pinned: readonly string[] = [],
): RetentionDecision {
  const newestFirst = [...list].sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1),
  );
  const keep = new Map<string, string[]>();
  const mark = (id: string, reason: string) => keep.set(id, [...(keep.get(id) ?? []), reason]);

  newestFirst.slice(0, policy.keepLast).forEach((b) => mark(b.id, 'last'));
  keepNewestPerBucket(newestFirst, policy.hourly, hourKey, 'hourly', mark);
  keepNewestPerBucket(newestFirst, policy.daily, dayKey, 'daily', mark);
  keepNewestPerBucket(newestFirst, policy.weekly, isoWeekKey, 'weekly', mark);

  for (const id of pinned) if (newestFirst.some((b) => b.id === id)) mark(id, 'pinned');
  const newestVerified = newestFirst.find((b) => b.verified);
  if (newestVerified) mark(newestVerified.id, 'newest-verified');
  newestFirst.filter((b) => b.createdAt.getTime() > now.getTime()).forEach((b) => mark(b.id, 'future'));

  const expired = newestFirst
    .filter((b) => !keep.has(b.id))
    .map((b) => b.id)
    .reverse();
  return { keep, expired };
}

function keepNewestPerBucket(
  newestFirst: readonly RetentionCandidate[],
  slots: number,
  key: (d: Date) => string,
  reason: string,
  mark: (id: string, reason: string) => void,
): void {
  const seen = new Set<string>();
  for (const b of newestFirst) {
    if (seen.size >= slots) return;
    const k = key(b.createdAt);
    if (seen.has(k)) continue;
    seen.add(k);
    mark(b.id, reason);
  }
}

const hourKey = (d: Date) => d.toISOString().slice(0, 13);
const dayKey = (d: Date) => d.toISOString().slice(0, 10);

/** ISO-8601 week, e.g. 2026-W47 (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeekKey(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
