import type { LogFormat } from '@pra-kit/shared';
import type { ParseArgsConfig } from 'node:util';
import type { AgentConfig } from '../config/agent-config';
import type { BackupAgent } from '../core/backup-agent';
import type { Logger } from '../core/ports';

/** Where a command writes: its result on `out`, logs and errors on `err`. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** What a command writes to: a result formatted for LOG_FORMAT (json: one line). */
export interface CommandIo extends CliIo {
  readonly format: LogFormat;
}

/** The values node:util parseArgs read from the command line. */
export type OptionValues = Record<string, string | boolean | undefined>;

/** What a command runs with. */
export interface CommandContext {
  readonly agent: BackupAgent;
  readonly config: AgentConfig;
  readonly io: CommandIo;
  /** The agent's logger (stderr), for a command's own log lines. */
  readonly logger: Logger;
}

/**
 * One one-shot command of the agent (`serve` is main.ts's). `parse` turns its options into what it
 * needs, or throws an Error whose message is a usage error (exit 2); `run` returns the exit code.
 */
export interface AgentCommand<Parsed = unknown> {
  readonly name: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  parse(values: OptionValues): Parsed;
  run(parsed: Parsed, context: CommandContext): Promise<number>;
}
