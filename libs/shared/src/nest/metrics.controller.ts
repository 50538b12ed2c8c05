import { Controller, Get, Header, Inject } from '@nestjs/common';
import { Registry } from 'prom-client';

/** Injection token of the app instance's prom-client Registry (one per app, so tests can run several). */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/** `GET /metrics` in Prometheus text format, the same in both services. */
@Controller()
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
