import { NotFoundException } from '@nestjs/common';
import { InvalidBackupIdError, parseBackupRef } from '@pra-kit/shared';
import type { FastifyRequest } from 'fastify';

/**
 * For the catch-all route under `/backups/` and `/restore/`: a path that is not a single backup ref
 * (`../../etc/passwd`, `a/b`) is a malformed id (400), never a path; a valid ref reached with a
 * method the API does not have is a plain 404. An empty segment (`POST /restore/`) is a malformed
 * id too: only an option or a Job variable may be empty to mean latest, a URL says `latest`.
 */
export function rejectUnroutedId(rest: string | string[] | undefined, request: FastifyRequest): never {
  const text = Array.isArray(rest) ? rest.join('/') : String(rest ?? '');
  if (text === '') throw new InvalidBackupIdError(text);
  parseBackupRef(text); // InvalidBackupIdError (400) for anything else that is not a backup ref
  throw new NotFoundException({ code: 'NOT_FOUND', message: `Cannot ${request.method} ${request.url}` });
}
