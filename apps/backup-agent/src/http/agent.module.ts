import { DynamicModule, Module } from '@nestjs/common';
import type { AgentConfig } from '../config/agent-config';
import { AGENT_CONFIG } from './agent.tokens';
import { HealthController } from './health.controller';

@Module({})
export class AgentModule {
  static forRoot(config: AgentConfig): DynamicModule {
    return {
      module: AgentModule,
      controllers: [HealthController],
      providers: [{ provide: AGENT_CONFIG, useValue: config }],
    };
  }
}
