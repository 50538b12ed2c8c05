/* eslint-disable @typescript-eslint/no-explicit-any -- the report is JSON read back from disk */
import { builtEntry, makeTempDir } from '@pra-kit/shared/testing';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The drill CLI for real on the local target: it starts a private instance (API + agent under the
 * supervisor), injects the fault, recovers, and writes its reports. The assertions read the JSON
 * report: the numbers must be there and the checks must hold.
 */
function runDrill(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string; report: Record<string, any> }> {
  const out = makeTempDir('drill-out');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtEntry('drill'), ...args, '--out', out.path, '--json'], {
      env: { PATH: process.env['PATH'], ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => {
      const files = readdirSync(out.path);
      const json = files.find((f) => f.endsWith('.json'));
      const report = json ? JSON.parse(readFileSync(join(out.path, json), 'utf8')) : {};
      expect(files.filter((f) => f.endsWith('.md'))).toHaveLength(json ? 1 : 0);
      // The SVG timeline beside them, referenced by the Markdown report.
      const svg = files.find((f) => f.endsWith('.svg'));
      expect(Boolean(svg)).toBe(Boolean(json));
      if (svg) {
        expect(readFileSync(join(out.path, svg), 'utf8')).toMatch(
          /^<svg [\s\S]*>FAULT<\/text>[\s\S]*<\/svg>\n$/,
        );
        expect(readFileSync(join(out.path, svg.replace(/\.svg$/, '.md')), 'utf8')).toContain(`](${svg})`);
      }
      out.remove();
      resolve({ code, stdout, stderr, report });
    });
  });
}

const fast = [
  '--warmup',
  '2',
  '--after-backup',
  '2',
  '--settle',
  '2',
  '--rate',
  '25',
  '--schedule',
  '*/2 * * * * *',
  '--api',
  'http://127.0.0.1:9',
];

