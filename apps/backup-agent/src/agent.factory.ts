import type { AgentConfig } from './config/agent-config';
import { AgentCoreConfig, BackupAgent, snapshotsInChains } from './core/backup-agent';
import { Clock, Logger, systemClock } from './core/ports';
import { buildOffsite, buildSegmentUploader, OffsiteSettings } from './offsite/offsite.factory';
import { ReplicationService } from './replication/replication';
import { LocalDirStore } from './stores/local-dir.store';

/** What the agent is built from: the core's settings and the offsite side's (null: off). */
export interface AgentSettings extends AgentCoreConfig {
  readonly offsite: OffsiteSettings | null;
  /**
   * Continuous replication (null or absent: off). `follow`: follow the WAL (serve); false: only read
   * the chains (one-shot commands restore from them).
   */
  readonly replication?: {
    readonly syncIntervalMs: number;
    readonly windowMs: number;
    readonly follow: boolean;
  } | null;
}

export interface AgentEnvironment {
  readonly logger: Logger;
  /** The offsite side's logger (the Nest app gives it its own context); by default `logger`. */
  readonly offsiteLogger?: Logger;
  /** Likewise for replication. */
  readonly replicationLogger?: Logger;
  /** By default the system clock; tests pass a clock they move. */
  readonly clock?: Clock;
}

/**
 * The agent's settings from its parsed configuration. `follow`: follow the WAL when replication is
 * on (serve); a one-shot command only reads the chains (a restore Job restores from them).
 */
export function agentSettings(config: AgentConfig, follow: boolean): AgentSettings {
  const r = config.replication;
  return {
    ...config,
    replication: r.enabled ? { syncIntervalMs: r.syncIntervalMs, windowMs: r.windowMs, follow } : null,
  };
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
  const r = settings.replication;
  // The replicator starts a chain with a snapshot the agent takes (under its operation lock, verified,
  // listed, retained like any other), so each needs the other: the agent is bound below.
  let agent: BackupAgent | null = null;
  const replication = r
    ? new ReplicationService(
        {
          dbPath: settings.dbPath,
          backupDir: settings.backupDir,
          ...r,
          onNoSpace: (bytes) => (agent as BackupAgent).makeRoomForReplication(bytes),
        },
        async () => snapshotsInChains(await local.list()),
        (anchor) => (agent as BackupAgent).backup('replication', anchor),
        clock,
        env.replicationLogger ?? env.logger,
        offsite
          ? { store: offsite.chains, snapshots: async () => snapshotsInChains(await offsite.store.list()) }
          : null,
      )
    : null;
  // Following the WAL with offsite copies on: the chains go to the bucket too, segment by segment.
  if (replication?.replicator && offsite) {
    const uploader = buildSegmentUploader(
      settings.offsite,
      offsite,
      replication.store,
      async () => snapshotsInChains(await local.list()),
      clock,
      env.offsiteLogger ?? env.logger,
    );
    if (uploader) offsite.attachSegments(uploader);
  }
  agent = new BackupAgent(settings, { local, offsite, replication, clock, logger: env.logger });
  return agent;
}
