import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { AgentConfig } from '../config/agent-config';
import { autoRestore } from '../core/auto-restore';
import { BackupAgent } from '../core/backup-agent';
import { systemClock } from '../core/ports';
import { AGENT_CONFIG } from './agent.tokens';

/**
 * `serve` with BACKUP_AUTO_RESTORE=latest: the automatic restore runs while the app initializes,
 * before the schedule starts and before the agent answers HTTP (make dev starts the API once the
 * agent answers). It never stops the agent from starting: a refusal is logged, recorded and shown
 * by /ready and /metrics, and the agent stays up for a human to restore.
 */
@Injectable()
export class AutoRestoreLifecycle implements OnModuleInit {
  private readonly logger = new Logger('AutoRestore');

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly agent: BackupAgent,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.autoRestore !== 'latest') return;
    await autoRestore(this.agent, { logger: this.logger, clock: systemClock });
  }
}
