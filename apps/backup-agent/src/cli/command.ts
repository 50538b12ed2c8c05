import type { ParseArgsConfig } from 'node:util';
import type { AgentConfig } from '../config/agent-config';
import type { BackupAgent } from '../core/backup-agent';

/** Where a command writes: its result on `out`, logs and errors on `err`. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** The values node:util parseArgs read from the command line. */
export type OptionValues = Record<string, string | boolean | undefined>;

/** What a command runs with. */
export interface CommandContext {
  readonly agent: BackupAgent;
  readonly config: AgentConfig;
  readonly io: CliIo;
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
