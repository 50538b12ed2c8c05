import {
  backupFileName,
  compareBackupIds,
  formatBackupId,
  InvalidBackupIdError,
  normalizeBackupId,
  parseBackupId,
} from './backup-id';

describe('backup ids', () => {
  it('accepts the workshop naming with or without .db', () => {
    expect(parseBackupId('app-1772098321')).toEqual({ id: 'app-1772098321', seconds: 1772098321, seq: 1 });
    expect(parseBackupId('app-1772098321.db')).toEqual({ id: 'app-1772098321', seconds: 1772098321, seq: 1 });
    expect(parseBackupId('app-1772098321-3.db')).toEqual({
      id: 'app-1772098321-3',
      seconds: 1772098321,
      seq: 3,
    });
  });

  it.each([
    '../../etc/passwd',
    '%2e%2e',
    '..',
    '',
    'app-',
    'app-abc',
    'app-1772098321/../x',
    'app-1772098321.db.json',
    'app-1772098321-1',
    'app-1772098321-0',
    'APP-1772098321',
    ' app-1772098321',
    'app-1772098321\u0000',
    'app-17720983211234',
    'latest',
    'x'.repeat(500),
  ])('rejects %j', (input) => {
    expect(parseBackupId(input)).toBeNull();
    expect(() => normalizeBackupId(input)).toThrow(InvalidBackupIdError);
  });

  it('formats ids and file names that parse back', () => {
    expect(formatBackupId(1772098321)).toBe('app-1772098321');
    expect(formatBackupId(1772098321, 2)).toBe('app-1772098321-2');
    expect(backupFileName('app-1772098321-2')).toBe('app-1772098321-2.db');
    expect(() => formatBackupId(1772098321, 0)).toThrow(RangeError);
    expect(() => formatBackupId(1.5)).toThrow(RangeError);
  });

  it('sorts chronologically, sequence breaking ties', () => {
    const ids = ['app-1772098400', 'app-1772098321-2', 'app-1772098321', 'app-1772098321-10'];
    expect([...ids].sort(compareBackupIds)).toEqual([
      'app-1772098321',
      'app-1772098321-2',
      'app-1772098321-10',
      'app-1772098400',
    ]);
  });
});
