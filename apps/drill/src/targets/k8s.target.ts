import { BackupRef } from '@pra-kit/shared';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, sleep } from '../http';
import { freePort } from '../free-port';
import { repoRoot } from '../repo-root';
import { CommandRunner, mustRun, parseRestoreOutput, runCommand } from './command-runner';
import { DAMAGE_DB_SCRIPT } from './damage-db';
import { DrillTarget, RestoreOutcome } from './drill-target';

interface ContainerSpec {
  name: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: unknown[];
}

/**
 * The cluster (kubectl against the current context), driven by the runbook tools/k8s/workshop.sh,
 * the same one `make` and Ansible run: `kill-pod` (PCA); `stop`, `delete-volume`, `restore-job`,
 * `start` (PRA), with the runbook's own waits, timeouts and failure handling. The API and the
 * agent are reached through the runbook's port-forwards on free local ports, started again
 * whenever they stop answering (a port-forward dies with its pod).
 */
export class K8sTarget implements DrillTarget {
  readonly name = 'k8s' as const;
  private apiPort = 0;
  private agentPort = 0;
  private runDir = '';
  private tokenValue: string | undefined;
  private offsiteConfigured = false;
  private watching = false;
  private watcher: Promise<void> | null = null;

  constructor(
    private readonly namespace: string,
    token: string | undefined,
    private readonly run: CommandRunner = runCommand,
    private readonly runbook: string = join(repoRoot(), 'tools/k8s/workshop.sh'),
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.tokenValue = token;
  }

  get description(): string {
    return `Kubernetes namespace ${this.namespace} (kubectl, current context; tools/k8s/workshop.sh)`;
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
    this.runDir = mkdtempSync(join(tmpdir(), 'pra-drill-forwards-'));
    await this.step('forward');
    this.watching = true;
    this.watcher = this.watchForwards();
  }

  async teardown(): Promise<void> {
    this.watching = false;
    await this.watcher;
    await this.step('unforward').catch(() => undefined);
    if (this.runDir) rmSync(this.runDir, { recursive: true, force: true });
  }

  /** Returns the command the runbook ran, e.g. "kubectl -n pra delete pod api-7c4fd76955-abcde". */
  async killApi(): Promise<string> {
    const out = await this.step('kill-pod');
    const line = out.split('\n').find((l) => /^\+ .* delete pod /.test(l));
    return (line ?? '+ kubectl delete pod').slice(2).replace(/ --wait=false$/, '');
  }

  async stopApi(): Promise<void> {
    await this.step('stop');
  }

  async startApi(): Promise<void> {
    await this.step('start');
  }

  /** The claim is deleted now; Kubernetes finishes deleting it when the pod stops using it. */
  async destroyDataVolume(): Promise<string> {
    await this.step('delete-volume', 'pra-data');
    return `kubectl -n ${this.namespace} delete pvc pra-data`;
  }

  async destroyBackupVolume(): Promise<string> {
    await this.step('delete-volume', 'pra-backup');
    return `kubectl -n ${this.namespace} delete pvc pra-backup`;
  }

  /** The runbook's restore-job: recreates the lost volumes, runs the Job, waits for it. */
  async restoreOffline(ref: BackupRef, from: 'local' | 's3'): Promise<RestoreOutcome> {
    const out = await this.step('restore-job', undefined, {
      FROM: from,
      ID: ref.kind === 'id' ? ref.id : '',
      AT: ref.kind === 'at' ? ref.at.toISOString() : '',
    });
    const r = parseRestoreOutput(out).restored;
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

  /** Runs one runbook step; fails with its output when it fails. */
  private async step(command: string, arg?: string, extra: NodeJS.ProcessEnv = {}): Promise<string> {
    const result = await this.run('bash', [this.runbook, command, ...(arg ? [arg] : [])], undefined, {
      ...this.env,
      NS: this.namespace,
      RUN_DIR: this.runDir,
      API_LOCAL_PORT: String(this.apiPort),
      AGENT_LOCAL_PORT: String(this.agentPort),
      DRY_RUN: '',
      ...extra,
    });
    if (result.code !== 0) {
      const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
      throw new Error(`tools/k8s/workshop.sh ${command} failed (exit ${result.code}):\n${output}`);
    }
    return result.stdout;
  }

  /** Starts the forwards again (the runbook's forward) whenever one stops answering. */
  private async watchForwards(): Promise<void> {
    while (this.watching) {
      await sleep(500);
      const healthy = async (url: string) =>
        http(`${url}/health`, { timeoutMs: 2000 }).then(
          (r) => r.status === 200,
          () => false,
        );
      if (!this.watching) break;
      if (!(await healthy(this.apiUrl())) || !(await healthy(this.agentUrl()))) {
        await this.step('forward').catch(() => sleep(1000));
      }
    }
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

  private kubectl(args: string[]): Promise<string> {
    return mustRun(this.run, 'kubectl', ['-n', this.namespace, ...args], undefined, this.env);
  }
}
