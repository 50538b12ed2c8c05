import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiDatabase } from '../database/api-database';

@Controller()
export class HealthController {
  constructor(private readonly database: ApiDatabase) {}

  @Get()
  root(): { status: string } {
    return { status: 'Bonjour tout le monde !' };
  }

  /** Liveness: the process answers. Never touches the database (a restore must not restart us). */
  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: the database is open, readable and writable. */
  @Get('ready')
  ready(): { status: 'ready'; database: string } {
    const result = this.database.checkReady();
    if (!result.ready) {
      throw new ServiceUnavailableException({ code: result.code, message: result.reason });
    }
    return { status: 'ready', database: this.database.path };
  }
}
