import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { BackupAgent } from '../core/backup-agent';

/**
 * Starts following the WAL with the app and stops with it: at shutdown, what is committed is
 * shipped and the WAL let go; the next start continues the chain when the WAL allows it.
 */
@Injectable()
export class ReplicationLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly agent: BackupAgent) {}

  onApplicationBootstrap(): void {
    this.agent.replication?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.replication?.stop();
  }
}
