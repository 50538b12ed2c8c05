import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The drill's reports (apps/drill writes `<run>-<scenario>-<target>.json` into var/drills), read
 * for the console: a summary of each, newest first. Read-only; only names the drill writes are
 * opened, and nothing from a request is part of a path.
 */
export interface DrillReportSummary {
  readonly name: string;
  readonly run_id: string;
  readonly scenario: string;
  readonly kind: string;
  readonly target: string;
  readonly started_at: string;
  readonly fault_at: string | null;
  readonly passed: boolean;
  readonly rto_read_ms: number | null;
  readonly rto_write_ms: number | null;
  readonly rpo_ms: number | null;
  readonly writes: { readonly acknowledged: number; readonly lost: number; readonly attempted: number };
  readonly objectives: Record<string, unknown>;
  /** The drill wrote its SVG timeline beside the report: GET /drills/<name>/timeline.svg. */
  readonly timeline_svg: boolean;
}

/** `20261130-104834-data-loss-local`: what the drill names a run's files (.json, .md, .svg). */
export const DRILL_NAME = /^\d{8}-\d{6}-[a-z][a-z-]{0,39}-[a-z0-9]{1,20}$/;
const REPORT_FILE = /^(\d{8}-\d{6}-[a-z][a-z-]{0,39}-[a-z0-9]{1,20})\.json$/;

const MAX_REPORT_BYTES = 4 * 1024 * 1024;

/** The newest `limit` reports of `dir`; none when `dir` is unset or does not exist yet. */
export async function listDrillReports(dir: string | undefined, limit = 20): Promise<DrillReportSummary[]> {
  if (dir === undefined) return [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const reports = names
    .filter((n) => REPORT_FILE.test(n))
    .sort()
    .reverse();
  const out: DrillReportSummary[] = [];
  for (const name of reports) {
    if (out.length >= limit) break;
    const summary = await readSummary(join(dir, name), name, names.includes(name.replace(/\.json$/, '.svg')));
    if (summary) out.push(summary);
  }
  return out;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A report's summary; null for a file that is not one (half written, or something else). */
async function readSummary(path: string, name: string, svg: boolean): Promise<DrillReportSummary | null> {
  try {
    if (!(await isSmallFile(path))) return null;
    const r = obj(JSON.parse(await readFile(path, 'utf8')));
    const startedAt = str(r['started_at']);
    if (!startedAt || !str(r['scenario'])) return null;
    const writes = obj(r['writes']);
    return {
      name: name.replace(/\.json$/, ''),
      run_id: str(r['run_id']) ?? '',
      scenario: str(r['scenario']) ?? '',
      kind: str(r['kind']) ?? '',
      target: str(r['target']) ?? '',
      started_at: startedAt,
      fault_at: str(r['fault_at']),
      passed: r['passed'] === true,
      rto_read_ms: num(r['rto_read_ms']),
      rto_write_ms: num(r['rto_write_ms']),
      rpo_ms: num(r['rpo_ms']),
      writes: {
        acknowledged: num(writes['acknowledged']) ?? 0,
        lost: num(writes['lost']) ?? 0,
        attempted: num(writes['attempted']) ?? 0,
      },
      objectives: obj(r['objectives']),
      timeline_svg: svg,
    };
  } catch {
    return null;
  }
}

/**
 * The SVG timeline of one drill, by its name (validated first: InvalidDrillNameError); null when
 * there is none. Only a regular file of the reports' folder is read.
 */
export async function readDrillTimeline(dir: string | undefined, name: string): Promise<Buffer | null> {
  if (!DRILL_NAME.test(name)) throw new InvalidDrillNameError(name);
  if (dir === undefined) return null;
  const path = join(dir, `${name}.svg`);
  return (await isSmallFile(path)) ? readFile(path) : null;
}

/** A drill name that is not one (`../../etc/passwd`, `a/b`): refused before any filesystem call. */
export class InvalidDrillNameError extends Error {
  readonly code = 'INVALID_DRILL_NAME';
  constructor(name: string) {
    super(
      `"${name.slice(0, 80)}" is not a drill name: it looks like 20261130-104834-data-loss-local (GET /drills lists them)`,
    );
    this.name = 'InvalidDrillNameError';
  }
}

async function isSmallFile(path: string): Promise<boolean> {
  try {
    const stat = await lstat(path);
    return stat.isFile() && stat.size <= MAX_REPORT_BYTES;
  } catch {
    return false;
  }
}
