import { Child, h } from './dom';
import { formatAge, formatBytes, formatDuration, formatRows, formatTime } from './format';
import type { ApiErrorBody, RestorableRange, RestoreAnswer, RestorePoint } from './model';
import { describeTarget, RestoreState, RestoreTarget } from './restore-flow';
import { REASON_WORDS } from './view-timeline';

export interface RestoreHandlers {
  dryRun(): void;
  confirm(): void;
  cancel(): void;
  undo(): void;
  chooseInstant(text: string): void;
  chooseLatest(): void;
}

/** What a person should do about an error, after the agent's own sentence. */
export function adviceFor(error: ApiErrorBody): string | null {
  switch (error.statusCode) {
    case 0:
      return null;
    case 401:
      return 'The token is needed for this: it is asked for again on the next try.';
    case 409:
      return 'Nothing was changed. Try again in a moment.';
    case 422:
      return 'Nothing was changed. Choose another restore point.';
    case 507:
      return 'Nothing was changed. Free space on the backup volume (fewer backups kept, or a larger volume), then retry.';
    default:
      return error.statusCode >= 500 ? 'Nothing should have changed: check the agent log.' : null;
  }
}

export function renderError(error: ApiErrorBody, title: string): HTMLElement {
  const advice = adviceFor(error);
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('p', { class: 'error-title' }, title),
    h('p', { class: 'error-message' }, error.message),
    h(
      'p',
      { class: 'error-code' },
      error.statusCode ? `${error.statusCode} ${error.code}` : error.code,
      advice ? ` · ${advice}` : '',
    ),
  );
}

/** A step's heading; the focus goes there after the step, so its outcome is read first. */
function step(title: string): HTMLElement {
  return h('h3', { tabindex: -1 }, title);
}

function progress(text: string): HTMLElement {
  return h(
    'div',
    { class: 'busy', role: 'status' },
    h('progress', { 'aria-label': text }),
    h('span', {}, text),
  );
}

function button(label: string, onclick: () => void, cls = '', key?: string): HTMLButtonElement {
  return h('button', { type: 'button', class: cls, 'data-key': key ?? `btn-${label}`, onclick }, label);
}

function pointDetails(target: RestoreTarget, points: readonly RestorePoint[], now: number): Child {
  if (target.kind !== 'point') {
    return h(
      'p',
      { class: 'target' },
      target.kind === 'latest' ? 'The newest restorable instant' : `The database as it stood at ${target.at}`,
    );
  }
  const p = points.find((x) => x.id === target.id);
  if (!p) return h('p', { class: 'target' }, `${target.id} (no longer listed)`);
  return h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Point'),
    h('dd', {}, h('strong', {}, p.id)),
    h('dt', {}, 'Taken'),
    h('dd', {}, `${formatTime(p.createdAt, now)}, ${formatAge(now - p.createdAt)}`),
    h('dt', {}, 'Holds'),
    h('dd', {}, `${formatRows(p.rows)}, ${formatBytes(p.size)}`),
    h('dt', {}, 'Kind'),
    h('dd', {}, `${REASON_WORDS[p.reason]}, ${p.verified === true ? 'verified' : 'not verified'}`),
  );
}

function rowsChange(before: number | null, after: number | null): string {
  if (before === null || after === null) return '';
  const d = after - before;
  return d === 0
    ? ' (the same count)'
    : ` (${Math.abs(d).toLocaleString('en-US')} ${d < 0 ? 'fewer' : 'more'})`;
}

function whatHappens(a: RestoreAnswer): Child {
  return h(
    'dl',
    { class: 'facts outcome' },
    h('dt', {}, 'Rows now'),
    h(
      'dd',
      { 'data-field': 'rows-before' },
      a.rowsBefore === null ? 'no database' : a.rowsBefore.toLocaleString('en-US'),
    ),
    h('dt', {}, 'After the restore'),
    h(
      'dd',
      { 'data-field': 'rows-after' },
      a.rowsAfter === null ? 'unknown' : a.rowsAfter.toLocaleString('en-US'),
      rowsChange(a.rowsBefore, a.rowsAfter),
    ),
    h('dt', {}, 'How'),
    h(
      'dd',
      { 'data-field': 'mode' },
      a.mode === 'online'
        ? 'online: the API keeps serving; readers see the old data until the restore commits'
        : 'offline: the database file is replaced (nothing is serving it)',
    ),
    a.pointInTime
      ? [
          h('dt', {}, 'Replays'),
          h(
            'dd',
            {},
            `${a.pointInTime.transactions ?? '?'} transactions`,
            a.pointInTime.targetTime ? `, the last one committed at ${a.pointInTime.targetTime}` : '',
          ),
        ]
      : null,
  );
}

function notes(a: RestoreAnswer): Child {
  return a.notes.length
    ? h(
        'ul',
        { class: 'notes' },
        a.notes.map((n) => h('li', {}, n)),
      )
    : null;
}

