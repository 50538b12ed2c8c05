import { INestApplication, LogLevel, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LogLevelName } from '../lib/env';
import { Registry } from 'prom-client';
import { registerHttpMetrics } from './http-metrics';
import { DomainErrorMapper, JsonErrorFilter } from './json-error.filter';

export interface HttpAppOptions {
  /** Largest accepted request body, in bytes. */
  readonly bodyLimit?: number;
  readonly registry: Registry;
  readonly mapDomainError?: DomainErrorMapper;
  /** LOG_LEVEL: this level and the more severe ones are logged. */
  readonly logLevel?: LogLevelName;
}

/** `warn` -> Nest's ['error', 'warn']. */
export function nestLogLevels(level: LogLevelName): LogLevel[] {
  const severeFirst: LogLevel[] = ['error', 'warn', 'log', 'debug'];
  return severeFirst.slice(0, severeFirst.indexOf(level) + 1);
}

/**
 * Creates a Nest application on Fastify with what both services share: the JSON error filter,
 * HTTP metrics, shutdown hooks (SIGTERM closes the database cleanly) and no `x-powered-by`.
 */
export async function createHttpApp(
  module: Type<unknown> | ReturnType<typeof Object>,
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: options.bodyLimit ?? 64 * 1024 });
  registerHttpMetrics(adapter.getInstance(), options.registry);
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: nestLogLevels(options.logLevel ?? 'log'),
    abortOnError: false,
  });
  app.useGlobalFilters(new JsonErrorFilter(options.mapDomainError));
  app.enableShutdownHooks();
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** Listens and returns the actual port (useful with port 0 in tests). */
export async function listen(app: INestApplication, port: number, host: string): Promise<number> {
  await app.listen(port, host);
  const address = app.getHttpServer().address();
  return typeof address === 'object' && address ? address.port : port;
}
