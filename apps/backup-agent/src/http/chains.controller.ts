import { Controller, Get } from '@nestjs/common';
import { BackupAgent } from '../core/backup-agent';
import { ChainView } from '../core/replication.port';

/**
 * `GET /chains`: the replication chains, newest first, with the range of instants each can restore
 * (`from` to `to`; a live chain's `to` is now). Empty when replication is off.
 */
@Controller('chains')
export class ChainsController {
  constructor(private readonly agent: BackupAgent) {}

  @Get()
  list(): Promise<ChainView[]> {
    return this.agent.chains();
  }
}
