import { parseBackupRef } from '@pra-kit/shared';
import { CommandResult, CommandRunner, parseRestoreOutput } from './command-runner';
import { K8sTarget } from './k8s.target';

/**
 * kubectl against a cluster is a boundary these machines cannot start: a fake runner answers the
 * commands, and the tests check what the adapter asks Kubernetes to do.
 */
function fakeKubectl(
  answers: [RegExp, Partial<CommandResult> | ((input?: string) => Partial<CommandResult>)][],
) {
  const calls: { args: string; input?: string }[] = [];
  const run: CommandRunner = async (command, args, input) => {
    const line = `${command} ${args.join(' ')}`;
    calls.push({ args: line, input });
    for (const [pattern, answer] of answers) {
      if (pattern.test(line))
        return {
          code: 0,
          stdout: '',
          stderr: '',
          ...(typeof answer === 'function' ? answer(input) : answer),
        };
    }
    return { code: 0, stdout: '', stderr: '' };
  };
  return { run, calls };
}

const deployment = {
  spec: {
    template: {
      spec: {
        initContainers: [
          {
            name: 'backup-agent',
            env: [
              {
                name: 'BACKUP_TOKEN',
                valueFrom: { secretKeyRef: { name: 'pra-backup-token', key: 'token' } },
              },
              {
                name: 'S3_ACCESS_KEY_ID',
                valueFrom: { secretKeyRef: { name: 'minio-credentials', key: 'MINIO_ROOT_USER' } },
              },
              { name: 'DB_PATH', value: '/elsewhere.db' },
            ],
            envFrom: [{ configMapRef: { name: 'backup-agent-config-abc' } }],
          },
        ],
        containers: [{ name: 'api' }],
      },
    },
  },
};

const restoreJobJson = {
  kind: 'Job',
  metadata: { name: 'sqlite-restore' },
  spec: {
    template: {
      spec: {
        containers: [
          {
            name: 'restore',
            args: ['restore', '--offline', '--id', '$(BACKUP_ID)'],
            env: [
              { name: 'BACKUP_ID', value: '' },
              { name: 'DB_PATH', value: '/data/app.db' },
            ],
          },
        ],
      },
    },
  },
};

describe('K8sTarget', () => {
  it('runs the workshop commands: delete the pod; scale to 0 with the CronJob suspended; delete the PVC', async () => {
    const { run, calls } = fakeKubectl([
      [/get pods -l/, { stdout: 'pod/api-7c4fd76955-abcde\n' }],
      [/get cronjob sqlite-backup/, { code: 0 }],
    ]);
    const target = new K8sTarget('pra', 'tok', run);
    expect(await target.killApi()).toBe('kubectl -n pra delete pod api-7c4fd76955-abcde');
    await target.stopApi();
    await target.destroyDataVolume();
    await target.startApi();
    expect(calls.map((c) => c.args)).toEqual([
      'kubectl -n pra get pods -l app.kubernetes.io/name=api -o name',
      'kubectl -n pra delete pod -l app.kubernetes.io/name=api --wait=false',
      'kubectl -n pra get cronjob sqlite-backup',
      'kubectl -n pra patch cronjob sqlite-backup -p {"spec":{"suspend":true}}',
      'kubectl -n pra scale deployment api --replicas=0',
      'kubectl -n pra wait --for=delete pod -l app.kubernetes.io/name=api --timeout=180s',
      'kubectl -n pra delete pvc pra-data --wait=false',
      'kubectl -n pra scale deployment api --replicas=1',
      'kubectl -n pra get cronjob sqlite-backup',
      'kubectl -n pra patch cronjob sqlite-backup -p {"spec":{"suspend":false}}',
    ]);
  });

  it('builds the restore Job for an offsite restore: --from s3 and the agent S3 configuration', async () => {
    const { run } = fakeKubectl([
      [/create --dry-run=client/, { stdout: JSON.stringify(restoreJobJson) }],
      [/get deployment api -o json/, { stdout: JSON.stringify(deployment) }],
    ]);
    const target = new K8sTarget('pra', 'tok', run);
    const local = (await target.restoreJob('local')) as unknown as typeof restoreJobJson;
    expect(local.spec.template.spec.containers[0].args).toEqual([
      'restore',
      '--offline',
      '--id',
      '$(BACKUP_ID)',
    ]);

    const job = (await target.restoreJob('s3')) as unknown as {
      spec: {
        template: { spec: { containers: { args: string[]; env: { name: string }[]; envFrom: unknown[] }[] } };
      };
    };
    const c = job.spec.template.spec.containers[0];
    expect(c.args).toEqual(['restore', '--offline', '--id', '$(BACKUP_ID)', '--from', 's3']);
    // The Job's own DB_PATH wins; the agent's S3 credentials and config map come along.
    expect(c.env.map((e) => e.name)).toEqual(['BACKUP_ID', 'DB_PATH', 'BACKUP_TOKEN', 'S3_ACCESS_KEY_ID']);
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'backup-agent-config-abc' } }]);
  });

  it('builds the restore Job for a chosen backup or instant, named as the agent CLI reads them', async () => {
    const { run } = fakeKubectl([[/create --dry-run=client/, { stdout: JSON.stringify(restoreJobJson) }]]);
    const target = new K8sTarget('pra', 'tok', run);
    const byId = (await target.restoreJob(
      'local',
      parseBackupRef('app-1795306644.db'),
    )) as unknown as typeof restoreJobJson;
    const c = byId.spec.template.spec.containers[0];
    expect(c.args).toEqual(['restore', '--offline', '--id', '$(BACKUP_ID)']);
    expect(c.env).toEqual([
      { name: 'BACKUP_ID', value: 'app-1795306644' },
      { name: 'DB_PATH', value: '/data/app.db' },
    ]);
    const at = { kind: 'at', at: new Date('2026-11-22T09:30:00Z') } as const;
    const byInstant = (await target.restoreJob('local', at)) as unknown as typeof restoreJobJson;
    const d = byInstant.spec.template.spec.containers[0];
    expect(d.args).toEqual([
      'restore',
      '--offline',
      '--id',
      '$(BACKUP_ID)',
      '--at',
      '2026-11-22T09:30:00.000Z',
    ]);
    expect(d.env[0]).toEqual({ name: 'BACKUP_ID', value: '' });
  });

  it('fails with kubectl stderr when a command fails', async () => {
    const { run } = fakeKubectl([
      [/scale/, { code: 1, stderr: 'Error from server (NotFound): deployments.apps "api" not found' }],
    ]);
    await expect(new K8sTarget('pra', 'tok', run).startApi()).rejects.toThrow(/NotFound.*"api" not found/);
  });
});

describe('parseRestoreOutput', () => {
  it('finds the JSON result among log lines', () => {
    const log = [
      '[2026-11-22T00:17:46.389Z] backup app-1795306666 (pre-restore): 3 rows',
      '{',
      '  "restored": { "id": "app-1795306665", "created_at": "2026-11-22T00:17:45.002Z", "rows": 3, "from": "local" },',
      '  "notes": []',
      '}',
      '[2026-11-22T00:17:46.392Z] restored app-1795306665 (offline)',
    ].join('\n');
    expect(parseRestoreOutput(log).restored).toEqual({
      id: 'app-1795306665',
      created_at: '2026-11-22T00:17:45.002Z',
      rows: 3,
      from: 'local',
    });
    expect(() => parseRestoreOutput('nothing here')).toThrow(/no restore result/);
  });
});
