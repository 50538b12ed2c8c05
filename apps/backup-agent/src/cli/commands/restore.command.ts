import { BackupRef, LATEST, parseBackupRef, parseInstant } from '@pra-kit/shared';
import { AgentCommand, OptionValues } from '../command';
import { EXIT } from '../exit-codes';

interface RestoreOptions {
  readonly ref: BackupRef;
  readonly offline: boolean;
  readonly from: 'local' | 's3' | undefined;
  readonly dryRun: boolean;
  readonly force: boolean;
}

/** `restore --id <id> | --latest | --at <instant> [--offline [--force]] [--from local|s3] [--dry-run]` */
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
  },
  parse(values) {
    const from = values['from'];
    if (from !== undefined && from !== 'local' && from !== 's3')
      throw new Error('--from must be local or s3');
    const offline = values['offline'] === true;
    if (values['force'] === true && !offline) throw new Error('--force goes with --offline only');
    return {
      ref: restoreRef(values),
      offline,
      from,
      dryRun: values['dry-run'] === true,
      force: values['force'] === true,
    };
  },
  async run(options, { agent, io }) {
    const result = await agent.restore({
      ref: options.ref,
      mode: options.offline ? 'offline' : 'online',
      dryRun: options.dryRun,
      from: options.from,
      force: options.force,
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
