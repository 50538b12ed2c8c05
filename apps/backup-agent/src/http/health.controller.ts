import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { existsSync } from 'node:fs';
import type { AgentConfig } from '../config/agent-config';
import { AGENT_CONFIG } from './agent.tokens';

@Controller()
export class HealthController {
  constructor(@Inject(AGENT_CONFIG) private readonly config: AgentConfig) {}

  /** Liveness: the process answers. */
  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: the database to back up exists and the backup directory is there. */
  @Get('ready')
  ready(): { status: 'ready' } {
    if (!existsSync(this.config.dbPath)) {
      throw new ServiceUnavailableException({
        code: 'SOURCE_DATABASE_MISSING',
        message: `source database ${this.config.dbPath} does not exist`,
      });
    }
    return { status: 'ready' };
  }
}
