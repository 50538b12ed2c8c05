import { STATUS_CODES } from 'node:http';

/**
 * The one JSON error shape both services answer with:
 * `{"statusCode":413,"error":"Payload Too Large","code":"MESSAGE_TOO_LONG","message":"..."}`.
 * `code` is stable for scripts; `message` is for humans. Never a stack trace.
 */
export interface ErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly code: string;
  readonly message: string;
}

export function errorBody(statusCode: number, code: string, message: string): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', code, message };
}

/** `Payload Too Large` -> `PAYLOAD_TOO_LARGE`: the default code for a status. */
export function codeForStatus(statusCode: number): string {
  return (STATUS_CODES[statusCode] ?? 'ERROR').toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}
