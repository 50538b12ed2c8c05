import type { RestoreAnswer } from './model';
import {
  IDLE,
  instantMs,
  instantTarget,
  nextRestoreState,
  RestoreEvent,
  RestoreState,
  restorePath,
} from './restore-flow';

const answer = (over: Partial<RestoreAnswer> = {}): RestoreAnswer => ({
  restored: { id: 'app-1795341600', createdAt: 0, rows: 3 },
  mode: 'online',
  dryRun: false,
  rowsBefore: 7,
  rowsAfter: 3,
  durationMs: 12,
  safetySnapshot: 'app-1795341700',
  notes: [],
  pointInTime: null,
  ...over,
});
const point = { kind: 'point', id: 'app-1795341600' } as const;
const refused = {
  statusCode: 422,
  code: 'BACKUP_CORRUPT',
  message: 'backup app-1795341600 failed verification',
};

function run(...events: RestoreEvent[]): RestoreState {
  return events.reduce(nextRestoreState, IDLE);
}

describe('the restore flow', () => {
  it('goes choose -> dry run -> confirm -> restored -> undo -> undone', () => {
    const dry = answer({ dryRun: true, safetySnapshot: null });
    const done = answer();
    const undo = answer({
      restored: { id: 'app-1795341700', createdAt: 0, rows: 7 },
      rowsBefore: 3,
      rowsAfter: 7,
    });
    const steps = [
      { type: 'choose', target: point },
      { type: 'dry-run' },
      { type: 'dry-run-done', answer: dry },
      { type: 'confirm' },
      { type: 'restore-done', answer: done },
      { type: 'undo' },
      { type: 'undo-done', answer: undo },
    ] as RestoreEvent[];
    const states = steps.map((_, i) => run(...steps.slice(0, i + 1)).step);
    expect(states).toEqual(['chosen', 'checking', 'checked', 'restoring', 'restored', 'undoing', 'undone']);
    expect(run(...steps)).toEqual({ step: 'undone', target: point, result: done, undo });
  });

  it('cannot confirm without a dry run, nor restore twice', () => {
    expect(run({ type: 'choose', target: point }, { type: 'confirm' }).step).toBe('chosen');
    const restoring = run(
      { type: 'choose', target: point },
      { type: 'dry-run' },
      { type: 'dry-run-done', answer: answer({ dryRun: true }) },
      { type: 'confirm' },
    );
    expect(nextRestoreState(restoring, { type: 'confirm' })).toBe(restoring);
    // Nor choose another point or cancel while a request is in flight.
    expect(nextRestoreState(restoring, { type: 'choose', target: { kind: 'latest' } })).toBe(restoring);
    expect(nextRestoreState(restoring, { type: 'cancel' })).toBe(restoring);
  });

  it('keeps the refusal with the step that failed, and lets the dry run be tried again', () => {
    const failed = run(
      { type: 'choose', target: point },
      { type: 'dry-run' },
      { type: 'failed', error: refused },
    );
    expect(failed).toEqual({ step: 'failed', target: point, during: 'dry-run', error: refused });
    expect(nextRestoreState(failed, { type: 'dry-run' }).step).toBe('checking');
    expect(nextRestoreState(failed, { type: 'confirm' })).toBe(failed);
    expect(nextRestoreState(failed, { type: 'cancel' })).toBe(IDLE);
  });

  it('has no undo without a safety snapshot, and keeps the restore when the undo fails', () => {
    const noSnapshot = run(
      { type: 'choose', target: point },
      { type: 'dry-run' },
      { type: 'dry-run-done', answer: answer({ dryRun: true }) },
      { type: 'confirm' },
      { type: 'restore-done', answer: answer({ safetySnapshot: null }) },
    );
    expect(nextRestoreState(noSnapshot, { type: 'undo' })).toBe(noSnapshot);

    const undoFailed = run(
      { type: 'choose', target: point },
      { type: 'dry-run' },
      { type: 'dry-run-done', answer: answer({ dryRun: true }) },
      { type: 'confirm' },
      { type: 'restore-done', answer: answer() },
      { type: 'undo' },
      {
        type: 'failed',
        error: { statusCode: 409, code: 'BACKUP_IN_PROGRESS', message: 'a backup is already running' },
      },
    );
    expect(undoFailed).toMatchObject({ step: 'failed', during: 'undo', result: answer() });
    expect(nextRestoreState(undoFailed, { type: 'undo' }).step).toBe('undoing');
  });
});

describe('restorePath', () => {
  it('names a point, the newest instant, or an instant, and never a token', () => {
    expect(restorePath(point, true)).toBe('/restore/app-1795341600?dry_run=true');
    expect(restorePath(point, false)).toBe('/restore/app-1795341600');
    expect(restorePath({ kind: 'latest' }, false)).toBe('/restore/latest');
    expect(restorePath({ kind: 'instant', at: '2026-11-22T10:15:00+01:00' }, true)).toBe(
      '/restore?at=2026-11-22T10%3A15%3A00%2B01%3A00&dry_run=true',
    );
  });

  it('keeps an id that is not one inside its path segment (the agent answers 400)', () => {
    expect(restorePath({ kind: 'point', id: '../../etc/passwd' }, false)).toBe(
      '/restore/..%2F..%2Fetc%2Fpasswd',
    );
  });
});

describe('instantTarget', () => {
  it('takes ISO-8601 with a zone, or unix seconds, as the agent does', () => {
    for (const at of ['2026-11-22T10:15:00Z', '2026-11-22T10:15:00.250+01:00', ' 1795341600 ']) {
      expect(instantTarget(at)).toEqual({ kind: 'instant', at: at.trim() });
    }
  });

  it('refuses a time without a zone, a date alone and words, saying how to write it', () => {
    for (const text of ['2026-11-22T10:15:00', '2026-11-22', 'yesterday', '12']) {
      expect(instantTarget(text)).toMatch(/is not an instant: write it in ISO-8601 with a zone/);
    }
    expect(instantTarget('  ')).toMatch(/^Write an instant first/);
  });
});

describe('instantMs', () => {
  it('reads what instantTarget accepts', () => {
    expect(instantMs('1795341600')).toBe(1795341600_000);
    expect(instantMs('2026-11-22T10:15:00+01:00')).toBe(Date.parse('2026-11-22T09:15:00Z'));
    expect(instantMs('soon')).toBeNull();
  });
});
