import { Controller, Get, Inject } from '@nestjs/common';
import type { AgentConfig } from '../config/agent-config';
import { DrillReportSummary, listDrillReports } from '../drills/drill-reports';
import { AGENT_CONFIG } from './agent.tokens';

/** `GET /drills`: the drill reports found in DRILL_REPORTS_DIR, newest first (none when unset). */
@Controller('drills')
export class DrillsController {
  constructor(@Inject(AGENT_CONFIG) private readonly config: AgentConfig) {}

  @Get()
  list(): Promise<DrillReportSummary[]> {
    return listDrillReports(this.config.drillReportsDir);
  }
}
