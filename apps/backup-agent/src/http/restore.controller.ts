import {
  All,
  Req,
  BadRequestException,
  Controller,
  HttpCode,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { BackupRef, parseBackupRef, parseInstant } from '@pra-kit/shared';
import { BackupAgent } from '../core/backup-agent';
import { RestoreResult } from '../core/backup.restorer';
import type { FastifyRequest } from 'fastify';
import { BearerTokenGuard } from './bearer-token.guard';
import { rejectUnroutedId } from './malformed-id';

/**
 * `POST /restore/:id` restores a chosen point (or `latest`) online, while the API keeps serving;
 * `POST /restore?at=<instant>` asks for the state at an instant. `?dry_run=true` answers what would
 * happen; `?from=s3` takes the offsite copy.
 */
@Controller('restore')
@UseGuards(BearerTokenGuard)
export class RestoreController {
  constructor(private readonly agent: BackupAgent) {}

  @Post(':id')
  @HttpCode(200)
  restore(
    @Param('id') id: string,
    @Query('dry_run') dryRun?: string,
    @Query('from') from?: string,
    @Query('allow_gap') allowGap?: string,
  ): Promise<RestoreResult> {
    return this.run(parseBackupRef(id), dryRun, from, allowGap);
  }

  @Post()
  @HttpCode(200)
  restoreAt(
    @Query('at') at?: string,
    @Query('dry_run') dryRun?: string,
    @Query('from') from?: string,
    @Query('allow_gap') allowGap?: string,
  ): Promise<RestoreResult> {
    if (at === undefined || at === '') {
      throw new BadRequestException({
        code: 'INVALID_PARAMETER',
        message:
          'say what to restore: POST /restore/<id>, POST /restore/latest, or POST /restore?at=<instant>',
      });
    }
    return this.run({ kind: 'at', at: parseInstant(at) }, dryRun, from, allowGap);
  }

  private run(
    ref: BackupRef,
    dryRun: string | undefined,
    from: string | undefined,
    allowGap: string | undefined,
  ): Promise<RestoreResult> {
    return this.agent.restore({
      ref,
      mode: 'online',
      dryRun: parseFlag('dry_run', dryRun),
      from: parseFrom(from),
      allowGap: parseFlag('allow_gap', allowGap),
    });
  }

  /** `/restore/../../etc/passwd` and the like: 400, never a path (see rejectUnroutedId). */
  @All('*')
  unrouted(@Param('*') rest: string | string[], @Req() request: FastifyRequest): never {
    rejectUnroutedId(rest, request);
  }
}

function parseFlag(name: string, value: string | undefined): boolean {
  if (value === undefined || /^(false|0|no)$/i.test(value)) return false;
  if (value === '' || /^(true|1|yes)$/i.test(value)) return true;
  throw new BadRequestException({ code: 'INVALID_PARAMETER', message: `${name} must be true or false` });
}

function parseFrom(value: string | undefined): 'local' | 's3' | undefined {
  if (value === undefined || value === 'local' || value === 's3') return value;
  throw new BadRequestException({ code: 'INVALID_PARAMETER', message: 'from must be local or s3' });
}
