import { NotFoundException } from '@nestjs/common';
import { InvalidBackupIdError, isBackupId } from '@pra-kit/shared';
import type { FastifyRequest } from 'fastify';

/**
 * For the catch-all route under `/backups/` and `/restore/`: a path that is not a single backup id
 * (`../../etc/passwd`, `a/b`) is a malformed id (400), never a path; a valid id reached with a
 * method the API does not have is a plain 404.
 */
export function rejectUnroutedId(rest: string | string[] | undefined, request: FastifyRequest): never {
  const text = Array.isArray(rest) ? rest.join('/') : String(rest ?? '');
  if (text === 'latest' || isBackupId(text)) {
    throw new NotFoundException({ code: 'NOT_FOUND', message: `Cannot ${request.method} ${request.url}` });
  }
  throw new InvalidBackupIdError(text);
}
