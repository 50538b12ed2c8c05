import { LATEST } from '@pra-kit/shared';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../repo-root';
import { parseRestoreOutput, runCommand } from './command-runner';
import { K8sTarget } from './k8s.target';

/**
 * A cluster is a boundary these machines cannot start: the target drives the real runbook
 * (tools/k8s/workshop.sh) against the fake kubectl of tools/k8s/fakes, which keeps a small cluster
 * in a JSON file and answers like kubectl (the offline rendering is the real kubectl's).
 */
jest.setTimeout(90_000);

const root = repoRoot();
let dir: string;
let env: NodeJS.ProcessEnv;

interface FakeCluster {
  objects: Record<string, { spec: Record<string, unknown> }>;
}
const cluster = (): FakeCluster => JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8'));
const replicas = () => (cluster().objects['Deployment/api'].spec as { replicas: number }).replicas;
const restoreContainer = () =>
  (
    cluster().objects['Job/sqlite-restore'].spec as {
      template: { spec: { containers: { args: string[]; env: { name: string; value?: string }[] }[] } };
    }
  ).template.spec.containers[0];

beforeAll(async () => {
  await runCommand('bash', [join(root, 'deploy/k8s/generate-secrets.sh')]);
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pra-drill-k8s-'));
  env = {
    ...process.env,
    PATH: `${join(root, 'tools/k8s/fakes')}:${process.env.PATH}`,
    FAKE_CLUSTER: join(dir, 'cluster.json'),
    FAKE_STATE: join(dir, 'count'),
    POLL: '0.1',
    READY_GRACE: '1',
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function target(extra: NodeJS.ProcessEnv = {}) {
  return new K8sTarget('pra', undefined, runCommand, join(root, 'tools/k8s/workshop.sh'), {
    ...env,
    ...extra,
  });
}

// The fake hands kustomize and the offline rendering to the real kubectl, which works without a
// cluster; a machine without kubectl (make test needs only Node) skips these, saying so.
const kubectlPath = (process.env.PATH ?? '')
  .split(':')
  .map((dir) => join(dir, 'kubectl'))
  .find((file) => existsSync(file));
if (!kubectlPath)
  console.warn('K8sTarget specs skipped: no kubectl on PATH (it renders the manifests offline)');
const withKubectl = kubectlPath ? describe : describe.skip;

withKubectl('K8sTarget (the runbook against a fake cluster)', () => {
  it('sets up port-forwards that answer, with the token read from the Secret', async () => {
    const t = target();
    await t.setup();
    try {
      expect(t.token).toBe('f'.repeat(64));
      expect(t.offsite).toBe(false);
      const res = await fetch(`${t.apiUrl()}/count`);
      expect(res.status).toBe(200);
      expect((await fetch(`${t.agentUrl()}/backups/latest`)).status).toBe(200);
    } finally {
      await t.teardown();
    }
  });

  it('PRA: stop, lose the data volume, restore the newest point offline, start', async () => {
    const t = target({ FAKE_OVERLAY: 'cronjob' });
    await t.stopApi();
    expect(replicas()).toBe(0);
    expect((cluster().objects['CronJob/sqlite-backup'].spec as { suspend: boolean }).suspend).toBe(true);
    await t.destroyDataVolume();
    const restored = await t.restoreOffline(LATEST, 'local');
    expect(restored).toEqual({
      id: 'app-1772098381',
      createdAt: '2026-11-30T09:59:01.004Z',
      rows: 42,
      from: 'local',
    });
    const c = restoreContainer();
    expect(c.args).toEqual(['restore', '--offline', '--id', '$(BACKUP_ID)', '--at', '$(BACKUP_AT)']);
    expect(c.env.filter((e) => /^BACKUP_(ID|AT)$/.test(e.name)).map((e) => [e.name, e.value ?? ''])).toEqual([
      ['BACKUP_ID', ''],
      ['BACKUP_AT', ''],
    ]);
    expect(replicas()).toBe(0);
    await t.startApi();
    expect(replicas()).toBe(1);
    expect((cluster().objects['CronJob/sqlite-backup'].spec as { suspend: boolean }).suspend).toBe(false);
  });

  it('restores from the offsite copy with --from s3 and the sidecar S3 settings', async () => {
    const t = target({ FAKE_OVERLAY: 'minio' });
    await t.stopApi();
    await t.destroyDataVolume();
    await t.destroyBackupVolume();
    const restored = await t.restoreOffline(LATEST, 's3');
    expect(restored.from).toBe('s3');
    const c = restoreContainer();
    expect(c.args.slice(-2)).toEqual(['--from', 's3']);
    expect(c.env.map((e) => e.name)).toEqual(
      expect.arrayContaining(['S3_ACCESS_KEY_ID', 'S3_ENCRYPTION_KEY']),
    );
  });

  it('PCA: deletes the api pod and says which', async () => {
    const t = target();
    expect(await t.killApi()).toMatch(/^kubectl -n pra delete pod api-6d9c7b8f5d-\w+$/);
    const pods = (cluster() as unknown as { pods: { name: string }[] }).pods.map((p) => p.name);
    expect(pods).toEqual(['api-6d9c7b8f5d-xxxx2']); // the Deployment made a new one
  });

  it('fails with the runbook output when the restore does not finish, and leaves the API stopped', async () => {
    const t = target({ FAKE_JOB: 'running', RESTORE_TIMEOUT: '2' });
    await t.stopApi();
    await expect(t.restoreOffline(LATEST, 'local')).rejects.toThrow(
      /restore-job failed \(exit 1\):[\s\S]*has not finished after 2s/,
    );
    expect(replicas()).toBe(0);
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

  it('finds the one-line result among JSON log lines (LOG_FORMAT=json, the cluster)', () => {
    const log = [
      '{"time":"2026-11-22T00:17:46.389Z","level":"info","context":"backup-agent restore","message":"backup app-1795306666 (pre-restore): 3 rows","pid":1}',
      '{"restored":{"id":"app-1795306665","created_at":"2026-11-22T00:17:45.002Z","rows":3,"from":"s3"},"mode":"offline","notes":[]}',
      '{"time":"2026-11-22T00:17:46.392Z","level":"info","context":"backup-agent restore","message":"restored app-1795306665 (offline)","pid":1}',
    ].join('\n');
    expect(parseRestoreOutput(log).restored).toEqual({
      id: 'app-1795306665',
      created_at: '2026-11-22T00:17:45.002Z',
      rows: 3,
      from: 's3',
    });
  });
});
