import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { parseLimit, parseMessage } from './event-input';

describe('parseMessage', () => {
  it('defaults a missing query message to "hello" but requires it in a body', () => {
    expect(parseMessage(undefined, 10, 'query')).toBe('hello');
    expect(() => parseMessage(undefined, 10, 'body')).toThrow(BadRequestException);
  });

  it('counts code points, not UTF-16 units or bytes', () => {
    expect(parseMessage('🎉'.repeat(3), 3, 'query')).toBe('🎉🎉🎉');
    expect(() => parseMessage('🎉'.repeat(4), 3, 'query')).toThrow(PayloadTooLargeException);
    expect(parseMessage('', 3, 'body')).toBe('');
  });
});

describe('parseLimit', () => {
  it('accepts 1..500 and defaults to 50', () => {
    expect(parseLimit(undefined)).toBe(50);
    expect(parseLimit('1')).toBe(1);
    expect(parseLimit('500')).toBe(500);
  });
  it.each(['0', '501', 'abc', '', '1.0', ['1', '2']])('rejects %j', (v) => {
    expect(() => parseLimit(v)).toThrow(BadRequestException);
  });
});
