import { BackupManifest, compareBackupIds } from '@pra-kit/shared';
import { StoredBackup } from './backup.store';

/**
 * Offsite state of one backup, as the agent tracks it: `uploaded`; `pending` (queued, not tried
 * yet); `failed` (tried, will be retried: see attempts and last_error); `absent` (no offsite copy
 * and none queued: a backup without manifest, or one that offsite retention does not keep).
 */
export interface OffsiteState {
  readonly state: 'uploaded' | 'pending' | 'failed' | 'absent';
  readonly attempts?: number;
  readonly last_error?: string;
  readonly uploaded_at?: string;
}

/** A restore point as the agent shows it (GET /backups, `list`). */
export interface BackupView {
  readonly id: string;
  readonly file: string;
  readonly created_at: string;
  readonly age_seconds: number;
  readonly size: number;
  readonly sha256: string | null;
  readonly rows: number | null;
  /** true: verified when taken (sha256 + integrity recorded); null: no manifest, never verified. */
  readonly verified: boolean | null;
  readonly verify_mode: string | null;
  readonly reason: string | null;
  /** Where a copy exists. */
  readonly location: 'local' | 'offsite' | 'both';
  /** Offsite copy state (see OffsiteState); null when offsite copies are off. */
  readonly offsite: OffsiteState | null;
  /** Present when something deserves attention (e.g. listed from a file without manifest). */
  readonly note?: string;
  /**
   * Its place in a replication chain: from this point, any instant up to `to` can be restored
   * (`from` is null when the chain's range no longer starts at or before it). null: standalone.
   */
  readonly chain?: {
    readonly id: string;
    readonly tx: number;
    readonly status: 'live' | 'ended';
    readonly from: string | null;
    readonly to: string | null;
    /** What the bucket can restore from this point (offsite copies on; null: nothing there yet). */
    readonly offsite?: { readonly from: string; readonly to: string } | null;
  } | null;
  /** When this point last passed a restore test ("restore-tested"); null: never. */
  readonly restore_tested_at?: string | null;
  /** Why its last restore test failed, when it did. */
  readonly restore_test_error?: string | null;
}

/**
 * Merges what the local directory and the offsite store hold into one list of restore points,
 * newest first. A backup only offsite (the local volume was lost) is listed too: it can be
 * restored with `from: s3`.
 */
export function buildCatalog(
  local: readonly StoredBackup[],
  offsite: readonly StoredBackup[] | null,
  offsiteState: (id: string) => OffsiteState | null,
  now: Date,
): BackupView[] {
  const byId = new Map<string, { local?: StoredBackup; offsite?: StoredBackup }>();
  for (const b of local) byId.set(b.id, { local: b });
  for (const b of offsite ?? []) byId.set(b.id, { ...byId.get(b.id), offsite: b });

  const views: BackupView[] = [];
  for (const [id, { local: l, offsite: o }] of byId) {
    const base = (l ?? o) as StoredBackup;
    const manifest: BackupManifest | null = l?.manifest ?? o?.manifest ?? null;
    const state =
      offsite === null
        ? null
        : o
          ? { state: 'uploaded' as const }
          : (offsiteState(id) ?? { state: 'absent' as const });
    views.push({
      id,
      file: `${id}.db`,
      created_at: base.createdAt.toISOString(),
      age_seconds: Math.max(0, Math.floor((now.getTime() - base.createdAt.getTime()) / 1000)),
      size: base.size,
      sha256: manifest?.sha256 ?? null,
      rows: manifest?.rows ?? null,
      verified: manifest ? manifest.verification.ok : null,
      verify_mode: manifest?.verification.mode ?? null,
      reason: manifest?.reason ?? null,
      location: l && o ? 'both' : l ? 'local' : 'offsite',
      offsite: o && offsite !== null ? { ...(offsiteState(id) ?? {}), state: 'uploaded' } : state,
      ...(manifest
        ? {}
        : {
            note: `no manifest (${base.problem ?? 'missing'}): never verified; run "verify --id ${id}" to check it`,
          }),
    });
  }
  return views.sort((a, b) => compareBackupIds(b.id, a.id));
}
