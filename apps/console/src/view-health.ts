import { Child, h, s } from './dom';
import { formatBytes, formatDuration } from './format';
import type { HealthView } from './health';

const STATUS_WORDS = { ok: 'OK', degraded: 'Degraded', failing: 'Failing' } as const;

/** The line at the top: a status word and the sentence that explains it. */
export function renderStatusLine(health: HealthView | null, loadError: string | null): Child {
  if (loadError) {
    return [h('span', { class: 'pill failing' }, 'No answer'), h('span', { class: 'summary' }, loadError)];
  }
  if (!health) return h('span', { class: 'summary' }, 'Connecting to the backup agent…');
  return [
    h('span', { class: `pill ${health.status}` }, STATUS_WORDS[health.status]),
    h('span', { class: 'summary' }, health.summary),
  ];
}

function card(title: string, level: string, value: Child, detail: Child, extra?: Child): HTMLElement {
  return h(
    'div',
    { class: `card ${level}`, role: 'group', 'aria-label': title },
    h('h3', {}, title),
    h('p', { class: 'value' }, value),
    extra,
    h('p', { class: 'detail' }, detail),
  );
}

/** A bar: the age against the objective, the objective marked. */
function ageBar(ratio: number, level: string): SVGElement {
  // The bar spans twice the objective: the mark in the middle is the objective.
  const filled = Math.max(0.01, Math.min(1, ratio / 2)) * 200;
  return s(
    'svg',
    { class: 'agebar', viewBox: '0 0 200 10', 'aria-hidden': 'true', focusable: 'false' },
    s('rect', { class: 'track', x: 0, y: 2, width: 200, height: 6, rx: 3 }),
    s('rect', { class: `fill ${level}`, x: 0, y: 2, width: filled.toFixed(1), height: 6, rx: 3 }),
    s('line', { class: 'objective', x1: 100, x2: 100, y1: 0, y2: 10 }),
  );
}

/** The replication chains' copy to the bucket, in words. */
function chainCopy(s: NonNullable<NonNullable<HealthView['offsite']>['segments']>): string {
  if (s.status === 'failing') return `chains: failing (${s.error ?? 'see the agent log'})`;
  const behind = s.lagMs !== null ? `, ${formatDuration(s.lagMs)} behind` : '';
  return s.pending === 0
    ? `chains: copied${behind}`
    : `chains: ${s.pending} segments waiting${s.backlogBytes !== null ? ` (${formatBytes(s.backlogBytes)})` : ''}${behind}`;
}

export function renderHealthCards(health: HealthView | null): Child {
  if (!health) return h('p', { class: 'muted' }, 'Loading…');
  const f = health.freshness;
  const objective = formatDuration(f.objectiveMs);
  const freshness = card(
    'Newest restore point',
    f.level === 'none' || f.level === 'late' ? 'bad' : f.level === 'near' ? 'warn' : 'good',
    f.ageMs === null ? 'none yet' : `${formatDuration(f.ageMs)} old`,
    f.ageMs === null
      ? `objective ${objective}: take a backup`
      : `objective ${objective}${f.ok ? '' : `: ${formatDuration(f.ageMs - f.objectiveMs)} over`}`,
    f.ratio === null ? null : ageBar(f.ratio, f.level),
  );

  const lastError = health.lastError
    ? card(
        'Last backup',
        'bad',
        'failed',
        `${health.lastError.message}${health.lastError.code ? ` (${health.lastError.code})` : ''}`,
      )
    : card('Last backup', 'good', 'no error', 'the last backup attempt succeeded');

  const o = health.offsite;
  const offsite = !o
    ? card('Offsite copies', 'off', 'off', 'no bucket configured (S3_BUCKET)')
    : card(
        'Offsite copies',
        o.status === 'failing' ? 'bad' : o.pending > 0 ? 'warn' : 'good',
        o.pending === 0 ? 'all copied' : `${o.pending} waiting`,
        [
          o.pending > 0 && o.backlogBytes !== null ? `${formatBytes(o.backlogBytes)} to upload` : null,
          o.pending > 0 && o.lagMs !== null ? `the oldest for ${formatDuration(o.lagMs)}` : null,
          o.status === 'failing' ? `failing: ${o.error ?? 'see the agent log'}` : null,
          o.pending === 0 && o.status !== 'failing' ? `status ${o.status}` : null,
          o.segments ? chainCopy(o.segments) : null,
        ]
          .filter(Boolean)
          .join('; '),
      );

  const r = health.replication;
  const replication =
    !r || !r.enabled
      ? card('Replication', 'off', 'off', 'restore points are the backups only')
      : card(
          'Replication',
          r.state === 'following' ? 'good' : 'warn',
          r.lagMs === null ? (r.state ?? 'on') : `${formatDuration(r.lagMs)} behind`,
          [r.state ? `state ${r.state}` : null, r.lastBreak ? `; last break: ${r.lastBreak}` : null],
        );

  const st = health.storage;
  const storage = !st
    ? card('Backup volume', 'off', 'unknown', 'this agent does not report its free space')
    : card('Backup volume', st.ok ? 'good' : 'bad', `${formatBytes(st.freeBytes)} free`, [
        st.totalBytes !== null ? `of ${formatBytes(st.totalBytes)}` : null,
        st.minFreeBytes !== null ? `; retention keeps ${formatBytes(st.minFreeBytes)} free` : null,
      ]);

  // (the summary at the top already says the first of them)
  const failed = health.conditions.filter((c) => !c.ok && c.message !== health.summary);
  return [
    h('div', { class: 'cards' }, freshness, lastError, offsite, replication, storage),
    failed.length
      ? h(
          'ul',
          { class: 'conditions' },
          failed.map((c) => h('li', {}, h('strong', {}, c.name), ': ', c.message)),
        )
      : null,
    health.source === 'derived'
      ? h(
          'p',
          { class: 'muted small' },
          `Worked out by the console from /ready and /backups, against the default objective of ${objective}.`,
        )
      : null,
  ];
}
