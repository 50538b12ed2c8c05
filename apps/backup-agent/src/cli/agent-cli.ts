import {
  BackupRef,
  ConfigError,
  InvalidBackupIdError,
  InvalidInstantError,
  LATEST,
  normalizeBackupId,
  parseBackupRef,
  parseInstant,
} from '@pra-kit/shared';
import { parseArgs } from 'node:util';
import { AgentConfig, parseAgentConfig } from '../config/agent-config';
import { BackupAgent } from '../core/backup-agent';
import {
  BackupCorruptError,
  BackupNotFoundError,
  EncryptionKeyError,
  OperationInProgressError,
  PointInTimeUnavailableError,
} from '../core/errors';
import { buildBackupAgent } from '../agent.factory';
import { Logger } from '../core/ports';
import { formatBackups, formatTable } from './cli-format';

/** Exit codes of the one-shot commands (stable: scripts and Jobs rely on them). */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  corrupt: 4,
  busy: 5,
  offsiteFailed: 6,
} as const;

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
                                 instead of restoring online into the live database
          [--from local|s3]      take the backup from the local directory or the offsite copy
          [--dry-run]            say what would happen, change nothing
  verify [--id <id>] [--quick]   re-check sha256 and integrity of one or all backups
                                 (a backup without manifest gets one if it passes)
  list [--json]                  list the restore points, newest first

  --id "" or --id latest means the newest verified backup (for a Job's $(BACKUP_ID));
  --at "" means no instant (for a Job's $(BACKUP_AT)): a Job can pass both, one of them empty.
  Configuration comes from environment variables (DB_PATH, BACKUP_DIR, ...; see README).

Exit codes: 0 ok, 1 failed, 2 usage or configuration error (a wrong S3_ENCRYPTION_KEY too),
            3 backup not found, 4 backup failed verification, 5 another backup or restore is running,
            6 backup taken and kept locally, but its offsite copy did not complete in time
`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const stdio: CliIo = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

/** Runs a one-shot command (everything but `serve`) and returns its exit code. */
export async function runCommand(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = stdio,
  makeAgent: (config: AgentConfig, logger: Logger) => BackupAgent = defaultAgent,
): Promise<number> {
  let config: AgentConfig;
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(command, args);
    if (options.help) {
      io.out(USAGE);
      return EXIT.ok;
    }
    config = parseAgentConfig(env);
  } catch (err) {
    io.err(`backup-agent ${command}: ${(err as Error).message} (see --help)`);
    return EXIT.usage;
  }
  const logger: Logger = {
    log: (m) => io.err(`[${new Date().toISOString()}] ${m}`),
    warn: (m) => io.err(`[${new Date().toISOString()}] WARN ${m}`),
    error: (m) => io.err(`[${new Date().toISOString()}] ERROR ${m}`),
  };
  const agent = makeAgent(config, logger);
  try {
    switch (command) {
      case 'backup': {
        // Uploads start first: pending ones from earlier runs are caught up alongside.
        await agent.offsite?.start();
        const m = await agent.backup('manual');
        io.out(`backup ${m.id} ok: ${m.rows} rows, ${m.size} bytes, sha256 ${m.sha256}`);
        return agent.offsite ? reportOffsite(agent, m.id, config, io) : EXIT.ok;
      }
      case 'restore': {
        const result = await agent.restore({
          ref: options.ref as BackupRef,
          mode: options.offline ? 'offline' : 'online',
          dryRun: options.dryRun,
          from: options.from,
        });
        io.out(JSON.stringify(result, null, 2));
        return EXIT.ok;
      }
      case 'verify': {
        const reports = await agent.verify(options.id ?? undefined, options.quick ? 'quick' : 'full');
        if (reports.length === 0) io.out('no backups to verify');
        else
          io.out(
            formatTable(
              ['ID', 'RESULT', 'DETAIL'],
              reports.map((r) => [r.id, r.ok ? 'ok' : 'FAILED', r.detail]),
            ),
          );
        return reports.every((r) => r.ok) ? EXIT.ok : EXIT.corrupt;
      }
      case 'list': {
        const list = await agent.list();
        io.out(options.json ? JSON.stringify(list, null, 2) : formatBackups(list));
        return EXIT.ok;
      }
      default:
        io.err(`backup-agent: unknown command ${JSON.stringify(command)} (see --help)`);
        return EXIT.usage;
    }
  } catch (err) {
    io.err(`backup-agent ${command}: ${(err as Error).message}`);
    return exitCodeFor(err);
  } finally {
    await agent.offsite?.stop();
  }
}

/**
 * CronJob mode: the process is about to exit, so it waits for the offsite copy (at most
 * BACKUP_OFFSITE_WAIT_SECONDS, retrying with backoff meanwhile) and says how it went. A failed
 * upload never fails the backup: it is kept locally and the next run catches the upload up; the
 * distinct exit code lets the Job's status show that the offsite copy is behind.
 */
async function reportOffsite(
  agent: BackupAgent,
  id: string,
  config: AgentConfig,
  io: CliIo,
): Promise<number> {
  const offsite = agent.offsite as NonNullable<BackupAgent['offsite']>;
  const waitSeconds = config.offsite?.waitSeconds ?? 0;
  await offsite.drain(waitSeconds * 1000);
  const status = offsite.status();
  const state = offsite.stateOf(id);
  const others = status.pending - (state && state.state !== 'uploaded' ? 1 : 0);
  const backlog = others > 0 ? `; ${others} other backup(s) still waiting for their offsite copy` : '';
  if (state?.state === 'uploaded') {
    io.out(`offsite ${id} ok: ${status.location}${id}.db${status.encrypted ? ' (encrypted)' : ''}${backlog}`);
    return EXIT.ok;
  }
  const reason = state?.last_error ?? status.lastError?.message ?? 'no answer in time';
  io.err(
    `backup-agent backup: offsite copy of ${id} NOT done within ${waitSeconds} s: ${reason}. ` +
      `The local backup is kept; the next run uploads it${backlog}`,
  );
  return EXIT.offsiteFailed;
}

function exitCodeFor(err: unknown): number {
  if (err instanceof BackupNotFoundError || err instanceof PointInTimeUnavailableError) return EXIT.notFound;
  if (err instanceof BackupCorruptError) return EXIT.corrupt;
  if (err instanceof OperationInProgressError) return EXIT.busy;
  if (err instanceof InvalidBackupIdError || err instanceof InvalidInstantError) return EXIT.usage;
  if (err instanceof ConfigError) return EXIT.usage;
  if (err instanceof EncryptionKeyError) return EXIT.usage; // S3_ENCRYPTION_KEY is configuration
  return EXIT.failed;
}

function parseOptions(command: string, args: string[]) {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      id: { type: 'string' },
      latest: { type: 'boolean' },
      at: { type: 'string' },
      offline: { type: 'boolean' },
      from: { type: 'string' },
      'dry-run': { type: 'boolean' },
      quick: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const allowed: Record<string, string[]> = {
    backup: [],
    restore: ['id', 'latest', 'at', 'offline', 'from', 'dry-run'],
    verify: ['id', 'quick'],
    list: ['json'],
  };
  const extra = Object.keys(values).filter((k) => k !== 'help' && !(allowed[command] ?? []).includes(k));
  if (extra.length > 0)
    throw new Error(`unknown option(s) for ${command}: ${extra.map((e) => `--${e}`).join(', ')}`);

  const ref = command === 'restore' && !values.help ? restoreRef(values) : null;
  const id = command !== 'restore' && values.id !== undefined ? normalizeBackupId(values.id) : null;
  const from = values.from;
  if (from !== undefined && from !== 'local' && from !== 's3') throw new Error('--from must be local or s3');
  return {
    help: values.help ?? false,
    ref,
    id,
    offline: values.offline ?? false,
    from: from as 'local' | 's3' | undefined,
    dryRun: values['dry-run'] ?? false,
    quick: values.quick ?? false,
    json: values.json ?? false,
  };
}

/**
 * What `restore` is asked to restore. Empty values mean "not given", so a Job can pass
 * `--id "$(BACKUP_ID)" --at "$(BACKUP_AT)"` whatever it was given; an empty --id alone is latest.
 */
function restoreRef(values: { id?: string; latest?: boolean; at?: string }): BackupRef {
  const { id, latest } = values;
  const at = values.at === '' ? undefined : values.at;
  if (at !== undefined) {
    if (latest || (id !== undefined && id !== '')) throw new Error('give one of --id, --latest or --at');
    return { kind: 'at', at: parseInstant(at) };
  }
  if (latest) {
    if (id !== undefined && parseBackupRef(id).kind !== 'latest') {
      throw new Error('give either --id or --latest, not both');
    }
    return LATEST;
  }
  if (id === undefined) throw new Error('which backup? give --id <id> or --latest (or --at <instant>)');
  return parseBackupRef(id);
}

function defaultAgent(config: AgentConfig, logger: Logger): BackupAgent {
  return buildBackupAgent(config, { logger });
}
