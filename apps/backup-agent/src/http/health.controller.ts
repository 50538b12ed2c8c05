import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { constants, existsSync } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import type { AgentConfig } from '../config/agent-config';
import { BackupAgent } from '../core/backup-agent';
import { AGENT_CONFIG } from './agent.tokens';

@Controller()
export class HealthController {
  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly agent: BackupAgent,
  ) {}

  /** Liveness: the process answers. */
  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Readiness: the agent can write backups. A missing source database does NOT make it unready:
   * that is the disaster the agent is there to repair, and it must stay reachable to restore.
   */
  @Get('ready')
  async ready(): Promise<Record<string, unknown>> {
    try {
      await mkdir(this.config.backupDir, { recursive: true });
      await access(this.config.backupDir, constants.W_OK);
    } catch (err) {
      throw new ServiceUnavailableException({
        code: 'BACKUP_DIR_UNWRITABLE',
        message: `backup directory ${this.config.backupDir} is not writable: ${(err as Error).message}`,
      });
    }
    return {
      status: 'ready',
      source_database: existsSync(this.config.dbPath) ? 'present' : 'missing',
      running: this.agent.running,
      last_backup_error: this.agent.stats.lastError,
    };
  }
}
