import { DynamicModule, Logger, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { METRICS_REGISTRY, MetricsController } from '@pra-kit/shared/nest';
import { Registry } from 'prom-client';
import type { AgentConfig } from '../config/agent-config';
import { agentSettings, buildBackupAgent } from '../agent.factory';
import { BackupAgent } from '../core/backup-agent';
import { BackupScheduler, SCHEDULE_SETTINGS, SKIPPED_TICKS } from '../scheduler/backup.scheduler';
import { RESTORE_TEST_SETTINGS, RestoreTestScheduler } from '../scheduler/restore-test.scheduler';
import { AgentMetrics } from './agent-metrics';
import { AutoRestoreLifecycle } from './auto-restore.lifecycle';
import { AGENT_CONFIG } from './agent.tokens';
import { BackupsController } from './backups.controller';
import { ChainsController } from './chains.controller';
import { BearerTokenGuard } from './bearer-token.guard';
import { ConsoleController } from './console.controller';
import { DrillsController } from './drills.controller';
import { HealthController } from './health.controller';
import { OffsiteLifecycle } from './offsite.lifecycle';
import { ReplicationLifecycle } from './replication.lifecycle';
import { RestoreController } from './restore.controller';

export interface AgentModuleOptions {
  readonly config: AgentConfig;
  readonly registry: Registry;
  /** Tests pass their own agent (e.g. with a fake clock). */
  readonly agent?: BackupAgent;
  /** false in tests that drive backups themselves. */
  readonly schedule?: boolean;
}

@Module({})
export class AgentModule {
  static forRoot(options: AgentModuleOptions): DynamicModule {
    const { config, registry } = options;
    return {
      module: AgentModule,
      imports: options.schedule === false ? [] : [ScheduleModule.forRoot()],
      controllers: [
        HealthController,
        BackupsController,
        ChainsController,
        RestoreController,
        MetricsController,
        DrillsController,
        ConsoleController,
      ],
      providers: [
        { provide: AGENT_CONFIG, useValue: config },
        { provide: METRICS_REGISTRY, useValue: registry },
        {
          provide: BackupAgent,
          useFactory: () =>
            options.agent ??
            buildBackupAgent(agentSettings(config, true), {
              logger: new Logger('BackupAgent'),
              offsiteLogger: new Logger('Offsite'),
              replicationLogger: new Logger('Replication'),
            }),
        },
        OffsiteLifecycle,
        ReplicationLifecycle,
        AutoRestoreLifecycle,
        {
          provide: AgentMetrics,
          inject: [BackupAgent],
          useFactory: (a: BackupAgent) => new AgentMetrics(registry, a),
        },
        BearerTokenGuard,
        ...(options.schedule === false
          ? []
          : [
              {
                provide: SCHEDULE_SETTINGS,
                useValue: { schedule: config.schedule, backupOnStart: config.backupOnStart },
              },
              {
                provide: SKIPPED_TICKS,
                inject: [AgentMetrics],
                useFactory: (m: AgentMetrics) => m.skippedTicks,
              },
              BackupScheduler,
              {
                provide: RESTORE_TEST_SETTINGS,
                useValue: { schedule: config.restoreTestSchedule, firstRunDelayMs: 60_000 },
              },
              RestoreTestScheduler,
            ]),
      ],
    };
  }
}
