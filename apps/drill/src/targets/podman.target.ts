import { BackupRef, backupRefArgs } from '@pra-kit/shared';
import { CommandRunner, mustRun, parseRestoreOutput, runCommand } from './command-runner';
import { DAMAGE_DB_SCRIPT } from './damage-db';
import { DrillTarget, RestoreOutcome } from './drill-target';

export interface PodmanTargetOptions {
  readonly apiUrl: string;
  readonly agentUrl: string;
  readonly token: string | undefined;
  /** The agent image, for the one-shot offline restore (what the restore Job runs). */
  readonly agentImage: string;
}

/**
 * The real manifests played by `podman kube play` (deploy/k8s/base, see tools/podman/): the pod
 * labelled app.kubernetes.io/name=api with its `api` and `backup-agent` containers and the volumes
 * pra-data and pra-backup. Podman restarts a container that dies (restartPolicy Always), like
 * Kubernetes; stopping the pod is the scale to 0; the restore is the agent image run once with both
 * volumes, exactly the restore Job's command.
 */
export class PodmanTarget implements DrillTarget {
  readonly name = 'podman' as const;
  readonly offsite = false;
  private pod = '';
  private apiContainer = '';
  private agentContainer = '';

  constructor(
    private readonly options: PodmanTargetOptions,
    private readonly run: CommandRunner = runCommand,
  ) {}

  get description(): string {
    return `podman pod ${this.pod || '(api)'} playing deploy/k8s/base`;
  }

  get token(): string | undefined {
    return this.options.token;
  }

  apiUrl(): string {
    return this.options.apiUrl;
  }

  agentUrl(): string {
    return this.options.agentUrl;
  }

  async setup(): Promise<void> {
    const pods = (
      await this.podman([
        'pod',
        'ps',
        '--filter',
        'label=app.kubernetes.io/name=api',
        '--format',
        '{{.Name}}',
      ])
    )
      .split('\n')
      .filter(Boolean);
    if (pods.length !== 1) {
      throw new Error(
        `expected one pod labelled app.kubernetes.io/name=api, found ${pods.length}: play deploy/k8s/base first (make ci-podman)`,
      );
    }
    this.pod = pods[0];
    const containers = (
      await this.podman(['ps', '-a', '--filter', `pod=${this.pod}`, '--format', '{{.Names}}'])
    ).split('\n');
    this.apiContainer = containers.find((n) => n.endsWith('-api')) ?? '';
    this.agentContainer = containers.find((n) => n.endsWith('-backup-agent')) ?? '';
    if (!this.apiContainer || !this.agentContainer) {
      throw new Error(
        `pod ${this.pod} has no api and backup-agent containers (found: ${containers.join(', ')})`,
      );
    }
  }

  async teardown(): Promise<void> {
    // The pod stays: it is the system under test, the CI script removes it.
  }

  /** SIGKILL to the API's process from outside, like a crash: Podman's restart policy revives it. */
  async killApi(): Promise<string> {
    const pid = Number((await this.podman(['inspect', '-f', '{{.State.Pid}}', this.apiContainer])).trim());
    if (!(pid > 0)) throw new Error(`${this.apiContainer} is not running`);
    process.kill(pid, 'SIGKILL');
    return `kill -9 ${pid} (the main process of container ${this.apiContainer})`;
  }

  async stopApi(): Promise<void> {
    await this.podman(['pod', 'stop', '-t', '10', this.pod]);
  }

  async startApi(): Promise<void> {
    await this.podman(['pod', 'start', this.pod]);
  }

  async destroyDataVolume(): Promise<string> {
    return this.emptyVolume('pra-data');
  }

  async destroyBackupVolume(): Promise<string> {
    return this.emptyVolume('pra-backup');
  }

  async restoreOffline(ref: BackupRef, from: 'local' | 's3'): Promise<RestoreOutcome> {
    const out = await this.podman([
      'run',
      '--rm',
      '--user',
      '10001:10001',
      '--read-only',
      '--tmpfs',
      '/tmp',
      '--cap-drop',
      'ALL',
      '-v',
      'pra-data:/data',
      '-v',
      'pra-backup:/backup',
      '-e',
      'DB_PATH=/data/app.db',
      '-e',
      'BACKUP_DIR=/backup',
      '-e',
      'BACKUP_VERIFY=full',
      this.options.agentImage,
      'restore',
      ...backupRefArgs(ref),
      '--offline',
      '--from',
      from,
    ]);
    const { restored } = parseRestoreOutput(out);
    return { id: restored.id, createdAt: restored.created_at, rows: restored.rows, from: restored.from };
  }

  async corruptDatabase(): Promise<string> {
    const out = await this.podman([
      'exec',
      this.agentContainer,
      'node',
      '-e',
      DAMAGE_DB_SCRIPT,
      '/data/app.db',
    ]);
    return `${out.trim()} in /data/app.db (podman exec into ${this.agentContainer})`;
  }

  /** Deletes everything in the volume while the pod runs: the data is gone, the volume stays. */
  private async emptyVolume(volume: string): Promise<string> {
    const mountpoint = (await this.podman(['volume', 'inspect', volume, '-f', '{{.Mountpoint}}'])).trim();
    if (!mountpoint.startsWith('/')) throw new Error(`no mountpoint for volume ${volume}`);
    await mustRun(this.run, 'find', [mountpoint, '-mindepth', '1', '-delete']);
    return `deleted everything in volume ${volume} (${mountpoint})`;
  }

  private podman(args: string[]): Promise<string> {
    return mustRun(this.run, 'podman', args);
  }
}
