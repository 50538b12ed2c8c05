import { BackupView } from '../core/backup.catalog';
import { ChainView } from '../core/replication.port';

/** Plain-text rendering for the CLI (the HTTP API answers JSON). */

export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatBackups(list: readonly BackupView[]): string {
  if (list.length === 0) return 'no backups yet';
  return formatTable(
    ['ID', 'CREATED (UTC)', 'AGE', 'ROWS', 'SIZE', 'VERIFIED', 'RESTORE-TESTED', 'WHERE', 'REASON'],
    list.map((b) => [
      b.id,
      b.created_at.replace('T', ' ').replace(/\.\d+Z$/, ''),
      formatAge(b.age_seconds),
      b.rows === null ? '?' : String(b.rows),
      formatBytes(b.size),
      b.verified === null ? 'no manifest' : b.verified ? `yes (${b.verify_mode})` : 'FAILED',
      b.restore_test_error
        ? 'FAILED'
        : b.restore_tested_at
          ? b.restore_tested_at.replace('T', ' ').replace(/\.\d+Z$/, '')
          : '-',
      b.offsite ? `${b.location} (offsite ${b.offsite.state})` : b.location,
      b.reason ?? '',
    ]),
  );
}

/** The restorable ranges, one line per chain: "any instant from ... to ...". */
export function formatChains(chains: readonly ChainView[]): string {
  if (chains.length === 0) return 'continuous restore: no replication chain yet (it starts with a snapshot)';
  const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, '');
  const lines = chains.flatMap((c) => {
    const onlyOffsite = c.from === null && c.segments === 0 && c.offsite !== undefined;
    const range = onlyOffsite
      ? 'not on this volume'
      : c.from === null
        ? 'nothing restorable (its snapshots are gone)'
        : `any instant from ${when(c.from)} to ${c.status === 'live' ? 'now' : when(c.to as string)}`;
    const detail = onlyOffsite
      ? ''
      : ` (${c.transactions} transactions, ${c.snapshots.length} snapshot(s), ${formatBytes(c.bytes)})`;
    const ended = c.status === 'ended' && c.end_reason ? `; ended: ${c.end_reason}` : '';
    const line = `  ${c.id}  ${c.status.padEnd(5)}  ${range}${detail}${ended}`;
    if (c.offsite === undefined) return [line];
    const offsite = c.offsite
      ? `any instant from ${when(c.offsite.from)} to ${when(c.offsite.to)} (restore --at <instant> --from s3)`
      : 'nothing yet';
    return [line, `  ${' '.repeat(c.id.length)}  ${'offsite'.padEnd(5)}  ${offsite}`];
  });
  return ['continuous restore (UTC), restore --at <instant>:', ...lines].join('\n');
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
