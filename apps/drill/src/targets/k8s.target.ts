import { BackupRef, backupRefArgs, LATEST } from '@pra-kit/shared';
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { http, sleep } from '../http';
import { freePort } from '../free-port';
import { repoRoot } from '../repo-root';
import { CommandRunner, mustRun, parseRestoreOutput, runCommand } from './command-runner';
import { DAMAGE_DB_SCRIPT } from './damage-db';
import { DrillTarget, RestoreOutcome } from './drill-target';

const API_POD = 'app.kubernetes.io/name=api';

interface K8sObject {
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown>;
}

interface ContainerSpec {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: unknown[];
}

/**
 * The cluster (kubectl against the current context, namespace `pra`), driven with the workshop's
 * own commands: delete the pod (PCA); scale to 0, delete and recreate the PVC, run the restore Job
 * `sqlite-restore`, scale to 1 (PRA). The API and the agent are reached through port-forwards that
 * this target restarts whenever a pod is replaced.
 */
export class K8sTarget implements DrillTarget {
  readonly name = 'k8s' as const;
  private forwards: PortForward[] = [];
  private apiPort = 0;
  private agentPort = 0;
  private tokenValue: string | undefined;
  private offsiteConfigured = false;
  private suspendedCronJob = false;

  constructor(
    private readonly namespace: string,
    token: string | undefined,
    private readonly run: CommandRunner = runCommand,
  ) {
    this.tokenValue = token;
  }

  get description(): string {
    return `Kubernetes namespace ${this.namespace} (kubectl, current context)`;
  }

  get token(): string | undefined {
    return this.tokenValue;
  }

  get offsite(): boolean {
    return this.offsiteConfigured;
  }

  apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  agentUrl(): string {
    return `http://127.0.0.1:${this.agentPort}`;
  }

  async setup(): Promise<void> {
    await this.kubectl(['get', 'deployment', 'api']);
    if (!this.tokenValue) {
      const b64 = await this.kubectl(['get', 'secret', 'pra-backup-token', '-o', 'jsonpath={.data.token}']);
      this.tokenValue = Buffer.from(b64.trim(), 'base64').toString('utf8') || undefined;
    }
    const agent = await this.agentContainer();
    this.offsiteConfigured =
      (agent.env ?? []).some((e) => e.name === 'S3_BUCKET') || (await this.agentEnvHasS3(agent));
    [this.apiPort, this.agentPort] = [await freePort(), await freePort()];
    this.forwards = [
      new PortForward(this.namespace, 'svc/api', this.apiPort, 80),
      new PortForward(this.namespace, 'svc/backup-agent', this.agentPort, 80),
    ];
    this.forwards.forEach((f) => f.start());
  }

  async teardown(): Promise<void> {
    this.forwards.forEach((f) => f.stop());
    if (this.suspendedCronJob) await this.setCronJobSuspended(false);
  }

  async killApi(): Promise<string> {
    const pods = (await this.kubectl(['get', 'pods', '-l', API_POD, '-o', 'name'])).trim();
    await this.kubectl(['delete', 'pod', '-l', API_POD, '--wait=false']);
    return `kubectl -n ${this.namespace} delete pod ${pods.replace(/^pod\//gm, '').replace(/\n/g, ' ')}`;
  }

  async stopApi(): Promise<void> {
    this.suspendedCronJob = await this.setCronJobSuspended(true);
    await this.kubectl(['scale', 'deployment', 'api', '--replicas=0']);
    await this.kubectl(['wait', '--for=delete', 'pod', '-l', API_POD, '--timeout=180s']);
  }

  async startApi(): Promise<void> {
    await this.kubectl(['scale', 'deployment', 'api', '--replicas=1']);
    if (this.suspendedCronJob) {
      await this.setCronJobSuspended(false);
      this.suspendedCronJob = false;
    }
  }

  /** The claim is deleted now; Kubernetes finishes deleting it when the pod stops using it. */
  async destroyDataVolume(): Promise<string> {
    await this.kubectl(['delete', 'pvc', 'pra-data', '--wait=false']);
    return `kubectl -n ${this.namespace} delete pvc pra-data`;
  }

  async destroyBackupVolume(): Promise<string> {
    await this.kubectl(['delete', 'pvc', 'pra-backup', '--wait=false']);
    return `kubectl -n ${this.namespace} delete pvc pra-backup`;
  }

  async restoreOffline(ref: BackupRef, from: 'local' | 's3'): Promise<RestoreOutcome> {
    // The deleted claims are gone once no pod uses them; recreate them empty, like the workshop.
    for (const pvc of ['pra-data', 'pra-backup']) {
      await this.kubectl(['wait', '--for=delete', `pvc/${pvc}`, '--timeout=120s']).catch(() => undefined);
    }
    await this.kubectl(['apply', '-f', join(repoRoot(), 'deploy/k8s/base/pvc.yaml')]);
    await this.kubectl(['delete', 'job', 'sqlite-restore', '--ignore-not-found', '--wait=true']);
    const job = await this.restoreJob(from, ref);
    await this.kubectl(['apply', '-f', '-'], JSON.stringify(job));
    await this.kubectl(['wait', '--for=condition=complete', 'job/sqlite-restore', '--timeout=600s']).catch(
      async (err: Error) => {
        const logs = await this.kubectl(['logs', 'job/sqlite-restore']).catch(() => '');
        throw new Error(`the restore Job did not complete: ${err.message}\n${logs}`);
      },
    );
    const result = parseRestoreOutput(await this.kubectl(['logs', 'job/sqlite-restore']));
    const r = result.restored;
    return { id: r.id, createdAt: r.created_at, rows: r.rows, from: r.from };
  }

