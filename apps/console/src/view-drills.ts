import { Child, h, s } from './dom';
import { formatDuration, formatTime } from './format';
import type { DrillSummary } from './model';

/** Bars for one run: RTO (first read, first write) and RPO on one time scale, lost writes apart. */
function chart(d: DrillSummary, now: number): SVGElement {
  const o = d.objectives;
  const bars: { label: string; ms: number | null; objectiveMs: number | null; cls: string }[] = [
    {
      label: 'RTO read',
      ms: d.rtoReadMs,
      objectiveMs: o.rtoSeconds !== undefined ? o.rtoSeconds * 1000 : null,
      cls: 'rto',
    },
    { label: 'RTO write', ms: d.rtoWriteMs, objectiveMs: null, cls: 'rto' },
    {
      label: 'RPO',
      ms: d.rpoMs,
      objectiveMs: o.rpoSeconds !== undefined ? o.rpoSeconds * 1000 : null,
      cls: 'rpo',
    },
  ];
  const scale = Math.max(1000, ...bars.map((b) => Math.max(b.ms ?? 0, b.objectiveMs ?? 0))) * 1.1;
  const left = 70;
  const width = 230;
  const row = 20;
  const lostY = bars.length * row + 6;
  const lostShare = d.acknowledged > 0 ? d.lost / d.acknowledged : 0;
  return s(
    'svg',
    {
      class: 'drill-chart',
      viewBox: `0 0 ${left + width + 70} ${lostY + row}`,
      role: 'img',
      'aria-label': `${d.scenario} on ${d.target}, ${formatTime(d.startedAt, now)}: RTO ${fmt(d.rtoReadMs)} (first read), ${fmt(d.rtoWriteMs)} (first write), RPO ${fmt(d.rpoMs)}, ${d.lost} of ${d.acknowledged} acknowledged writes lost`,
    },
    bars.map((b, i) => {
      const y = i * row;
      const w = b.ms === null ? 0 : Math.max(1, (b.ms / scale) * width);
      return [
        s('text', { class: 'label', x: left - 6, y: y + 13, 'text-anchor': 'end' }, b.label),
        s('rect', { class: `bar ${b.cls}`, x: left, y: y + 3, width: w.toFixed(1), height: 12, rx: 2 }),
        s('text', { class: 'value', x: (left + w + 5).toFixed(1), y: y + 13 }, fmt(b.ms)),
        b.objectiveMs !== null
          ? s('line', {
              class: 'objective',
              x1: (left + (b.objectiveMs / scale) * width).toFixed(1),
              x2: (left + (b.objectiveMs / scale) * width).toFixed(1),
              y1: y + 1,
              y2: y + 17,
            })
          : null,
      ];
    }),
    s('text', { class: 'label', x: left - 6, y: lostY + 13, 'text-anchor': 'end' }, 'lost'),
    s('rect', { class: 'bar track', x: left, y: lostY + 3, width, height: 12, rx: 2 }),
    s('rect', {
      class: `bar ${d.lost ? 'lost' : 'kept'}`,
      x: left,
      y: lostY + 3,
      width: (d.lost ? Math.max(2, lostShare * width) : width).toFixed(1),
      height: 12,
      rx: 2,
    }),
    s('text', { class: 'value', x: left + width + 5, y: lostY + 13 }, `${d.lost} / ${d.acknowledged}`),
  );
}

function fmt(ms: number | null): string {
  return ms === null ? 'n/a' : formatDuration(ms);
}

export function renderDrills(drills: readonly DrillSummary[] | null, now: number): Child {
  if (drills === null) return h('p', { class: 'muted' }, 'This agent does not list drill reports.');
  if (drills.length === 0) {
    return h(
      'p',
      { class: 'empty' },
      'No drill report here yet. Run ',
      h('code', {}, 'make drill-pra'),
      ' or ',
      h('code', {}, 'make drill-pca'),
      ': the agent lists the reports of DRILL_REPORTS_DIR (make dev sets it to var/drills).',
    );
  }
  return h(
    'ul',
    { class: 'drills' },
    drills.map((d) =>
      h(
        'li',
        { class: 'drill' },
        h(
          'p',
          { class: 'drill-title' },
          h('strong', {}, `${d.scenario}${d.kind ? ` (${d.kind})` : ''}`),
          ` on ${d.target}`,
          h('span', { class: `pill ${d.passed ? 'ok' : 'failing'}` }, d.passed ? 'passed' : 'failed'),
        ),
        h('p', { class: 'muted small' }, `${formatTime(d.startedAt, now)} · ${d.name}`),
        chart(d, now),
        d.timelineSvg
          ? h(
              'a',
              {
                class: 'drill-timeline',
                href: `/drills/${encodeURIComponent(d.name)}/timeline.svg`,
                target: '_blank',
                rel: 'noopener',
              },
              h('img', {
                src: `/drills/${encodeURIComponent(d.name)}/timeline.svg`,
                alt: `Timeline of the ${d.scenario} drill: writes kept, lost and refused, the fault, the restore, the first read and write`,
                loading: 'lazy',
              }),
            )
          : null,
      ),
    ),
  );
}
