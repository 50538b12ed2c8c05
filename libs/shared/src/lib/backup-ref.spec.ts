import { InvalidBackupIdError } from './backup-id';
import { BackupManifest } from './backup-manifest';
import {
  backupRefArgs,
  formatBackupRef,
  InvalidInstantError,
  isLatestCandidate,
  LATEST,
  parseBackupRef,
  parseInstant,
  restorePathOf,
} from './backup-ref';

describe('parseBackupRef', () => {
  it.each([undefined, null, '', 'latest'])('%j means the newest verified backup', (input) => {
    expect(parseBackupRef(input)).toEqual({ kind: 'latest' });
  });

  it('reads an id with or without .db, in its canonical form', () => {
    expect(parseBackupRef('app-1795306644')).toEqual({ kind: 'id', id: 'app-1795306644' });
    expect(parseBackupRef('app-1795306644-2.db')).toEqual({ kind: 'id', id: 'app-1795306644-2' });
  });

  it.each(['../../etc/passwd', 'LATEST', ' latest', 'app-1', '2026-11-22T09:30:00Z', '1795339800'])(
    'refuses %j before anything touches the disk',
    (input) => {
      expect(() => parseBackupRef(input)).toThrow(InvalidBackupIdError);
    },
  );
});

describe('parseInstant', () => {
  it.each([
    ['2026-11-22T09:30:00Z', '2026-11-22T09:30:00.000Z'],
    ['2026-11-22T09:30Z', '2026-11-22T09:30:00.000Z'],
    ['2026-11-22T09:30:00.25Z', '2026-11-22T09:30:00.250Z'],
    ['2026-11-22T10:30:00+01:00', '2026-11-22T09:30:00.000Z'],
    ['2026-11-22T04:00:00-05:30', '2026-11-22T09:30:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['1795339800', '2026-11-22T09:30:00.000Z'],
    ['1795339800.5', '2026-11-22T09:30:00.500Z'],
    ['0', '1970-01-01T00:00:00.000Z'],
  ])('reads %s', (input, iso) => {
    expect(parseInstant(input).toISOString()).toBe(iso);
  });

  it.each([
    '',
    'now',
    'latest',
    '2026-11-22',
    '2026-11-22T09:30:00', // no zone: a guess
    '2026-11-22 09:30:00Z',
    '2026-02-30T00:00:00Z', // not in the calendar
    '2025-02-29T00:00:00Z',
    '2026-11-22T24:00:00Z',
    '2026-11-22T09:60:00Z',
    '2026-11-22T09:30:00+1:00',
    '2026-11-22T09:30:00+01:60',
    '-1795339800',
    '1795339800.',
    '1e9',
    ' 1795339800',
  ])('refuses %j with a message that says the accepted forms', (input) => {
    let error: unknown = null;
    try {
      parseInstant(input);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidInstantError);
    expect(error).toMatchObject({ code: 'INVALID_INSTANT' });
    expect((error as Error).message).toMatch(/ISO-8601 .* with its zone .* or unix seconds/);
  });
});

describe('the text forms of a ref', () => {
  const at = new Date('2026-11-22T09:30:00.250Z');

  it('formatBackupRef gives what parses back', () => {
    expect(formatBackupRef(LATEST)).toBe('latest');
    expect(parseBackupRef(formatBackupRef(LATEST))).toEqual(LATEST);
    const id = { kind: 'id', id: 'app-1795306644-2' } as const;
    expect(parseBackupRef(formatBackupRef(id))).toEqual(id);
    expect(parseInstant(formatBackupRef({ kind: 'at', at })).getTime()).toBe(at.getTime());
  });

  it('names each ref on the agent CLI and HTTP API', () => {
    expect(backupRefArgs(LATEST)).toEqual(['--latest']);
    expect(backupRefArgs({ kind: 'id', id: 'app-1795306644' })).toEqual(['--id', 'app-1795306644']);
    expect(backupRefArgs({ kind: 'at', at })).toEqual(['--at', '2026-11-22T09:30:00.250Z']);
    expect(restorePathOf(LATEST)).toBe('/restore/latest');
    expect(restorePathOf({ kind: 'id', id: 'app-1795306644' })).toBe('/restore/app-1795306644');
    expect(restorePathOf({ kind: 'at', at })).toBe('/restore?at=2026-11-22T09%3A30%3A00.250Z');
  });
});

describe('isLatestCandidate', () => {
  const manifest = (reason: BackupManifest['reason'], ok: boolean) =>
    ({ reason, verification: { mode: 'quick', ok, checked_at: '' } }) as unknown as BackupManifest;

  it('is a verified backup that is not a safety snapshot', () => {
    expect(isLatestCandidate(manifest('scheduled', true))).toBe(true);
    expect(isLatestCandidate(manifest('manual', true))).toBe(true);
    expect(isLatestCandidate(manifest('imported', true))).toBe(true);
    expect(isLatestCandidate(manifest('pre-restore', true))).toBe(false);
    expect(isLatestCandidate(manifest('scheduled', false))).toBe(false);
    expect(isLatestCandidate(null)).toBe(false);
  });
});
