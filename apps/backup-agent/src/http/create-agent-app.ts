import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp } from '@pra-kit/shared/nest';
import { Registry } from 'prom-client';
import type { AgentConfig, LogLevelName } from '../config/agent-config';
import { AgentModule } from './agent.module';

const LEVELS: LogLevelName[] = ['error', 'warn', 'log', 'debug'];

/** Builds the agent's HTTP app (used by `serve` and by the tests). */
export function createAgentApp(config: AgentConfig): Promise<NestFastifyApplication> {
  const registry = new Registry();
  return createHttpApp(AgentModule.forRoot(config), {
    registry,
    logLevels: LEVELS.slice(0, LEVELS.indexOf(config.logLevel) + 1),
  });
}