function instantForm(ranges: readonly RestorableRange[], handlers: RestoreHandlers, now: number): Child {
  if (ranges.length === 0) return null;
  const input = h('input', {
    id: 'instant',
    name: 'instant',
    'data-key': 'instant',
    type: 'text',
    inputmode: 'text',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: new Date(now).toISOString().replace(/\.\d+Z$/, 'Z'),
    'aria-describedby': 'instant-hint',
  });
  return h(
    'form',
    {
      class: 'instant',
      onsubmit: (e: Event) => {
        e.preventDefault();
        handlers.chooseInstant(input.value);
      },
    },
    h('label', { for: 'instant' }, 'Or an instant in a continuous range'),
    h(
      'div',
      { class: 'row' },
      input,
      h('button', { type: 'submit', 'data-key': 'choose-instant' }, 'Choose'),
    ),
    h(
      'p',
      { id: 'instant-hint', class: 'hint' },
      'ISO-8601 with a zone (2026-11-22T10:15:00Z) or unix seconds; or click a range on the timeline.',
    ),
    button('Newest restorable instant', handlers.chooseLatest, 'link', 'choose-latest'),
  );
}

/** The restore panel: one step of the flow at a time. */
export function renderRestore(
  state: RestoreState,
  points: readonly RestorePoint[],
  ranges: readonly RestorableRange[],
  now: number,
  handlers: RestoreHandlers,
  instantError: string | null,
): Child {
  switch (state.step) {
    case 'idle':
      return [
        h('p', { class: 'muted' }, 'Choose a restore point on the timeline or in the list.'),
        instantForm(ranges, handlers, now),
        instantError ? h('p', { class: 'field-error', role: 'alert' }, instantError) : null,
      ];
    case 'chosen':
      return [
        step('1. Check it'),
        pointDetails(state.target, points, now),
        h(
          'p',
          {},
          'A dry run verifies the backup (checksum and integrity) and says what the restore would do. Nothing changes.',
        ),
        h(
          'div',
          { class: 'buttons' },
          button('Dry run', handlers.dryRun, 'primary', 'dry-run'),
          button('Cancel', handlers.cancel, '', 'cancel'),
        ),
      ];
    case 'checking':
      return [pointDetails(state.target, points, now), progress(`Checking ${describeTarget(state.target)}…`)];
    case 'checked':
      return [
        step('2. What will happen'),
        pointDetails(state.target, points, now),
        whatHappens(state.dryRun),
        notes(state.dryRun),
        state.dryRun.rowsBefore !== null
          ? h('p', {}, 'The safety snapshot taken first holds the current data: the restore can be undone.')
          : null,
        h(
          'div',
          { class: 'buttons' },
          button(`Restore ${describeTarget(state.target)}`, handlers.confirm, 'danger', 'confirm'),
          button('Cancel', handlers.cancel, '', 'cancel'),
        ),
      ];
    case 'restoring':
      return [
        pointDetails(state.target, points, now),
        progress(`Restoring ${describeTarget(state.target)}…`),
      ];
    case 'restored': {
      const r = state.result;
      return [
        step('3. Done'),
        h(
          'div',
          { class: 'success', role: 'status' },
          h(
            'p',
            {},
            h(
              'strong',
              {},
              r.pointInTime ? `Restored the state at ${r.pointInTime.at}` : `Restored ${r.restored.id}`,
            ),
            ` in ${formatDuration(r.durationMs ?? 0)}: `,
            `${r.rowsBefore ?? 'no database'} → ${r.rowsAfter ?? '?'} rows.`,
          ),
          r.pointInTime
            ? h(
                'p',
                {},
                `From the snapshot ${r.restored.id}, with ${r.pointInTime.transactions ?? '?'} transactions replayed.`,
              )
            : null,
          r.safetySnapshot
            ? h('p', {}, `The safety snapshot ${r.safetySnapshot} holds the state just before.`)
            : h('p', {}, 'There was no database to snapshot: nothing to undo.'),
        ),
        notes(r),
        h(
          'div',
          { class: 'buttons' },
          r.safetySnapshot ? button(`Undo: restore ${r.safetySnapshot}`, handlers.undo, '', 'undo') : null,
          button('Done', handlers.cancel, 'primary', 'done'),
        ),
      ];
    }
    case 'undoing':
      return [progress(`Undoing: restoring ${state.result.safetySnapshot}…`)];
    case 'undone': {
      const u = state.undo;
      return [
        step('Undone'),
        h(
          'div',
          { class: 'success', role: 'status' },
          h(
            'p',
            {},
            h('strong', {}, `Undone: ${u.restored.id} restored`),
            `, ${u.rowsBefore ?? '?'} → ${u.rowsAfter ?? '?'} rows.`,
          ),
          u.safetySnapshot ? h('p', {}, `The state you undid is kept too, as ${u.safetySnapshot}.`) : null,
        ),
        h('div', { class: 'buttons' }, button('Done', handlers.cancel, 'primary', 'done')),
      ];
    }
    case 'failed': {
      const title =
        state.during === 'dry-run'
          ? `The dry run of ${describeTarget(state.target)} was refused`
          : state.during === 'restore'
            ? `The restore of ${describeTarget(state.target)} failed`
            : 'The undo failed';
      return [
        step(state.during === 'undo' ? 'Undo failed' : 'Refused'),
        pointDetails(state.target, points, now),
        renderError(state.error, title),
        h(
          'div',
          { class: 'buttons' },
          state.during === 'dry-run' ? button('Try the dry run again', handlers.dryRun, '', 'dry-run') : null,
          state.during === 'undo' ? button('Try the undo again', handlers.undo, '', 'undo') : null,
          button('Choose another point', handlers.cancel, 'primary', 'cancel'),
        ),
      ];
    }
  }
}
