import { Child, h, s } from './dom';
import { formatAge, formatBytes, formatDuration, formatRows, formatTime, isoSeconds } from './format';
import type { RestorableRange, RestorePoint } from './model';
import {
  AXIS_LEFT,
  instantInRange,
  LANE_HEIGHT,
  LaneKey,
  MARK_RADIUS,
  tickStep,
  TimelineLayout,
} from './timeline';

export interface TimelineHandlers {
  choosePoint(point: RestorePoint): void;
  chooseInstant(at: string): void;
}

export const REASON_WORDS: Record<RestorePoint['reason'], string> = {
  scheduled: 'scheduled',
  manual: 'manual',
  'pre-restore': 'safety snapshot',
  imported: 'imported',
  replication: 'chain base',
  unknown: 'no manifest',
};

/** What a point is, in words (its accessible name, its tooltip). */
export function describePoint(p: RestorePoint, now: number): string {
  return [
    p.id,
    formatTime(p.createdAt, now),
    formatAge(now - p.createdAt),
    formatRows(p.rows),
    formatBytes(p.size),
    REASON_WORDS[p.reason],
    p.verified === true ? 'verified' : p.verified === false ? 'failed verification' : 'never verified',
    p.location === 'both' ? 'local and offsite' : p.location === 'offsite' ? 'offsite only' : 'local only',
  ].join(', ');
}

/** A local backup whose offsite copy is queued or being retried. */
export function isWaiting(p: RestorePoint): boolean {
  return p.location === 'local' && (p.offsite?.state === 'pending' || p.offsite?.state === 'failed');
}

