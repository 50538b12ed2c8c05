import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp } from '@pra-kit/shared/nest';
import { Registry } from 'prom-client';
import type { ApiConfig } from '../config/api-config';
import { DatabaseUnavailableError } from '../database/database.errors';
import { ApiModule } from './api.module';
import { Clock } from './api.tokens';

/** Builds the API (used by main.ts and by the tests, which pass their own config and clock). */
export function createApiApp(config: ApiConfig, clock?: Clock): Promise<NestFastifyApplication> {
  const registry = new Registry();
  return createHttpApp(ApiModule.forRoot(config, registry, clock), {
    registry,
    // A message is at most MAX_MESSAGE_LENGTH characters of up to 4 UTF-8 bytes, JSON-escaped.
    bodyLimit: Math.max(16 * 1024, config.maxMessageLength * 12 + 1024),
    logLevel: config.logLevel,
    logFormat: config.logFormat,
    mapDomainError: (err) =>
      err instanceof DatabaseUnavailableError ? { status: 503, code: err.code } : undefined,
  });
}