describe('drills on the local target', () => {
  it('pod-loss (PCA): the API is killed -9, comes back, and no acknowledged write is lost', async () => {
    const { code, report, stderr } = await runDrill(['pod-loss', ...fast, '--rto', '60']);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(report).toMatchObject({ scenario: 'pod-loss', kind: 'PCA', passed: true, restored_backup: null });
    expect(report.writes.lost).toBe(0);
    expect(report.writes.acknowledged).toBeGreaterThan(40);
    expect(report.rto_read_ms).toBeGreaterThan(0); // the process really died and came back
    expect(report.rto_write_ms).toBeGreaterThan(0);
    expect(report.fault).toMatch(/^kill -9 \d+/);
    expect(report.timeline.map((e: { step: string }) => e.step)).toEqual(
      expect.arrayContaining(['writing', 'FAULT', 'first read', 'first write', 'read back']),
    );
  });

  it('data-loss (PRA), continuous replication: the newest instant is restored offline, only the last second lost', async () => {
    // --rpo 5: the default objective is the agent's (1 s); a shared CI machine gets some slack.
    const { code, report, stderr } = await runDrill(['data-loss', ...fast, '--rpo', '5']);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(report.timeline.map((e: { step: string }) => e.step)).toContain('replication');
    expect(report.objectives.rpoSeconds).toBe(5);
    expect(report.rpo_ms).toBeLessThan(5000);
    // Restored to the end of the chain: later than the newest snapshot, every write acknowledged
    // before that instant is there.
    expect(Date.parse(report.restored_backup.created_at)).toBeGreaterThan(
      Date.parse(report.backup_at_fault.created_at),
    );
    expect(report.checks).toEqual(
      expect.arrayContaining([
        { name: 'restored data matches the backup', ok: true, detail: expect.any(String) },
      ]),
    );
    // What is lost was acknowledged just before the fault (the sync interval), never earlier.
    expect(report.writes.lost).toBeLessThan(report.writes.rate_per_second * 5);
    expect(report.writes.lost_after_fault).toBe(0);
  });

  it('data-loss (PRA), snapshots only: the latest backup is restored offline, its data intact', async () => {
    const { code, report, stderr } = await runDrill(['data-loss', ...fast], { BACKUP_REPLICATION: 'off' });
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(report.timeline.map((e: { step: string }) => e.step)).not.toContain('replication');
    // The newest backup at the fault is the one restored (or one the schedule finished right then).
    expect(Date.parse(report.restored_backup.created_at)).toBeGreaterThanOrEqual(
      Date.parse(report.backup_at_fault.created_at),
    );
    expect(report.restored_backup.rows).toBeGreaterThan(0);
    expect(report.checks).toEqual(
      expect.arrayContaining([
        { name: 'restored data matches the backup', ok: true, detail: expect.any(String) },
      ]),
    );
    // Writes between the backup and the fault are lost (that is what RPO measures), none after.
    expect(report.writes.lost).toBeGreaterThan(0);
    expect(report.writes.lost_after_fault).toBe(0);
    expect(report.rpo_ms).toBeGreaterThan(0);
    expect(report.rpo_ms).toBeLessThanOrEqual(report.backup_at_fault.age_at_fault_ms + 100);
    // The chart behind the SVG timeline: every acknowledged write in a bucket, kept or lost.
    const sum = (k: string) =>
      report.chart.buckets.reduce((n: number, b: Record<string, number>) => n + b[k], 0);
    expect(sum('kept') + sum('lost')).toBe(report.writes.acknowledged);
    expect(sum('lost')).toBe(report.writes.lost);
    expect(sum('kept') + sum('lost') + sum('refused')).toBeGreaterThanOrEqual(report.writes.attempted);
  });

  it('point-in-time (PRA): restored online to an instant chosen while writing: exactly the writes up to it', async () => {
    const { code, report, stderr } = await runDrill(['point-in-time', ...fast]);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const check = (name: string) => report.checks.find((c: { name: string }) => c.name === name);
    expect(check('every write acknowledged up to the instant is restored')).toMatchObject({ ok: true });
    expect(check('no write sent after the instant survives the restore')).toMatchObject({ ok: true });
    expect(check('no write sent after the instant survives the restore').detail).toMatch(
      /^0 of the [1-9]\d* writes/,
    );
    expect(report.timeline.map((e: { step: string }) => e.step)).toEqual(
      expect.arrayContaining(['instant chosen', 'restore', 'restored', 'first write']),
    );
  });

  it('data-loss --auto (PRA): the pod restarts on an empty volume and the agent restores by itself', async () => {
    const { code, report, stderr } = await runDrill(['data-loss', '--auto', ...fast]);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(report.scenario).toBe('data-loss --auto');
    expect(report.fault).toMatch(
      /rm -rf .*\/data; kill -9 \d+ \d+ \(the API and the agent: the pod restarts\)/,
    );
    const steps = report.timeline.map((e: { step: string }) => e.step);
    expect(steps).toEqual(
      expect.arrayContaining(['FAULT', 'recovery', 'restored', 'first read', 'first write']),
    );
    expect(steps).not.toContain('stop the API'); // no operator step
    expect(Date.parse(report.restored_backup.created_at)).toBeGreaterThanOrEqual(
      Date.parse(report.backup_at_fault.created_at),
    );
    expect(
      report.checks.find((c: { name: string }) => c.name === 'restored data matches the backup').ok,
    ).toBe(true);
    expect(report.writes.lost_after_fault).toBe(0);
    expect(report.rto_read_ms).toBeGreaterThan(0);
  });

  it('corruption (PRA): damaged pages are detected and the latest backup restored online', async () => {
    const { code, report, stderr } = await runDrill(['corruption', ...fast]);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(report.fault).toMatch(/damaged pages/);
    expect(report.timeline.map((e: { step: string }) => e.step)).toContain('detected');
    expect(report.checks.find((c: { name: string }) => c.name === 'backups work again').ok).toBe(true);
  });

  it('backup-loss (PRA): data and backup volumes lost, the newest instant in the bucket restored (local S3 server)', async () => {
    // Hourly snapshots: what is restored past the start comes from the chain's copy in the bucket.
    const args = fast.map((a) => (a === '*/2 * * * * *' ? '0 0 * * * *' : a));
    const { code, report, stderr } = await runDrill(['backup-loss', ...args], { S3_SYNC_INTERVAL: '1s' });
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(report.fault).toMatch(/rm -rf .*\/data; rm -rf .*\/backup/);
    expect(report.timeline.map((e: { step: string }) => e.step)).toContain('replication');
    expect(report.restored_backup.from).toBe('s3');
    // Restored to an instant after the only snapshot: the segments in the bucket were replayed.
    expect(Date.parse(report.restored_backup.created_at)).toBeGreaterThan(
      Date.parse(report.backup_at_fault.created_at) + 2000,
    );
    expect(
      report.checks.find((c: { name: string }) => c.name === 'restored data matches the backup').ok,
    ).toBe(true);
    // What is lost is what the bucket had not received yet (S3_SYNC_INTERVAL, 1 s here), never more.
    expect(report.rpo_ms).toBeLessThan(5000);
    expect(report.writes.lost_after_fault).toBe(0);
  });

  it('exits 1 when an objective is missed, and 2 on a usage error', async () => {
    const missed = await runDrill(['pod-loss', ...fast, '--rto', '0']);
    expect(missed.code).toBe(1);
    expect(missed.report.objectives.missed[0]).toMatch(/^RTO .* > 0s$/);
    const usage = await runDrill(['meteor']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown scenario/);
  });
});
