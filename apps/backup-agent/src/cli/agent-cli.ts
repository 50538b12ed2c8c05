import { formatLogLine, LogFormat, readLogFormat, Redactor } from '@pra-kit/shared';
import { parseArgs } from 'node:util';
import { agentSettings, buildBackupAgent } from '../agent.factory';
import { AgentConfig, parseAgentConfig, secretsRedactor } from '../config/agent-config';
import { Logger } from '../core/ports';
import { AgentCommand, CliIo, OptionValues } from './command';
import { backupCommand } from './commands/backup.command';
import { listCommand } from './commands/list.command';
import { restoreCommand } from './commands/restore.command';
import { testRestoreCommand } from './commands/test-restore.command';
import { verifyCommand } from './commands/verify.command';
import { EXIT, exitCodeFor } from './exit-codes';

export const USAGE = `Usage: node dist/apps/backup-agent/main.js <command> [options]

Commands:
  serve                          run the agent: scheduled backups and the HTTP API (default)
  backup                         take one backup now and apply retention; with offsite copies
                                 on (S3_BUCKET), wait for its upload (BACKUP_OFFSITE_WAIT_SECONDS)
  restore --id <id> | --latest   restore a backup: verify it, snapshot the current database
                                 (the safety snapshot undoes the restore), then restore
          | --at <instant>       the state at an instant: ISO-8601 with its zone or unix seconds
                                 (needs continuous replication)
          [--offline]            the API is stopped: replace the file (copy, fsync, rename)
                                 instead of restoring online into the live database; refused
                                 (exit 5) while another process has the database open
          [--force]              with --offline: replace it even then. RISKY: writes the API
                                 acknowledged meanwhile are lost, the file may be corrupted
          [--from local|s3]      take the backup (or the chain) from the local directory or the
                                 bucket (both volumes lost)
          [--dry-run]            say what would happen, change nothing
          [--allow-gap]          an instant after a missing segment: restore up to the gap
                                 (and say where it stopped) instead of refusing
  restore --auto                 recovery without a human: when the database file is missing,
                                 restore the newest verified point (local, else offsite) offline;
                                 otherwise do nothing. Exit 0 when restored or nothing to do,
                                 4 when that point fails its verification, 1 when it cannot be
                                 fetched (nothing restored either way)
  verify [--id <id>] [--quick]   re-check sha256 and integrity of one or all backups
                                 (a backup without manifest gets one if it passes)
  test-restore                   restore the newest point into a scratch file on the backup
                                 volume as a real restore would, check it (integrity, rows),
                                 remove it; exit 4 when it fails (BACKUP_VERIFY_RESTORE_SCHEDULE
                                 runs this in serve)
  list [--json]                  list the restore points, newest first

  --id "" or --id latest means the newest restorable point: with continuous replication, the
  end of the newest chain (for a Job's $(BACKUP_ID));
  --at "" means no instant (for a Job's $(BACKUP_AT)): a Job can pass both, one of them empty.
  Configuration comes from environment variables (DB_PATH, BACKUP_DIR, ...; see README).

Exit codes: 0 ok, 1 failed, 2 usage or configuration error (a wrong S3_ENCRYPTION_KEY too),
            3 backup or instant not found, 4 backup or chain failed verification,
            5 another backup or restore is running (or, offline, another process has the database open),
            6 backup taken and kept locally, but its offsite copy did not complete in time,
            7 not enough space on the backup volume (even after retention)
`;

/** The one-shot commands, one file each under commands/. */
const COMMANDS: readonly AgentCommand[] = [
  backupCommand,
  restoreCommand,
  verifyCommand,
  testRestoreCommand,
  listCommand,
];

const stdio: CliIo = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

/** Runs a one-shot command (everything but `serve`) and returns its exit code. */
export async function runCommand(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = stdio,
): Promise<number> {
  // Until the configuration is read, errors are formatted with what the environment says.
  let out = cliOutput(name, logFormatOf(env), Redactor.fromEnv(env), io);
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    out.io.err(`backup-agent: unknown command ${JSON.stringify(name)} (see --help)`);
    return EXIT.usage;
  }
  let config: AgentConfig;
  let parsed: unknown;
  try {
    const values = parseOptions(command, args);
    if (values['help']) {
      io.out(USAGE);
      return EXIT.ok;
    }
    parsed = command.parse(values);
    config = parseAgentConfig(env);
  } catch (err) {
    out.io.err(`backup-agent ${name}: ${(err as Error).message} (see --help)`);
    return EXIT.usage;
  }
  out = cliOutput(name, config.logFormat, secretsRedactor(config), io);
  // A one-shot command never follows the WAL; it reads the chains (a restore Job restores from them).
  const agent = buildBackupAgent(agentSettings(config, false), { logger: out.logger });
  try {
    return await command.run(parsed, { agent, config, io: out.io, logger: out.logger });
  } catch (err) {
    out.io.err(`backup-agent ${name}: ${(err as Error).message}`);
    return exitCodeFor(err);
  } finally {
    await agent.offsite?.stop();
  }
}

/**
 * Parses the options of every command (an option no command has is node's "Unknown option"), then
 * refuses those this command does not take, naming them.
 */
function parseOptions(command: AgentCommand, args: string[]): OptionValues {
  const all = Object.assign({ help: { type: 'boolean', short: 'h' } }, ...COMMANDS.map((c) => c.options));
  const { values } = parseArgs({ args, strict: true, allowPositionals: false, options: all });
  const extra = Object.keys(values).filter((k) => k !== 'help' && !(k in command.options));
  if (extra.length > 0)
    throw new Error(`unknown option(s) for ${command.name}: ${extra.map((e) => `--${e}`).join(', ')}`);
  return values as OptionValues;
}

/** LOG_FORMAT, or text when it is invalid (the configuration error then says why). */
export function logFormatOf(env: NodeJS.ProcessEnv): LogFormat {
  try {
    return readLogFormat(env);
  } catch {
    return 'text';
  }
}

/**
 * What a command writes. Its result goes to stdout as it is (a restore's JSON on one line with
 * LOG_FORMAT=json, so a log stack reads it as one record); its logs and errors go to stderr, as
 * `[time] message` lines, or one JSON object per line with LOG_FORMAT=json. Both are redacted.
 */
function cliOutput(
  command: string,
  format: LogFormat,
  redactor: Redactor,
  io: CliIo,
): { io: CliIo & { readonly format: LogFormat }; logger: Logger } {
  const context = `backup-agent ${command}`;
  const line = (level: string, message: string) =>
    io.err(
      formatLogLine(format, redactor, {
        level,
        message,
        ...(format === 'json' ? { context } : {}),
      }),
    );
  return {
    io: {
      format,
      out: (text) => io.out(redactor.redact(text)),
      err: (text) =>
        format === 'json'
          ? io.err(formatLogLine(format, redactor, { level: 'error', message: text, context }))
          : io.err(redactor.redact(text)),
    },
    logger: { log: (m) => line('log', m), warn: (m) => line('warn', m), error: (m) => line('error', m) },
  };
}
