import { AgentCoreConfig, BackupAgent } from './core/backup-agent';
import { Clock, Logger, systemClock } from './core/ports';
import { buildOffsite, OffsiteSettings } from './offsite/offsite.factory';
import { LocalDirStore } from './stores/local-dir.store';

/** What the agent is built from: the core's settings and the offsite side's (null: off). */
export interface AgentSettings extends AgentCoreConfig {
  readonly offsite: OffsiteSettings | null;
}

export interface AgentEnvironment {
  readonly logger: Logger;
  /** The offsite side's logger (the Nest app gives it its own context); by default `logger`. */
  readonly offsiteLogger?: Logger;
  /** By default the system clock; tests pass a clock they move. */
  readonly clock?: Clock;
}

/**
 * The one place that builds a BackupAgent with its stores and its offsite side. The Nest module,
 * the CLI and the tests all call it, so what `serve` runs and what a one-shot command runs cannot
 * drift apart.
 */
export function buildBackupAgent(settings: AgentSettings, env: AgentEnvironment): BackupAgent {
  const clock = env.clock ?? systemClock;
  const local = new LocalDirStore(settings.backupDir);
  const offsite = buildOffsite(settings.offsite, local, clock, env.offsiteLogger ?? env.logger);
  return new BackupAgent(settings, { local, offsite, clock, logger: env.logger });
}
