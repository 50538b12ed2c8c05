import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import {
  AutoRestoreEvent,
  CatalogEntry,
  latestBackup,
  readAutoRestoreRecord,
  readRestoreTestRecord,
  RestoreTestEvent,
} from '@pra-kit/shared';
import { API_CONFIG, CLOCK, Clock } from '../app/api.tokens';
import type { ApiConfig } from '../config/api-config';
import { EventRepository } from '../events/event.repository';

export interface StatusResponse {
  readonly count: number;
  readonly last_backup_file: string | null;
  readonly backup_age_seconds: number | null;
  /** true/false from the backup's manifest; null when there is no backup or no manifest. */
  readonly last_backup_verified: boolean | null;
  readonly last_backup_at: string | null;
  /** The last automatic restore at start (BACKUP_AUTO_RESTORE), restored or refused; null: none. */
  readonly last_auto_restore: AutoRestoreEvent | null;
  /** The last scheduled restore test (BACKUP_VERIFY_RESTORE_SCHEDULE), passed or failed; null: none. */
  readonly last_restore_test: RestoreTestEvent | null;
}

/** Workshop Atelier 1: the event count and the newest backup in BACKUP_DIR with its age. */
@Controller()
export class StatusController {
  constructor(
    private readonly events: EventRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  @Get('status')
  status(): StatusResponse {
    const latest = this.readLatest();
    return {
      count: this.events.count(),
      last_backup_file: latest?.file ?? null,
      backup_age_seconds: latest ? ageSeconds(latest.createdAt, this.now()) : null,
      last_backup_verified: latest?.manifest ? latest.manifest.verification.ok : null,
      last_backup_at: latest ? latest.createdAt.toISOString() : null,
      last_auto_restore: readAutoRestoreRecord(this.config.backupDir).last,
      last_restore_test: readRestoreTestRecord(this.config.backupDir).last,
    };
  }

  private readLatest(): CatalogEntry | null {
    try {
      return latestBackup(this.config.backupDir);
    } catch (err) {
      throw new ServiceUnavailableException({
        code: 'BACKUP_DIR_UNREADABLE',
        message: `cannot read backup directory ${this.config.backupDir}: ${(err as Error).message}`,
      });
    }
  }
}

function ageSeconds(createdAt: Date, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - createdAt.getTime()) / 1000));
}
