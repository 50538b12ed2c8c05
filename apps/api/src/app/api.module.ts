import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { readCatalogDir } from '@pra-kit/shared';
import { Registry } from 'prom-client';
import type { ApiConfig } from '../config/api-config';
import { ApiDatabase } from '../database/api-database';
import { EventRepository } from '../events/event.repository';
import { EventsController } from '../events/events.controller';
import { HealthController } from '../health/health.controller';
import { ApiMetrics } from '../metrics/api-metrics';
import { StatusController } from '../status/status.controller';
import { METRICS_REGISTRY, MetricsController } from '@pra-kit/shared/nest';
import { API_CONFIG, CLOCK, Clock } from './api.tokens';

/** Flushes queued writes, then closes the database, when the app shuts down (SIGTERM). */
class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(EventRepository) private readonly events: EventRepository,
    @Inject(ApiDatabase) private readonly database: ApiDatabase,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.events.drain();
    this.database.close();
  }
}

@Module({})
export class ApiModule {
  static forRoot(config: ApiConfig, registry: Registry, clock: Clock = () => new Date()): DynamicModule {
    return {
      module: ApiModule,
      controllers: [HealthController, EventsController, StatusController, MetricsController],
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: METRICS_REGISTRY, useValue: registry },
        { provide: CLOCK, useValue: clock },
        {
          provide: ApiDatabase,
          useFactory: () => {
            const database = new ApiDatabase(
              {
                path: config.dbPath,
                synchronous: config.dbSynchronous,
                busyTimeoutMs: config.busyTimeoutMs,
                createDb: config.createDb,
                backupCount: () => readCatalogDir(config.backupDir).length,
              },
              new Logger('Database'),
            );
            database.start();
            return database;
          },
        },
        {
          provide: ApiMetrics,
          inject: [ApiDatabase],
          useFactory: (database: ApiDatabase) => new ApiMetrics(registry, database, config.backupDir),
        },
        {
          provide: EventRepository,
          inject: [ApiDatabase, ApiMetrics, CLOCK],
          useFactory: (database: ApiDatabase, metrics: ApiMetrics, now: Clock) =>
            new EventRepository(database, now, (n) => metrics.recordCommit(n)),
        },
        DatabaseLifecycle,
      ],
    };
  }
}
