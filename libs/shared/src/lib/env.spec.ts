import { ConfigError, readBool, readEnum, readInt, readPort, readString } from './env';

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
