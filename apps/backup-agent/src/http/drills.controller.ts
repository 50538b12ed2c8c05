import { BadRequestException, Controller, Get, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { AgentConfig } from '../config/agent-config';
import {
  DrillReportSummary,
  InvalidDrillNameError,
  listDrillReports,
  readDrillTimeline,
} from '../drills/drill-reports';
import { AGENT_CONFIG } from './agent.tokens';

/**
 * The drill reports found in DRILL_REPORTS_DIR (none when unset), read-only: `GET /drills` lists
 * them newest first, `GET /drills/<name>/timeline.svg` is a run's SVG timeline.
 */
@Controller('drills')
export class DrillsController {
  constructor(@Inject(AGENT_CONFIG) private readonly config: AgentConfig) {}

  @Get()
  list(): Promise<DrillReportSummary[]> {
    return listDrillReports(this.config.drillReportsDir);
  }

  @Get(':name/timeline.svg')
  async timeline(@Param('name') name: string, @Res() reply: FastifyReply): Promise<void> {
    let svg: Buffer | null;
    try {
      svg = await readDrillTimeline(this.config.drillReportsDir, name);
    } catch (err) {
      if (err instanceof InvalidDrillNameError) {
        throw new BadRequestException({ code: err.code, message: err.message });
      }
      throw err;
    }
    if (!svg) {
      throw new NotFoundException({ code: 'DRILL_NOT_FOUND', message: `no drill timeline named ${name}` });
    }
    // A picture, never a document: nothing in it may run or load anything.
    void reply
      .headers({
        'Content-Security-Policy': "default-src 'none'",
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-cache',
      })
      .type('image/svg+xml')
      .send(svg);
  }
}
