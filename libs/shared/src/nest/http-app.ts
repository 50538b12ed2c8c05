import { INestApplication, LogLevel, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LogFormat, LogLevelName } from '../lib/env';
import { Redactor } from '../lib/log-format';
import { Registry } from 'prom-client';
import { AppLogger } from './app-logger';
import { registerHttpMetrics } from './http-metrics';
import { DomainErrorMapper, JsonErrorFilter } from './json-error.filter';
import { registerRequestContext, requestIdOf } from './request-context';

export interface HttpAppOptions {
  /** Largest accepted request body, in bytes. */
  readonly bodyLimit?: number;
  readonly registry: Registry;
  readonly mapDomainError?: DomainErrorMapper;
  /** LOG_LEVEL: this level and the more severe ones are logged. */
  readonly logLevel?: LogLevelName;
  /** LOG_FORMAT: text (default) or json, one object per line. */
  readonly logFormat?: LogFormat;
  /** Values never to be logged (the bearer token, the S3 secrets); see Redactor. */
  readonly redactor?: Redactor;
}

/** The logger of an app: LOG_FORMAT, LOG_LEVEL, and the secrets it must never print. */
export function createAppLogger(
  options: Pick<HttpAppOptions, 'logLevel' | 'logFormat' | 'redactor'>,
): AppLogger {
  return new AppLogger(
    options.logFormat ?? 'text',
    nestLogLevels(options.logLevel ?? 'log'),
    options.redactor ?? new Redactor([]),
  );
}

/** `warn` -> Nest's ['error', 'warn']. */
export function nestLogLevels(level: LogLevelName): LogLevel[] {
  const severeFirst: LogLevel[] = ['error', 'warn', 'log', 'debug'];
  return severeFirst.slice(0, severeFirst.indexOf(level) + 1);
}

/**
 * Creates a Nest application on Fastify with what both services share: the JSON error filter,
 * HTTP metrics, a request id per request (logged, and echoed in `X-Request-Id`), the logger
 * (LOG_FORMAT, LOG_LEVEL, redaction), shutdown hooks (SIGTERM closes the database cleanly) and no
 * `x-powered-by`.
 */
export async function createHttpApp(
  module: Type<unknown> | ReturnType<typeof Object>,
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: options.bodyLimit ?? 64 * 1024, genReqId: requestIdOf });
  registerRequestContext(adapter.getInstance());
  registerHttpMetrics(adapter.getInstance(), options.registry);
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: createAppLogger(options),
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
