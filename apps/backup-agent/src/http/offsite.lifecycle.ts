import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { BackupAgent } from '../core/backup-agent';

/**
 * Starts the offsite uploads with the app and stops them with it. Uploads run whether or not the
 * schedule runs (a restore-only agent still catches up what is pending), and an upload in flight
 * at shutdown is resumed at the next start (the queue is journaled).
 */
@Injectable()
export class OffsiteLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly agent: BackupAgent) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.agent.offsite?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.offsite?.stop();
  }
}
