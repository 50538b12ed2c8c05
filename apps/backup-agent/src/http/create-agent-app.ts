import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp } from '@pra-kit/shared/nest';
import { Registry } from 'prom-client';
import { secretsRedactor } from '../config/agent-config';
import { AgentModule, AgentModuleOptions } from './agent.module';
import { mapAgentError } from './domain-errors';

/** Builds the agent's HTTP app (used by `serve` and by the tests). */
export function createAgentApp(
  options: Omit<AgentModuleOptions, 'registry'>,
): Promise<NestFastifyApplication> {
  const registry = new Registry();
  return createHttpApp(AgentModule.forRoot({ ...options, registry }), {
    registry,
    mapDomainError: mapAgentError,
    logLevel: options.config.logLevel,
    logFormat: options.config.logFormat,
    redactor: secretsRedactor(options.config),
  });
}
