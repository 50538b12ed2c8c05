import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { codeForStatus, ErrorBody, errorBody } from './error-body';

/** Maps an app's domain errors (thrown by its core) to an HTTP status and code. */
export type DomainErrorMapper = (error: unknown) => { status: number; code: string } | undefined;

/**
 * The single exception filter of each app: every error leaves as an ErrorBody. Domain errors are
 * mapped by the app; Nest and Fastify errors keep their status; anything else is a 500 whose details
 * go to the log, not to the client.
 */
@Catch()
export class JsonErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly mapDomainError: DomainErrorMapper = () => undefined) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const body = this.toBody(exception);
    if (body.statusCode === 500) {
      this.logger.error(messageOf(exception), exception instanceof Error ? exception.stack : undefined);
    } else if (body.statusCode > 500) {
      this.logger.warn(`${body.code}: ${body.message}`);
    }
    void reply.status(body.statusCode).type('application/json; charset=utf-8').send(body);
  }

  toBody(exception: unknown): ErrorBody {
    const mapped = this.mapDomainError(exception);
    if (mapped) return errorBody(mapped.status, mapped.code, messageOf(exception));

    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const r = (typeof response === 'object' && response) as Record<string, unknown> | false;
      const code = r && typeof r['code'] === 'string' ? r['code'] : codeForStatus(status);
      const message = r ? (flatten(r['message']) ?? exception.message) : String(response);
      return errorBody(status, code, message);
    }

    // Errors raised by Fastify itself (body too large, malformed JSON, unsupported media type...).
    const e = exception as { statusCode?: unknown; code?: unknown; message?: unknown } | null;
    if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return errorBody(e.statusCode, codeForStatus(e.statusCode), String(e.message ?? ''));
    }
    return errorBody(500, 'INTERNAL_ERROR', 'internal error; see the service log');
  }
}

function messageOf(exception: unknown): string {
  return exception instanceof Error ? exception.message : String(exception);
}

function flatten(message: unknown): string | undefined {
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  return undefined;
}
