import { parseArgs } from 'node:util';
import { Objectives } from './report/drill-report';
import { ScenarioName, SCENARIOS } from './scenarios/scenarios';

export const TARGETS = ['local', 'podman', 'k8s'] as const;
export type TargetName = (typeof TARGETS)[number];

export interface DrillOptions {
  readonly scenario: ScenarioName;
  readonly target: TargetName;
  readonly rate: number;
  readonly warmup: number;
  readonly afterBackup: number;
  readonly settle: number;
  readonly timeout: number;
  readonly objectives: Objectives;
  readonly out: string;
  readonly apiUrl: string;
  readonly agentUrl: string;
  readonly token: string | undefined;
  readonly varDir: string;
  readonly namespace: string;
  readonly agentImage: string;
  readonly schedule: string;
  readonly json: boolean;
  /** data-loss --auto: no operator step, the agent restores at start (BACKUP_AUTO_RESTORE=latest). */
  readonly auto: boolean;
}

export const USAGE = `Usage: node dist/apps/drill/main.js <scenario> [options]

Scenarios:
  pod-loss      PCA: kill the API while writing; the platform restarts it; nothing may be lost
  data-loss     PRA: destroy the data volume while writing; restore the latest backup offline
                with --auto: the pod restarts on the empty volume and the agent restores the
                latest backup by itself (BACKUP_AUTO_RESTORE=latest), no operator step
  backup-loss   PRA: lose the data and the backup volumes; restore from the offsite copy (S3/MinIO)
  corruption    PRA: damage pages of the live database; detect it and restore online
  point-in-time PRA: choose an instant while writing, write on, restore online to that instant;
                the restored set must be exactly what was acknowledged up to it

Options:
  --target local|podman|k8s   where to run it (default local: the make dev processes, or a
                              private instance the drill starts and stops)
  --rate <n>                  writes per second during the drill (default 20)
  --warmup <s>                seconds of writes before the fault (default 5)
  --after-backup <s>          seconds of writes between the awaited backup and the fault (default 3);
                              point-in-time: seconds of writes after the chosen instant
  --settle <s>                seconds of writes after recovery (default 3)
  --timeout <s>               give up waiting for any step after this (default 240)
  --rto <s> --rpo <s> --max-lost <n>
                              objectives; exit 1 when one is missed (pod-loss: --max-lost 0 by default)
  --out <dir>                 where the JSON and Markdown reports go (default var/drills)
  --api <url> --agent <url>   local and podman targets: the services (default http://127.0.0.1:8080, :8081)
  --token <t>                 the agent's bearer token (default $BACKUP_TOKEN)
  --var <dir>                 local target: the make dev var directory (default ./var)
  --schedule <cron>           local target, private instance: snapshot schedule (default: the agent's,
                              hourly with continuous replication, every minute without)
  --namespace <ns>            k8s target: the namespace (default pra)
  --agent-image <image>       podman target: the agent image for the offline restore
                              (default pra/backup-agent:1.0)
  --json                      print the JSON report on stdout instead of the table
  --auto                      data-loss on the local target: recovery without a human (the
                              running make dev needs BACKUP_AUTO_RESTORE=latest; a private
                              instance gets it)

Exit codes: 0 passed, 1 a check failed or an objective was missed, 2 usage error, 3 the drill could not run.
`;

/** Parses the drill's command line (pure; throws Error with a clear message on bad input). */
export function parseDrillArgs(argv: string[], env: NodeJS.ProcessEnv = {}): DrillOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      target: { type: 'string', default: 'local' },
      rate: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      'after-backup': { type: 'string', default: '3' },
      settle: { type: 'string', default: '3' },
      timeout: { type: 'string', default: '240' },
      rto: { type: 'string' },
      rpo: { type: 'string' },
      'max-lost': { type: 'string' },
      out: { type: 'string', default: 'var/drills' },
      api: { type: 'string', default: 'http://127.0.0.1:8080' },
      agent: { type: 'string', default: 'http://127.0.0.1:8081' },
      token: { type: 'string' },
      var: { type: 'string', default: 'var' },
      schedule: { type: 'string', default: '' },
      namespace: { type: 'string', default: 'pra' },
      'agent-image': { type: 'string', default: 'pra/backup-agent:1.0' },
      json: { type: 'boolean', default: false },
      auto: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1)
    throw new Error(
      'give exactly one scenario: pod-loss, data-loss, backup-loss, corruption or point-in-time',
    );
  const scenario = positionals[0];
  if (!(scenario in SCENARIOS)) throw new Error(`unknown scenario ${JSON.stringify(scenario)}`);
  const target = values.target as TargetName;
  if (!TARGETS.includes(target)) throw new Error(`--target must be one of ${TARGETS.join(', ')}`);
  if (values.auto && (scenario !== 'data-loss' || target !== 'local')) {
    throw new Error(
      '--auto goes with data-loss on the local target (in the cluster, the auto-restore overlay ' +
        'restores when the pod starts on a new, empty pra-data)',
    );
  }
  const num = (name: string, value: string | undefined, min: number, max: number): number => {
    const n = Number(value);
    if (value === undefined || value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new Error(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
  return {
    scenario: scenario as ScenarioName,
    target,
    rate: num('rate', values.rate, 1, 1000),
    warmup: num('warmup', values.warmup, 0, 3600),
    afterBackup: num('after-backup', values['after-backup'], 0, 3600),
    settle: num('settle', values.settle, 0, 3600),
    timeout: num('timeout', values.timeout, 5, 7200),
    objectives: {
      ...(values.rto !== undefined ? { rtoSeconds: num('rto', values.rto, 0, 86400) } : {}),
      ...(values.rpo !== undefined ? { rpoSeconds: num('rpo', values.rpo, 0, 86400) } : {}),
      ...(values['max-lost'] !== undefined ? { maxLost: num('max-lost', values['max-lost'], 0, 1e9) } : {}),
    },
    out: values.out as string,
    apiUrl: (values.api as string).replace(/\/+$/, ''),
    agentUrl: (values.agent as string).replace(/\/+$/, ''),
    token: values.token ?? (env['BACKUP_TOKEN'] || undefined),
    varDir: values.var as string,
    namespace: values.namespace as string,
    agentImage: values['agent-image'] as string,
    schedule: values.schedule as string,
    json: values.json as boolean,
    auto: values.auto as boolean,
  };
}