  async corruptDatabase(): Promise<string> {
    const out = await this.kubectl([
      'exec',
      'deploy/api',
      '-c',
      'backup-agent',
      '--',
      'node',
      '-e',
      DAMAGE_DB_SCRIPT,
      '/data/app.db',
    ]);
    return `${out.trim()} in /data/app.db (kubectl exec into the backup-agent container)`;
  }

  /**
   * deploy/k8s/jobs/restore.yaml for `ref` (its BACKUP_ID is empty: the newest backup); for an
   * offsite restore, with `--from s3` and the agent's S3 configuration (the same env and envFrom
   * as the sidecar).
   */
  async restoreJob(from: 'local' | 's3', ref: BackupRef = LATEST): Promise<K8sObject> {
    const manifest = readFileSync(join(repoRoot(), 'deploy/k8s/jobs/restore.yaml'), 'utf8');
    const job = JSON.parse(
      await this.kubectl(['create', '--dry-run=client', '-o', 'json', '-f', '-'], manifest),
    ) as K8sObject;
    const container = (job.spec['template'] as { spec: { containers: ContainerSpec[] } }).spec.containers[0];
    if (ref.kind === 'id') {
      container.env = (container.env ?? []).map((e) =>
        e.name === 'BACKUP_ID' ? { ...e, value: ref.id } : e,
      );
    } else if (ref.kind === 'at') {
      container.args = [...(container.args ?? []), ...backupRefArgs(ref)];
    }
    if (from === 's3') {
      const agent = await this.agentContainer();
      container.args = [...(container.args ?? []), '--from', 's3'];
      const own = new Set((container.env ?? []).map((e) => e.name));
      container.env = [...(container.env ?? []), ...(agent.env ?? []).filter((e) => !own.has(e.name))];
      container.envFrom = [...(container.envFrom ?? []), ...(agent.envFrom ?? [])];
    }
    return job;
  }

  private async agentContainer(): Promise<ContainerSpec> {
    const deployment = JSON.parse(await this.kubectl(['get', 'deployment', 'api', '-o', 'json'])) as {
      spec: { template: { spec: { initContainers?: ContainerSpec[]; containers: ContainerSpec[] } } };
    };
    const pod = deployment.spec.template.spec;
    const agent = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === 'backup-agent');
    if (!agent)
      throw new Error(
        'no backup-agent container in deployment/api: the drill needs the sidecar mode (deploy/k8s/base)',
      );
    return agent;
  }

  private async agentEnvHasS3(agent: ContainerSpec): Promise<boolean> {
    for (const ref of agent.envFrom ?? []) {
      const name = (ref as { configMapRef?: { name?: string } }).configMapRef?.name;
      if (!name) continue;
      const data = await this.kubectl(['get', 'configmap', name, '-o', 'jsonpath={.data.S3_BUCKET}']).catch(
        () => '',
      );
      if (data.trim()) return true;
    }
    return false;
  }

  /** Suspends or resumes the CronJob of the cronjob overlay; false when there is none. */
  private async setCronJobSuspended(suspend: boolean): Promise<boolean> {
    const exists = await this.run('kubectl', ['-n', this.namespace, 'get', 'cronjob', 'sqlite-backup']);
    if (exists.code !== 0) return false;
    await this.kubectl(['patch', 'cronjob', 'sqlite-backup', '-p', JSON.stringify({ spec: { suspend } })]);
    return true;
  }

  private kubectl(args: string[], input?: string): Promise<string> {
    return mustRun(this.run, 'kubectl', ['-n', this.namespace, ...args], input);
  }
}

/** `kubectl port-forward`, restarted whenever it exits (the pod behind the Service was replaced). */
class PortForward {
  private child: ChildProcess | null = null;
  private stopped = false;

  constructor(
    private readonly namespace: string,
    private readonly resource: string,
    private readonly localPort: number,
    private readonly remotePort: number,
  ) {}

  start(): void {
    if (this.stopped) return;
    this.child = spawn(
      'kubectl',
      ['-n', this.namespace, 'port-forward', this.resource, `${this.localPort}:${this.remotePort}`],
      {
        stdio: 'ignore',
      },
    );
    this.child.on('exit', () => {
      if (!this.stopped) setTimeout(() => this.start(), 500);
    });
    // A port-forward can outlive its pod without noticing: probe it and restart it if it hangs.
    void this.watch();
  }

  stop(): void {
    this.stopped = true;
    this.child?.kill();
  }

  private async watch(): Promise<void> {
    const child = this.child;
    await sleep(2000);
    while (!this.stopped && child === this.child && child?.exitCode === null) {
      const ok = await http(`http://127.0.0.1:${this.localPort}/health`, { timeoutMs: 2000 }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!ok) child.kill();
      await sleep(1000);
    }
  }
}
