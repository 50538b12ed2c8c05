import { BackupRef, LATEST, parseBackupRef, parseInstant } from '@pra-kit/shared';
import { autoRestore } from '../../core/auto-restore';
import { systemClock } from '../../core/ports';
import { AgentCommand, CommandContext, OptionValues } from '../command';
import { EXIT, exitCodeFor } from '../exit-codes';

interface RestoreOptions {
  /** `--auto`: restore the newest point only when the database is missing. */
  readonly auto: boolean;
  readonly ref: BackupRef;
  readonly offline: boolean;
  readonly from: 'local' | 's3' | undefined;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly allowGap: boolean;
}

/**
 * `restore --id <id> | --latest | --at <instant> [--offline [--force]] [--from local|s3] [--dry-run]
 * [--allow-gap]`, or `restore --auto` (the init container of the auto-restore overlay).
 */
export const restoreCommand: AgentCommand<RestoreOptions> = {
  name: 'restore',
  options: {
    id: { type: 'string' },
    latest: { type: 'boolean' },
    at: { type: 'string' },
    offline: { type: 'boolean' },
    from: { type: 'string' },
    'dry-run': { type: 'boolean' },
    force: { type: 'boolean' },
    auto: { type: 'boolean' },
    'allow-gap': { type: 'boolean' },
  },
  parse(values) {
    if (values['auto'] === true) {
      const other = ['id', 'latest', 'at', 'offline', 'from', 'dry-run', 'force', 'allow-gap'].filter(
        (k) => values[k] !== undefined,
      );
      if (other.length > 0)
        throw new Error(
          `--auto restores the newest verified point, offline, only when the database is missing: it takes no ${other.map((k) => `--${k}`).join(', ')}`,
        );
      return {
        auto: true,
        ref: LATEST,
        offline: true,
        from: undefined,
        dryRun: false,
        force: false,
        allowGap: false,
      };
    }
    const from = values['from'];
    if (from !== undefined && from !== 'local' && from !== 's3')
      throw new Error('--from must be local or s3');
    const offline = values['offline'] === true;
    if (values['force'] === true && !offline) throw new Error('--force goes with --offline only');
    return {
      auto: false,
      ref: restoreRef(values),
      offline,
      from,
      dryRun: values['dry-run'] === true,
      force: values['force'] === true,
      allowGap: values['allow-gap'] === true,
    };
  },
  async run(options, context) {
    if (options.auto) return runAuto(context);
    const { agent, io } = context;
    const result = await agent.restore({
      ref: options.ref,
      mode: options.offline ? 'offline' : 'online',
      dryRun: options.dryRun,
      from: options.from,
      force: options.force,
      allowGap: options.allowGap,
    });
    io.out(io.format === 'json' ? JSON.stringify(result) : JSON.stringify(result, null, 2));
    return EXIT.ok;
  },
};

/**
 * What to restore. Empty values mean "not given", so a Job can pass `--id "$(BACKUP_ID)" --at
 * "$(BACKUP_AT)"` whatever it was given; an empty --id alone is latest.
 */
function restoreRef(values: OptionValues): BackupRef {
  const id = values['id'] as string | undefined;
  const latest = values['latest'] === true;
  const at = values['at'] === '' ? undefined : (values['at'] as string | undefined);
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

/** `restore --auto`: prints what it did as JSON; exits like a restore when it was refused or failed. */
async function runAuto({ agent, io, logger }: CommandContext): Promise<number> {
  const outcome = await autoRestore(agent, { logger, clock: systemClock });
  const printed = {
    outcome: outcome.outcome,
    detail: outcome.detail,
    ...(outcome.outcome === 'restored' ? { result: outcome.result } : {}),
  };
  io.out(io.format === 'json' ? JSON.stringify(printed) : JSON.stringify(printed, null, 2));
  return outcome.outcome === 'refused' || outcome.outcome === 'failed' ? exitCodeFor(outcome.error) : EXIT.ok;
}
