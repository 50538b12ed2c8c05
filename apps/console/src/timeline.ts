/**
 * The timeline's layout, pure and unit-tested: which instants can be restored, where the gaps are
 * (the periods during which a lost volume would have cost more than the RPO objective), how old the
 * newest restorable instant is against the objective, and where each of these lands on the axis.
 * The view (view-timeline.ts) only draws what this computes.
 */
import { isRestorePoint, RestorableRange, RestorePoint } from './model';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** An interval of instants (ms); a backup is one instant (from = to). */
export interface Interval {
  readonly from: number;
  readonly to: number;
}

/**
 * The instants a restore can bring back, merged and oldest first: each verified backup (safety
 * snapshots excluded: they hold the state before a restore, not the data since) and each
 * continuous range.
 */
export function restorableIntervals(
  points: readonly RestorePoint[],
  ranges: readonly RestorableRange[],
): Interval[] {
  const all: Interval[] = [
    ...points.filter(isRestorePoint).map((p) => ({ from: p.createdAt, to: p.createdAt })),
    ...ranges.map((r) => ({ from: r.from, to: r.to })),
    ...ranges.flatMap((r) => (r.offsite ? [r.offsite] : [])),
  ].sort((a, b) => a.from - b.from || a.to - b.to);
  const merged: Interval[] = [];
  for (const i of all) {
    const last = merged[merged.length - 1];
    if (last && i.from <= last.to)
      merged[merged.length - 1] = { from: last.from, to: Math.max(last.to, i.to) };
    else merged.push(i);
  }
  return merged;
}

/** A period during which losing the data volume would have lost more than the objective. */
export interface Gap extends Interval {
  /** Still open: the newest restorable instant is older than the objective right now. */
  readonly current: boolean;
}

/**
 * The gaps in the protection: from `objective` after a restorable instant until the next one
 * (or until `now`). Before the first restorable instant there is nothing to measure against.
 */
export function exposureGaps(intervals: readonly Interval[], objectiveMs: number, now: number): Gap[] {
  const gaps: Gap[] = [];
  for (let i = 0; i < intervals.length; i++) {
    const covered = intervals[i].to;
    const next = i + 1 < intervals.length ? intervals[i + 1].from : now;
    if (next - covered > objectiveMs) {
      gaps.push({ from: covered + objectiveMs, to: next, current: i + 1 === intervals.length });
    }
  }
  return gaps;
}

export type FreshnessLevel = 'ok' | 'near' | 'late' | 'none';

/** How old the newest restorable instant is, against the objective. */
export interface Freshness {
  readonly newestAt: number | null;
  readonly ageMs: number | null;
  readonly objectiveMs: number;
  /** age / objective: 1 is exactly the objective. */
  readonly ratio: number | null;
  readonly ok: boolean;
  /** ok up to 80 % of the objective, near up to 100 %, late beyond; none: nothing to restore. */
  readonly level: FreshnessLevel;
}

export function freshness(intervals: readonly Interval[], now: number, objectiveMs: number): Freshness {
  const last = intervals[intervals.length - 1];
  if (!last) return { newestAt: null, ageMs: null, objectiveMs, ratio: null, ok: false, level: 'none' };
  const newestAt = Math.min(last.to, now);
  return freshnessOf(newestAt, now - newestAt, objectiveMs);
}

/** The same from an age the agent measured itself (GET /health/backups). */
export function freshnessOf(newestAt: number | null, ageMs: number | null, objectiveMs: number): Freshness {
  if (newestAt === null || ageMs === null) {
    return { newestAt: null, ageMs: null, objectiveMs, ratio: null, ok: false, level: 'none' };
  }
  const age = Math.max(0, ageMs);
  const ratio = objectiveMs > 0 ? age / objectiveMs : age > 0 ? Infinity : 0;
  return {
    newestAt,
    ageMs: age,
    objectiveMs,
    ratio,
    ok: ratio <= 1,
    level: ratio <= 0.8 ? 'ok' : ratio <= 1 ? 'near' : 'late',
  };
}

/**
 * What to add to the browser's clock to read the agent's. The browser's own clock is kept when it
 * agrees with the agent: its Date header (whole seconds) and its newest restore point bound the
 * agent's time when the answer arrived. Beyond those bounds (a clock set wrong by more than a
 * second), the nearest bound is used, so ages are never negative and never a clock's error.
 */
