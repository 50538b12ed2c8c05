import { ConsoleLogger, LogLevel } from '@nestjs/common';
import type { LogFormat } from '../lib/env';
import { logRecord, Redactor } from '../lib/log-format';
import { currentRequestId } from './request-context';

/**
 * Nest's ConsoleLogger, in its JSON mode when LOG_FORMAT=json, with our fields: `time` (ISO-8601),
 * `level` (info for Nest's log), `context`, `message`, `request_id` while an HTTP request is served,
 * `stack` for errors. Every line, text or JSON, goes through the Redactor: the bearer token and
 * the S3 secrets never reach the log, even inside a library's error message.
 */
export class AppLogger extends ConsoleLogger {
  constructor(
    private readonly format: LogFormat,
    logLevels: LogLevel[],
    private readonly redactor: Redactor,
  ) {
    super({ json: format === 'json', logLevels, colors: format === 'json' ? false : undefined });
  }

  /** Nest's JSON mode, with our fields (see logRecord) and redacted. */
  protected override printAsJson(
    message: unknown,
    options: {
      context: string;
      logLevel: LogLevel;
      writeStreamType?: 'stdout' | 'stderr';
      errorStack?: unknown;
    },
  ): void {
    const record = logRecord({
      level: options.logLevel,
      message,
      context: options.context,
      requestId: currentRequestId(),
      stack: options.errorStack,
    });
    const line = this.redactor.redact(this.stringifyJsonLogObject({ ...record }));
    process[options.writeStreamType ?? 'stdout'].write(`${line}\n`);
  }

  protected override formatMessage(
    logLevel: LogLevel,
    message: unknown,
    pidMessage: string,
    formattedLogLevel: string,
    contextMessage: string,
    timestampDiff: string,
  ): string {
    const requestId = currentRequestId();
    const context = requestId ? `${contextMessage}(request ${requestId}) ` : contextMessage;
    return this.redactor.redact(
      super.formatMessage(logLevel, message, pidMessage, formattedLogLevel, context, timestampDiff),
    );
  }

  protected override printStackTrace(stack: string): void {
    super.printStackTrace(stack ? this.redactor.redact(stack) : stack);
  }

  /** For tests and diagnostics. */
  get logFormat(): LogFormat {
    return this.format;
  }
}
