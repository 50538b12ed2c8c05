import { Child, h } from './dom';
import { formatAge, formatBytes, formatRows, formatTime } from './format';
import type { RestorePoint } from './model';
import { REASON_WORDS } from './view-timeline';

function where(p: RestorePoint): string {
  const place =
    p.location === 'both' ? 'local + offsite' : p.location === 'offsite' ? 'offsite only' : 'local';
  if (!p.offsite || p.location !== 'local') return place;
  if (p.offsite.state === 'pending') return `${place}, upload waits`;
  if (p.offsite.state === 'failed') return `${place}, upload retried`;
  return place;
}

function verifiedText(p: RestorePoint): string {
  return p.verified === true ? 'yes' : p.verified === false ? 'failed' : 'never';
}

/** The restore points as a table, newest first: the keyboard's way to choose one. */
export function renderPointsTable(
  points: readonly RestorePoint[],
  hiddenBefore: number,
  now: number,
  selectedId: string | null,
  choose: (p: RestorePoint) => void,
  showAll: () => void,
): Child {
  if (points.length === 0 && hiddenBefore === 0) {
    return h('p', { class: 'empty' }, 'No restore point yet. "Back up now" takes the first one.');
  }
  return [
    h(
      'table',
      { class: 'points' },
      h('caption', { class: 'visually-hidden' }, 'Restore points, newest first'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Taken', 'Age', 'Rows', 'Size', 'Kind', 'Where', 'Verified', ''].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        points.map((p) => {
          const selected = p.id === selectedId;
          const note = p.note
            ? h('tr', { class: `note${selected ? ' selected' : ''}` }, h('td', { colspan: 8 }, p.note))
            : null;
          const row = h(
            'tr',
            { class: `${selected ? 'selected' : ''}${p.note ? ' has-note' : ''}`, 'data-point': p.id },
            h(
              'td',
              {},
              h('span', { class: 'time' }, formatTime(p.createdAt, now)),
              h('span', { class: 'id' }, p.id),
            ),
            h('td', { class: 'age' }, formatAge(now - p.createdAt)),
            h('td', { class: 'num' }, formatRows(p.rows)),
            h('td', { class: 'num' }, formatBytes(p.size)),
            h('td', {}, h('span', { class: `tag reason-${p.reason}` }, REASON_WORDS[p.reason])),
            h('td', {}, where(p)),
            h('td', { class: p.verified === true ? 'ok' : 'bad' }, verifiedText(p)),
            h(
              'td',
              {},
              h(
                'button',
                {
                  type: 'button',
                  class: selected ? 'small chosen' : 'small',
                  'data-key': `choose-${p.id}`,
                  'aria-pressed': selected ? 'true' : 'false',
                  'aria-label': `Choose ${p.id}, taken ${formatTime(p.createdAt, now)}, ${formatRows(p.rows)}`,
                  onclick: () => choose(p),
                },
                selected ? 'Chosen' : 'Choose',
              ),
            ),
          );
          return [row, note];
        }),
      ),
    ),
    hiddenBefore > 0
      ? h(
          'p',
          { class: 'muted small' },
          `${hiddenBefore} older ${hiddenBefore === 1 ? 'point is' : 'points are'} outside this window. `,
          h(
            'button',
            { type: 'button', class: 'link', 'data-key': 'show-all', onclick: showAll },
            'Show everything',
          ),
        )
      : null,
  ];
}
