import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp } from '@pra-kit/shared/nest';
import { Registry } from 'prom-client';
import type { LogLevelName } from '../config/agent-config';
import { AgentModule, AgentModuleOptions } from './agent.module';
import { mapAgentError } from './domain-errors';

const LEVELS: LogLevelName[] = ['error', 'warn', 'log', 'debug'];

/** Builds the agent's HTTP app (used by `serve` and by the tests). */
export function createAgentApp(options: Omit<AgentModuleOptions, 'registry'>): Promise<NestFastifyApplication> {
  const registry = new Registry();
  return createHttpApp(AgentModule.forRoot({ ...options, registry }), {
    registry,
    mapDomainError: mapAgentError,
    logLevels: LEVELS.slice(0, LEVELS.indexOf(options.config.logLevel) + 1),
  });
}
