import { All, Req, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { BackupManifest, parseBackupRef } from '@pra-kit/shared';
import { BackupAgent } from '../core/backup-agent';
import { BackupView } from '../core/backup.catalog';
import type { FastifyRequest } from 'fastify';
import { BearerTokenGuard } from './bearer-token.guard';
import { rejectUnroutedId } from './malformed-id';

/** The catalog of restore points and "take a backup now". */
@Controller('backups')
export class BackupsController {
  constructor(private readonly agent: BackupAgent) {}

  @Get()
  list(): Promise<BackupView[]> {
    return this.agent.list();
  }

  /** One restore point; `latest` is the one `POST /restore/latest` restores. Validated before any I/O. */
  @Get(':id')
  get(@Param('id') id: string): Promise<BackupView> {
    return this.agent.get(parseBackupRef(id));
  }

  @Post()
  @HttpCode(201)
  @UseGuards(BearerTokenGuard)
  create(): Promise<BackupManifest> {
    return this.agent.backup('manual');
  }

  /** `/backups/../../etc/passwd` and the like: 400, never a path (see rejectUnroutedId). */
  @All('*')
  unrouted(@Param('*') rest: string | string[], @Req() request: FastifyRequest): never {
    rejectUnroutedId(rest, request);
  }
}
