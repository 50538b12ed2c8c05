/**
 * The restore flow as a small state machine: pick a point (or an instant), see what a dry run says,
 * confirm, see the result with an undo. Pure and unit-tested; the view draws the state it is in and
 * sends it events.
 */
import type { ApiErrorBody, RestoreAnswer } from './model';

/** What is to be restored. */
export type RestoreTarget =
  | { readonly kind: 'point'; readonly id: string }
  | { readonly kind: 'instant'; readonly at: string }
  | { readonly kind: 'latest' };

export type RestoreState =
  | { readonly step: 'idle' }
  | { readonly step: 'chosen'; readonly target: RestoreTarget }
  | { readonly step: 'checking'; readonly target: RestoreTarget }
  | { readonly step: 'checked'; readonly target: RestoreTarget; readonly dryRun: RestoreAnswer }
  | { readonly step: 'restoring'; readonly target: RestoreTarget; readonly dryRun: RestoreAnswer }
  | { readonly step: 'restored'; readonly target: RestoreTarget; readonly result: RestoreAnswer }
  | { readonly step: 'undoing'; readonly target: RestoreTarget; readonly result: RestoreAnswer }
  | {
      readonly step: 'undone';
      readonly target: RestoreTarget;
      readonly result: RestoreAnswer;
      readonly undo: RestoreAnswer;
    }
  | {
      readonly step: 'failed';
      readonly target: RestoreTarget;
      /** Which request failed. */
      readonly during: 'dry-run' | 'restore' | 'undo';
      readonly error: ApiErrorBody;
      /** Kept when the undo failed: the restore itself happened. */
      readonly result?: RestoreAnswer;
    };

export type RestoreEvent =
  | { readonly type: 'choose'; readonly target: RestoreTarget }
  | { readonly type: 'cancel' }
  | { readonly type: 'dry-run' }
  | { readonly type: 'dry-run-done'; readonly answer: RestoreAnswer }
  | { readonly type: 'confirm' }
  | { readonly type: 'restore-done'; readonly answer: RestoreAnswer }
  | { readonly type: 'undo' }
  | { readonly type: 'undo-done'; readonly answer: RestoreAnswer }
  | { readonly type: 'failed'; readonly error: ApiErrorBody };

export const IDLE: RestoreState = { step: 'idle' };

/**
 * The next state. An event that does not fit the current state changes nothing (a double click on
 * "Restore" cannot start two restores; a poll that re-renders cannot skip the dry run).
 */
export function nextRestoreState(state: RestoreState, event: RestoreEvent): RestoreState {
  switch (event.type) {
    case 'choose':
      return isBusy(state) ? state : { step: 'chosen', target: event.target };
    case 'cancel':
      return isBusy(state) ? state : IDLE;
    case 'dry-run':
      return state.step === 'chosen' || (state.step === 'failed' && state.during === 'dry-run')
        ? { step: 'checking', target: state.target }
        : state;
    case 'dry-run-done':
      return state.step === 'checking'
        ? { step: 'checked', target: state.target, dryRun: event.answer }
        : state;
    case 'confirm':
      return state.step === 'checked'
        ? { step: 'restoring', target: state.target, dryRun: state.dryRun }
        : state;
    case 'restore-done':
      return state.step === 'restoring'
        ? { step: 'restored', target: state.target, result: event.answer }
        : state;
    case 'undo':
      if (state.step === 'restored' && state.result.safetySnapshot) {
        return { step: 'undoing', target: state.target, result: state.result };
      }
      if (state.step === 'failed' && state.during === 'undo' && state.result) {
        return { step: 'undoing', target: state.target, result: state.result };
      }
      return state;
    case 'undo-done':
      return state.step === 'undoing'
        ? { step: 'undone', target: state.target, result: state.result, undo: event.answer }
        : state;
    case 'failed':
      if (state.step === 'checking')
        return { step: 'failed', target: state.target, during: 'dry-run', error: event.error };
      if (state.step === 'restoring')
        return { step: 'failed', target: state.target, during: 'restore', error: event.error };
      if (state.step === 'undoing') {
        return {
          step: 'failed',
          target: state.target,
          during: 'undo',
          error: event.error,
          result: state.result,
        };
      }
      return state;
  }
}

/** A request is in flight: the choice cannot change under it. */
export function isBusy(state: RestoreState): boolean {
  return state.step === 'checking' || state.step === 'restoring' || state.step === 'undoing';
}

/** The agent's route for a target: `/restore/<id>`, `/restore/latest` or `/restore?at=<instant>`. */
export function restorePath(target: RestoreTarget, dryRun: boolean): string {
  const query = new URLSearchParams();
  let path: string;
  if (target.kind === 'point') path = `/restore/${encodeURIComponent(target.id)}`;
  else if (target.kind === 'latest') path = '/restore/latest';
  else {
    path = '/restore';
    query.set('at', target.at);
  }
  if (dryRun) query.set('dry_run', 'true');
  const q = query.toString();
  return q ? `${path}?${q}` : path;
}

/**
 * An instant typed by a person, as the agent accepts it (ISO-8601 with a zone, or unix seconds), or
 * the sentence that says what is wrong with it. A time without a zone is refused rather than
 * guessed: the browser's zone and the agent's may differ.
 */
export function instantTarget(text: string): RestoreTarget | string {
  const value = text.trim();
  const unix = /^\d{9,11}$/.test(value);
  const zoned = /^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:?\d\d)$/i.test(value) && !Number.isNaN(Date.parse(value));
  if (unix || zoned) return { kind: 'instant', at: value };
  return value === ''
    ? 'Write an instant first: ISO-8601 with a zone, like 2026-11-22T10:15:00Z, or unix seconds.'
    : `"${value.slice(0, 60)}" is not an instant: write it in ISO-8601 with a zone, like 2026-11-22T10:15:00Z, or in unix seconds.`;
}

/** An instant as the agent reads it (ISO-8601, or unix seconds), in ms; null when unreadable. */
export function instantMs(at: string): number | null {
  if (/^\d{9,11}$/.test(at)) return Number(at) * 1000;
  const t = Date.parse(at);
  return Number.isNaN(t) ? null : t;
}

/** The target in words, for headings and buttons. */
export function describeTarget(target: RestoreTarget): string {
  if (target.kind === 'point') return target.id;
  if (target.kind === 'latest') return 'the newest restorable instant';
  return `the instant ${target.at}`;
}

export function sameTarget(a: RestoreTarget | null, b: RestoreTarget | null): boolean {
  if (!a || !b || a.kind !== b.kind) return false;
  if (a.kind === 'point' && b.kind === 'point') return a.id === b.id;
  if (a.kind === 'instant' && b.kind === 'instant') return a.at === b.at;
  return true;
}

export function targetOf(state: RestoreState): RestoreTarget | null {
  return state.step === 'idle' ? null : state.target;
}