/** The marker's shape class: reason and verification, and a waiting offsite copy. */
function markClass(p: RestorePoint, lane: LaneKey, selected: boolean): string {
  return [
    'mark',
    `reason-${p.reason}`,
    p.verified === true ? 'verified' : 'unverified',
    lane === 'offsite' ? 'offsite' : '',
    selected ? 'selected' : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * The timeline as SVG: lanes (continuous ranges, backup volume, offsite), the gaps in red, each
 * point a mark. The marks are one tab stop (arrow keys move between them, Enter chooses); the
 * table below is the other way to choose, with the same names.
 */
export function renderTimeline(
  layout: TimelineLayout,
  now: number,
  selectedId: string | null,
  handlers: TimelineHandlers,
  /** An instant chosen to restore (ms), marked on the axis. */
  selectedInstant: number | null = null,
): Child {
  const laneY = new Map(layout.lanes.map((l) => [l.key, l.y]));
  const top = layout.lanes[0].y - LANE_HEIGHT / 2;
  const bottom = layout.lanes[layout.lanes.length - 1].y + LANE_HEIGHT / 2;
  const step = tickStep(layout.ticks.map((t) => t.t));
  const withSeconds = step < 60_000;

  const rangeRects = layout.ranges.map(({ item, x1, x2 }) => {
    const y = laneY.get('continuous') ?? 0;
    const label = `continuous range ${item.live ? '(live)' : '(ended)'}: any instant from ${formatTime(item.from, now)} to ${formatTime(item.to, now)}`;
    return s(
      'rect',
      {
        class: `range${item.live ? ' live' : ''}`,
        x: x1.toFixed(1),
        y: y - 7,
        width: Math.max(2, x2 - x1).toFixed(1),
        height: 14,
        rx: 4,
        'data-range': item.id,
        onclick: (e: Event) => {
          const at = instantInRange(item, instantFromClick(e as MouseEvent, layout));
          handlers.chooseInstant(at % 1000 === 0 ? isoSeconds(at) : new Date(at).toISOString());
        },
      },
      s('title', {}, `${label}. Click to choose an instant.`),
    );
  });

  const offsiteRects = layout.offsiteRanges.map(({ item, x1, x2 }) => {
    const y = laneY.get('offsite') ?? 0;
    const label = `the bucket's copy of range ${item.id}: any instant from ${formatTime(item.offsite?.from ?? 0, now)} to ${formatTime(item.offsite?.to ?? 0, now)}`;
    return s(
      'rect',
      {
        class: 'range offsite',
        x: x1.toFixed(1),
        y: y - 5,
        width: Math.max(2, x2 - x1).toFixed(1),
        height: 10,
        rx: 3,
      },
      s('title', {}, label),
    );
  });

  const gapRects = layout.gaps.map(({ item, x1, x2 }) =>
    s(
      'rect',
      {
        class: `gap${item.current ? ' current' : ''}`,
        x: x1.toFixed(1),
        y: top,
        width: Math.max(1, x2 - x1).toFixed(1),
        height: bottom - top,
      },
      s(
        'title',
        {},
        `${item.current ? 'now: ' : ''}no restorable instant within the objective from ${formatTime(item.from, now)} to ${formatTime(item.to, now)} (${formatDuration(item.to - item.from)})`,
      ),
    ),
  );

  // Roving focus: the selected mark (else the newest) is the tab stop of the whole timeline.
  const focusId = selectedId ?? layout.marks[layout.marks.length - 1]?.point.id ?? null;
  const marks = layout.marks.flatMap(({ point, x, lanes }) =>
    lanes.map((lane) => {
      const y = laneY.get(lane) ?? 0;
      const selected = point.id === selectedId;
      const waiting =
        lane === 'local' && isWaiting(point) && laneY.has('offsite')
          ? s('circle', { class: 'waiting', cx: x.toFixed(1), cy: laneY.get('offsite') ?? 0, r: 5 })
          : null;
      const focusable = lane === lanes[0];
      return [
        waiting,
        s(
          'g',
          {
            class: markClass(point, lane, selected),
            ...(focusable
              ? {
                  tabindex: point.id === focusId ? 0 : -1,
                  role: 'button',
                  'aria-label': `Restore point ${describePoint(point, now)}`,
                  'aria-pressed': selected ? 'true' : 'false',
                  'data-key': `mark-${point.id}`,
                  'data-point': point.id,
                  onkeydown: (e: Event) => onMarkKey(e as KeyboardEvent, point, handlers),
                }
              : { 'aria-hidden': 'true' }),
            onclick: () => handlers.choosePoint(point),
          },
          s('title', {}, describePoint(point, now)),
          selected ? s('circle', { class: 'ring', cx: x.toFixed(1), cy: y, r: 11 }) : null,
          point.location === 'offsite' && lane === 'offsite'
            ? s('rect', {
                x: (x - 6).toFixed(1),
                y: y - 6,
                width: 12,
                height: 12,
                rx: 2,
                transform: `rotate(45 ${x.toFixed(1)} ${y})`,
              })
            : s('circle', { cx: x.toFixed(1), cy: y, r: MARK_RADIUS }),
        ),
      ];
    }),
  );

  const axisY = bottom + 4;
  const svg = s(
    'svg',
    {
      class: 'timeline',
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      role: 'group',
      'aria-label': `Timeline of ${layout.marks.length} restore points${layout.ranges.length ? ` and ${layout.ranges.length} continuous ranges` : ''}; arrow keys move between points, Enter chooses one`,
    },
    layout.lanes.map((lane) => [
      s('line', { class: 'lane', x1: AXIS_LEFT, x2: layout.width - 10, y1: lane.y, y2: lane.y }),
      s('text', { class: 'lane-label', x: AXIS_LEFT - 10, y: lane.y + 4, 'text-anchor': 'end' }, lane.label),
    ]),
    layout.ticks.map((t) => [
      s('line', { class: 'tick', x1: t.x.toFixed(1), x2: t.x.toFixed(1), y1: top, y2: axisY }),
      // (the label of a tick next to "now" would overlap it)
      Math.abs(t.x - layout.nowX) < 50
        ? null
        : s(
            'text',
            { class: 'tick-label', x: t.x.toFixed(1), y: axisY + 14, 'text-anchor': 'middle' },
            formatTime(t.t, now, withSeconds),
          ),
    ]),
    gapRects,
    rangeRects,
    offsiteRects,
    selectedInstant !== null && selectedInstant >= layout.window.start && selectedInstant <= layout.window.end
      ? s(
          'g',
          { class: 'chosen-instant' },
          s('title', {}, `chosen instant: ${formatTime(selectedInstant, now)}`),
          s('line', {
            x1: layout.x(selectedInstant).toFixed(1),
            x2: layout.x(selectedInstant).toFixed(1),
            y1: top,
            y2: axisY,
          }),
          s('path', {
            d: `M ${(layout.x(selectedInstant) - 6).toFixed(1)} ${top - 8} h 12 l -6 8 z`,
          }),
        )
      : null,
    s('line', { class: 'now', x1: layout.nowX.toFixed(1), x2: layout.nowX.toFixed(1), y1: top, y2: axisY }),
    s(
      'text',
      { class: 'now-label', x: layout.nowX.toFixed(1), y: axisY + 14, 'text-anchor': 'middle' },
      'now',
    ),
    marks,
    layout.clusters.map((c) =>
      s(
        'text',
        { class: 'cluster', x: c.x.toFixed(1), y: top + 6, 'text-anchor': 'middle' },
        `${c.count} points`,
        s('title', {}, `${c.count} restore points too close to tell apart here: zoom in, or use the list`),
      ),
    ),
  );
  return svg;
}

function onMarkKey(e: KeyboardEvent, point: RestorePoint, handlers: TimelineHandlers): void {
  const current = e.currentTarget as SVGGElement;
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    handlers.choosePoint(point);
    return;
  }
  const delta =
    e.key === 'ArrowRight'
      ? 1
      : e.key === 'ArrowLeft'
        ? -1
        : e.key === 'End'
          ? Infinity
          : e.key === 'Home'
            ? -Infinity
            : 0;
  if (!delta) return;
  e.preventDefault();
  const all = Array.from(current.ownerSVGElement?.querySelectorAll<SVGGElement>('g[data-point]') ?? []);
  const i = all.indexOf(current);
  const next =
    all[
      Math.max(
        0,
        Math.min(all.length - 1, Number.isFinite(delta) ? i + delta : delta > 0 ? all.length - 1 : 0),
      )
    ];
  if (!next || next === current) return;
  current.setAttribute('tabindex', '-1');
  next.setAttribute('tabindex', '0');
  next.focus();
}

function instantFromClick(e: MouseEvent, layout: TimelineLayout): number {
  const svg = (e.currentTarget as SVGElement).ownerSVGElement;
  const ctm = svg?.getScreenCTM();
  if (!svg || !ctm) return layout.window.end;
  const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(ctm.inverse());
  return layout.at(p.x);
}

/** The legend: what the shapes and colours mean. */
export function renderLegend(hasRanges: boolean, hasOffsite: boolean): Child {
  const item = (cls: string, text: string) =>
    h(
      'li',
      {},
      s(
        'svg',
        { viewBox: '0 0 16 16', width: 16, height: 16, 'aria-hidden': 'true', focusable: 'false' },
        cls === 'gap'
          ? s('rect', { class: 'gap', x: 0, y: 0, width: 16, height: 16 })
          : cls.startsWith('range')
            ? s('rect', { class: cls, x: 0, y: 4, width: 16, height: 8, rx: 3 })
            : s('g', { class: `mark ${cls}` }, s('circle', { cx: 8, cy: 8, r: 6 })),
      ),
      text,
    );
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    item('reason-scheduled verified', 'scheduled'),
    item('reason-manual verified', 'manual'),
    item('reason-pre-restore verified', 'safety snapshot (before a restore)'),
    item('reason-imported verified', 'imported'),
    item('reason-unknown unverified', 'never verified'),
    hasOffsite ? item('waiting', 'offsite copy waiting') : null,
    hasRanges
      ? item('reason-replication verified', 'chain base (a snapshot replication replays from)')
      : null,
    hasRanges ? item('range', 'continuous range: any instant') : null,
    hasRanges && hasOffsite ? item('range offsite', "the bucket's copy of a range") : null,
    item('gap', 'older than the objective: a loss here costs more'),
  );
}

export function rangeSummary(r: RestorableRange, now: number): string {
  return `${r.live ? 'live' : 'ended'} range ${r.id}: ${formatTime(r.from, now)} to ${r.live ? 'now' : formatTime(r.to, now)}`;
}
