import {
  ConfigError,
  formatDuration,
  readBool,
  readDuration,
  readEnum,
  readInt,
  readPort,
  readSizeOrShare,
  readString,
} from './env';

describe('env readers', () => {
  it('returns the fallback for unset or blank values', () => {
    expect(readString({}, 'X', 'd')).toBe('d');
    expect(readString({ X: '  ' }, 'X', 'd')).toBe('d');
    expect(readInt({}, 'N', 7)).toBe(7);
    expect(readBool({ B: '' }, 'B', true)).toBe(true);
  });

  it('parses valid values', () => {
    expect(readInt({ N: '42' }, 'N', 0)).toBe(42);
    expect(readPort({ P: '0' }, 'P', 1)).toBe(0);
    expect(readEnum({ S: 'normal' }, 'S', 'FULL', ['OFF', 'NORMAL', 'FULL'])).toBe('NORMAL');
    expect(readBool({ B: 'Yes' }, 'B', false)).toBe(true);
    expect(readBool({ B: '0' }, 'B', true)).toBe(false);
  });

  it.each([
    [() => readInt({ N: '4x' }, 'N', 0), /N must be an integer, got "4x"/],
    [() => readInt({ N: '1.5' }, 'N', 0), /N must be an integer/],
    [() => readPort({ P: '70000' }, 'P', 1), /P must be between 0 and 65535, got 70000/],
    [() => readEnum({ S: 'fast' }, 'S', 'FULL', ['OFF', 'FULL']), /S must be one of OFF, FULL/],
    [() => readBool({ B: 'maybe' }, 'B', true), /B must be true or false/],
  ])('names the variable in the error (%#)', (fn, message) => {
    expect(fn).toThrow(ConfigError);
    expect(fn).toThrow(message);
  });
});

describe('durations and sizes', () => {
  it('reads a duration with a unit, or plain seconds, and names the variable otherwise', () => {
    expect(readDuration({ D: '500ms' }, 'D', 1)).toBe(500);
    expect(readDuration({ D: '1.5s' }, 'D', 1)).toBe(1500);
    expect(readDuration({ D: '2' }, 'D', 1)).toBe(2000);
    expect(readDuration({ D: '24h' }, 'D', 1)).toBe(86_400_000);
    expect(readDuration({}, 'D', 7)).toBe(7);
    expect(() => readDuration({ D: 'soon' }, 'D', 1)).toThrow(/D must be a duration like 500ms/);
    expect(() => readDuration({ D: '1ms' }, 'D', 1, { minMs: 100 })).toThrow(/between 100ms and/);
    expect(formatDuration(90_000)).toBe('1.5m');
  });

  it('reads a share of a volume or a size', () => {
    expect(readSizeOrShare({ F: '15%' }, 'F', { percent: 10 })).toEqual({ percent: 15 });
    expect(readSizeOrShare({ F: '50MB' }, 'F', { percent: 10 })).toEqual({ bytes: 50_000_000 });
    expect(readSizeOrShare({ F: '1GiB' }, 'F', { percent: 10 })).toEqual({ bytes: 1024 ** 3 });
    expect(readSizeOrShare({ F: '4096' }, 'F', { percent: 10 })).toEqual({ bytes: 4096 });
    expect(readSizeOrShare({}, 'F', { percent: 10 })).toEqual({ percent: 10 });
    expect(() => readSizeOrShare({ F: '95%' }, 'F', { percent: 10 })).toThrow(/at most 90%/);
    expect(() => readSizeOrShare({ F: 'lots' }, 'F', { percent: 10 })).toThrow(/F must be a share/);
  });
});
