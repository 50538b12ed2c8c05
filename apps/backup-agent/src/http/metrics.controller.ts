import { Controller, Get, Header } from '@nestjs/common';
import { AgentMetrics } from './agent-metrics';

@Controller()
export class MetricsController {
  constructor(private readonly metrics: AgentMetrics) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
