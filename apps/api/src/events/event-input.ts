import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';

export const DEFAULT_MESSAGE = 'hello';
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/**
 * Validates a message from `/add?message=` or a JSON body. Characters are counted as Unicode code
 * points, so the limit means what a user expects for accented text and emoji. The text is stored as
 * given: SQL or HTML in a message is data, bound as a parameter and returned verbatim.
 */
export function parseMessage(value: unknown, maxLength: number, source: 'query' | 'body'): string {
  if (value === undefined && source === 'query') return DEFAULT_MESSAGE;
  if (Array.isArray(value)) {
    throw new BadRequestException({ code: 'INVALID_MESSAGE', message: 'message must be given once' });
  }
  if (typeof value !== 'string') {
    throw new BadRequestException({
      code: 'INVALID_MESSAGE',
      message:
        source === 'body' ? 'body must be a JSON object with a string "message"' : 'message must be a string',
    });
  }
  let length = 0;
  for (const _ of value) {
    if (++length > maxLength) {
      throw new PayloadTooLargeException({
        code: 'MESSAGE_TOO_LONG',
        message: `message is longer than ${maxLength} characters (MAX_MESSAGE_LENGTH)`,
      });
    }
  }
  return value;
}

/** `?limit=` of /consultation: an integer from 1 to 500, 50 when absent. */
export function parseLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const n = typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_LIMIT)) {
    throw new BadRequestException({
      code: 'INVALID_LIMIT',
      message: `limit must be an integer from 1 to ${MAX_LIMIT}, got ${JSON.stringify(value)}`,
    });
  }
  return n;
}

/** `?before=` of /consultation: a positive integer id (a cursor to page back), none when absent. */
export function parseBefore(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1)) {
    throw new BadRequestException({
      code: 'INVALID_BEFORE',
      message: `before must be a positive integer id, got ${JSON.stringify(value)}`,
    });
  }
  return n;
}