export function clockOffset(
  receivedAt: number,
  dateHeader: number | null,
  newestInstant: number | null,
): number {
  let lower = newestInstant === null ? -Infinity : newestInstant - receivedAt;
  let upper = Infinity;
  if (dateHeader !== null) {
    lower = Math.max(lower, dateHeader - receivedAt);
    upper = dateHeader + 1000 - receivedAt;
  }
  if (lower > upper) return lower;
  return Math.min(Math.max(0, lower), upper);
}

export type WindowPreset = 'all' | '24h' | '1h' | '15m';

export const WINDOW_PRESETS: readonly { readonly value: WindowPreset; readonly label: string }[] = [
  { value: 'all', label: 'everything' },
  { value: '24h', label: 'last 24 hours' },
  { value: '1h', label: 'last hour' },
  { value: '15m', label: 'last 15 minutes' },
];

export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/** The span the axis shows: a preset ending now, or everything (at least 10 s), with a margin. */
export function chooseWindow(
  preset: WindowPreset,
  points: readonly RestorePoint[],
  ranges: readonly RestorableRange[],
  now: number,
): TimeWindow {
  const spans: Record<Exclude<WindowPreset, 'all'>, number> = { '24h': DAY, '1h': HOUR, '15m': 15 * MINUTE };
  let start: number;
  if (preset === 'all') {
    const oldest = Math.min(now, ...points.map((p) => p.createdAt), ...ranges.map((r) => r.from));
    start = Math.min(oldest, now - 10 * SECOND);
  } else {
    start = now - spans[preset];
  }
  const margin = (now - start) * 0.04;
  return { start: preset === 'all' ? start - margin : start, end: now + margin };
}

export type LaneKey = 'continuous' | 'local' | 'offsite';

export interface Lane {
  readonly key: LaneKey;
  readonly label: string;
  /** Vertical centre. */
  readonly y: number;
}

export interface PointMark {
  readonly point: RestorePoint;
  readonly x: number;
  /** The lanes it is drawn in: a backup with a copy in both places is in both. */
  readonly lanes: readonly LaneKey[];
}

export interface SpanMark<T> {
  readonly item: T;
  readonly x1: number;
  readonly x2: number;
}

/** Marks drawn so close together that they hide each other: how many there are. */
export interface Cluster {
  readonly x: number;
  readonly count: number;
}

export interface Tick {
  readonly t: number;
  readonly x: number;
}

export interface TimelineLayout {
  readonly window: TimeWindow;
  readonly width: number;
  readonly height: number;
  readonly lanes: readonly Lane[];
  readonly marks: readonly PointMark[];
  readonly ranges: readonly SpanMark<RestorableRange>[];
  /** The parts of the ranges the offsite bucket can restore, in the offsite lane. */
  readonly offsiteRanges: readonly SpanMark<RestorableRange>[];
  readonly gaps: readonly SpanMark<Gap>[];
  readonly clusters: readonly Cluster[];
  readonly ticks: readonly Tick[];
  /** Points older than the window, not drawn. */
  readonly hiddenBefore: number;
  readonly nowX: number;
  readonly freshness: Freshness;
  /** The x of an instant, and the instant at an x (clicks on a range). */
  x(t: number): number;
  at(x: number): number;
}

export interface TimelineInput {
  readonly points: readonly RestorePoint[];
  readonly ranges: readonly RestorableRange[];
  readonly now: number;
  readonly objectiveMs: number;
  readonly window: TimeWindow;
  /** Width of the drawing, in SVG units; the axis runs from `axisLeft` to `width - 10`. */
  readonly width: number;
}

export const LANE_HEIGHT = 34;
export const MARK_RADIUS = 7;
export const AXIS_LEFT = 118;
const TOP = 18;
const AXIS_HEIGHT = 30;

/** A live range reaches the instant it is drawn at, not the one it was read at. */
export function rangesAt(ranges: readonly RestorableRange[], now: number): RestorableRange[] {
  return ranges.map((r) => (r.live && r.to < now ? { ...r, to: now } : r));
}

