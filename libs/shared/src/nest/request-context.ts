import { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * The request id of the HTTP request being served, for the log lines written while serving it.
 * Taken from the client's `X-Request-Id` when it is a plain token (a proxy's id joins the logs of
 * both), generated otherwise, and sent back in `X-Request-Id`.
 */
const current = new AsyncLocalStorage<{ readonly requestId: string }>();

export const REQUEST_ID_HEADER = 'x-request-id';

/** The id of the request this code runs for; undefined outside a request (startup, schedule). */
export function currentRequestId(): string | undefined {
  return current.getStore()?.requestId;
}

/** Fastify's genReqId: a well-formed incoming id, or a new UUID (never a log line's worth of text). */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * Runs every request inside its own context. Entered at onRequest (a request refused before its
 * handler still logs with its id) and again at preHandler: body parsing runs on the socket's
 * events, which do not carry the context, and the handler is called from the preHandler's `done`.
 * With LOG_LEVEL=debug, one line per request: method, route, status, milliseconds.
 */
export function registerRequestContext(fastify: FastifyInstance): void {
  const access = new Logger('Http');
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    current.run({ requestId: request.id }, done);
  });
  fastify.addHook('preHandler', (request, _reply, done) => {
    current.run({ requestId: request.id }, done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    current.run({ requestId: request.id }, () =>
      access.debug(
        `${request.method} ${request.routeOptions?.url ?? request.url.split('?')[0].slice(0, 200)} ${reply.statusCode} ${Math.round(reply.elapsedTime)} ms`,
      ),
    );
    done();
  });
}