export function layoutTimeline(input: TimelineInput): TimelineLayout {
  const { points, now, objectiveMs, window, width } = input;
  const ranges = rangesAt(input.ranges, now);
  const right = width - 10;
  const span = Math.max(1, window.end - window.start);
  const x = (t: number) => AXIS_LEFT + ((t - window.start) / span) * (right - AXIS_LEFT);
  const at = (px: number) => window.start + ((px - AXIS_LEFT) / (right - AXIS_LEFT)) * span;
  const clampX = (t: number) => x(Math.min(window.end, Math.max(window.start, t)));

  const hasOffsite =
    points.some((p) => p.offsite !== null || p.location !== 'local') || ranges.some((r) => r.offsite);
  const laneKeys: LaneKey[] = [
    ...(ranges.length ? (['continuous'] as const) : []),
    'local',
    ...(hasOffsite ? (['offsite'] as const) : []),
  ];
  const labels: Record<LaneKey, string> = {
    continuous: 'continuous',
    local: 'backup volume',
    offsite: 'offsite',
  };
  const lanes = laneKeys.map((key, i) => ({
    key,
    label: labels[key],
    y: TOP + LANE_HEIGHT * i + LANE_HEIGHT / 2,
  }));

  const visible = points.filter((p) => p.createdAt >= window.start && p.createdAt <= window.end);
  const marks: PointMark[] = visible
    .map((point) => ({
      point,
      x: x(point.createdAt),
      lanes: [
        ...(point.location !== 'offsite' ? (['local'] as const) : []),
        ...(point.location !== 'local' ? (['offsite'] as const) : []),
      ],
    }))
    .sort((a, b) => a.x - b.x);

  const inWindow = (i: Interval) => i.to >= window.start && i.from <= window.end;
  const intervals = restorableIntervals(points, ranges);
  const gaps = exposureGaps(intervals, objectiveMs, now)
    .filter(inWindow)
    .map((gap) => ({ item: gap, x1: clampX(gap.from), x2: clampX(gap.to) }));

  return {
    window,
    width,
    height: TOP + LANE_HEIGHT * lanes.length + AXIS_HEIGHT,
    clusters: clusters(
      marks.map((m) => m.x),
      MARK_RADIUS,
    ),
    lanes,
    marks,
    ranges: ranges.filter(inWindow).map((r) => ({ item: r, x1: clampX(r.from), x2: clampX(r.to) })),
    offsiteRanges: ranges.flatMap((r) =>
      r.offsite && inWindow(r.offsite)
        ? [{ item: r, x1: clampX(r.offsite.from), x2: clampX(r.offsite.to) }]
        : [],
    ),
    gaps,
    ticks: ticks(window, Math.max(2, Math.floor((right - AXIS_LEFT) / 110))).map((t) => ({ t, x: x(t) })),
    hiddenBefore: points.filter((p) => p.createdAt < window.start).length,
    nowX: clampX(now),
    freshness: freshness(intervals, now, objectiveMs),
    x,
    at,
  };
}

/**
 * Groups of positions (sorted) where each is within `radius` of the previous one, so that the
 * marks overlap by more than half: each group of two or more, at the centre of its span.
 */
export function clusters(xs: readonly number[], radius: number): Cluster[] {
  const out: Cluster[] = [];
  let start = 0;
  for (let i = 1; i <= xs.length; i++) {
    if (i < xs.length && xs[i] - xs[i - 1] <= radius) continue;
    if (i - start > 1) out.push({ x: (xs[start] + xs[i - 1]) / 2, count: i - start });
    start = i;
  }
  return out;
}

const STEPS = [
  SECOND,
  5 * SECOND,
  10 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
];

/** Round instants (multiples of a step) inside the window, at most `maxTicks` of them. */
export function ticks(window: TimeWindow, maxTicks: number): number[] {
  const span = window.end - window.start;
  const step = STEPS.find((s) => span / s <= maxTicks) ?? Math.ceil(span / maxTicks / DAY) * DAY;
  const out: number[] = [];
  for (let t = Math.ceil(window.start / step) * step; t <= window.end; t += step) out.push(t);
  return out;
}

/** The step between ticks, to choose how they are labelled (with seconds, or with the date). */
export function tickStep(ticksAt: readonly number[]): number {
  return ticksAt.length > 1 ? ticksAt[1] - ticksAt[0] : MINUTE;
}

/**
 * The instant a click at `t` on a range chooses (ms): the whole second at or before it, kept inside
 * the range (a second rounded down from the range's first instant would be before it, and refused);
 * in a range shorter than a second that holds no whole second, the clicked instant itself.
 */
export function instantInRange(range: RestorableRange, t: number): number {
  const clamped = Math.min(range.to, Math.max(range.from, t));
  const second = Math.floor(clamped / 1000) * 1000;
  if (second >= range.from) return second;
  return second + 1000 <= range.to ? second + 1000 : clamped;
}
