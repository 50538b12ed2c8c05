import { DrillReport, fmtMs } from './drill-report';

/**
 * The drill as a picture, an SVG file beside the Markdown report: the writes over time (kept, lost,
 * refused), the fault, the restore and the first read and write after it, with the RPO and RTO as
 * bands. Pure: a report in, a self-contained SVG out (no script, no font, no link), which GitHub
 * and any browser show as an image.
 */

const WIDTH = 960;
const HEIGHT = 376;
const LEFT = 64;
const RIGHT = WIDTH - 24;
const BASELINE = 268; // kept and lost writes go up from here, refused ones down
const UP = 110;
const DOWN = 44;
const COLORS = {
  kept: '#2e8b57',
  lost: '#c62828',
  refused: '#9aa3af',
  fault: '#c62828',
  backup: '#1f5fa8',
  restore: '#6a1b9a',
  back: '#1b7f3b',
  text: '#1b2332',
  muted: '#5a6478',
  grid: '#e6eaf0',
};

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Marker {
  readonly at: number;
  readonly label: string;
  readonly color: string;
  readonly dashed?: boolean;
}

/** The instants to mark, in time order. */
export function markers(r: DrillReport): Marker[] {
  const c = r.chart;
  const list: Marker[] = [];
  if (c.restored_snapshot_ms !== null && r.restored_backup) {
    list.push({
      at: c.restored_snapshot_ms,
      label: `restored up to here (${r.restored_backup.id})`,
      color: COLORS.backup,
      dashed: true,
    });
  }
  list.push({ at: c.fault_ms, label: 'FAULT', color: COLORS.fault });
  if (r.restored_backup && c.recovered_ms > c.fault_ms) {
    list.push({ at: c.recovered_ms, label: 'restore done', color: COLORS.restore });
  }
  if (c.first_read_ms !== null) list.push({ at: c.first_read_ms, label: 'first read', color: COLORS.back });
  if (c.first_write_ms !== null)
    list.push({ at: c.first_write_ms, label: 'first write', color: COLORS.back, dashed: true });
  return list.sort((a, b) => a.at - b.at);
}

/** A round step for the time axis: at most 12 ticks. */
export function tickStepMs(spanMs: number): number {
  const steps = [500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000];
  return steps.find((s) => spanMs / s <= 12) ?? Math.ceil(spanMs / 12 / 600_000) * 600_000;
}

export function renderTimelineSvg(r: DrillReport): string {
  const c = r.chart;
  const span = Math.max(1, c.end_ms + c.bucket_ms);
  const x = (t: number) => LEFT + (Math.max(0, Math.min(span, t)) / span) * (RIGHT - LEFT);
  const top = Math.max(1, ...c.buckets.map((b) => b.kept + b.lost));
  const bottom = Math.max(1, ...c.buckets.map((b) => b.refused));
  const barWidth = Math.max(1, ((RIGHT - LEFT) * c.bucket_ms) / span - 1);
  const parts: string[] = [];
  const text = (px: number, py: number, content: string, attrs = '') =>
    parts.push(`<text x="${px.toFixed(1)}" y="${py.toFixed(1)}"${attrs}>${escapeXml(content)}</text>`);

  const title = `DR drill ${r.scenario} (${r.kind}) on ${r.target}: ${r.passed ? 'PASSED' : 'FAILED'}`;
  const lostWords = `${r.writes.lost} of ${r.writes.acknowledged} acknowledged writes lost`;
  const summary = `RTO ${fmtMs(r.rto_read_ms)} (first read), ${fmtMs(r.rto_write_ms)} (first write) · RPO ${fmtMs(r.rpo_ms)} · ${lostWords}`;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="title desc" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif" font-size="12" fill="${COLORS.text}">`,
    `<title id="title">${escapeXml(title)}</title>`,
    `<desc id="desc">${escapeXml(`${summary}. Started ${r.started_at}, fault at ${r.fault_at}: ${r.fault}.`)}</desc>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
  );
  text(LEFT, 24, title, ' font-size="15" font-weight="bold"');
  text(LEFT, 44, summary, ` fill="${COLORS.muted}"`);

  // Bands: what the RPO lost (from the restored backup to the fault), what the RTO cost.
  const bandTop = BASELINE - UP - 66; // room for four rows of labels above the tallest bar
  if (c.restored_snapshot_ms !== null && c.restored_snapshot_ms < c.fault_ms) {
    const x1 = x(c.restored_snapshot_ms);
    parts.push(
      `<rect x="${x1.toFixed(1)}" y="${bandTop}" width="${(x(c.fault_ms) - x1).toFixed(1)}" height="${BASELINE + DOWN - bandTop}" fill="#f9a825" fill-opacity="0.16"/>`,
    );
  }
  if (c.first_read_ms !== null && c.first_read_ms > c.fault_ms) {
    const x1 = x(c.fault_ms);
    parts.push(
      `<rect x="${x1.toFixed(1)}" y="${bandTop}" width="${(x(c.first_read_ms) - x1).toFixed(1)}" height="${BASELINE + DOWN - bandTop}" fill="${COLORS.fault}" fill-opacity="0.09"/>`,
    );
  }

  // The time axis.
  const step = tickStepMs(span);
  for (let t = 0; t <= span; t += step) {
    parts.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${bandTop}" y2="${BASELINE + DOWN}" stroke="${COLORS.grid}"/>`,
    );
    text(
      x(t),
      BASELINE + DOWN + 16,
      `${t % 1000 === 0 ? t / 1000 : (t / 1000).toFixed(1)} s`,
      ` text-anchor="middle" fill="${COLORS.muted}" font-size="11"`,
    );
  }
  parts.push(`<line x1="${LEFT}" x2="${RIGHT}" y1="${BASELINE}" y2="${BASELINE}" stroke="${COLORS.muted}"/>`);
  text(LEFT - 8, BASELINE - UP + 4, String(top), ` text-anchor="end" fill="${COLORS.muted}" font-size="11"`);
  text(LEFT - 8, BASELINE + 4, '0', ` text-anchor="end" fill="${COLORS.muted}" font-size="11"`);
  text(
    LEFT - 8,
    BASELINE + DOWN + 2,
    String(bottom),
    ` text-anchor="end" fill="${COLORS.muted}" font-size="11"`,
  );

  // The writes: kept (green) and lost (red) above the line, refused (grey) below.
  for (const b of c.buckets) {
    const bx = x(b.t_ms).toFixed(1);
    const kept = (b.kept / top) * UP;
    const lost = (b.lost / top) * UP;
    const refused = (b.refused / bottom) * DOWN;
    const bar = (y: number, h: number, color: string, what: string, n: number) =>
      parts.push(
        `<rect x="${bx}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${escapeXml(`+${(b.t_ms / 1000).toFixed(2)} s: ${n} ${what}`)}</title></rect>`,
      );
    if (b.kept) bar(BASELINE - kept, kept, COLORS.kept, 'acknowledged and kept', b.kept);
    if (b.lost) bar(BASELINE - kept - lost, lost, COLORS.lost, 'acknowledged and lost', b.lost);
    if (b.refused) bar(BASELINE, refused, COLORS.refused, 'refused or failed', b.refused);
  }

  // The instants, their labels on staggered rows so that close ones stay readable.
  const rows: number[] = [];
  for (const m of markers(r)) {
    const mx = x(m.at);
    let row = 0;
    while (rows[row] !== undefined && mx - (rows[row] as number) < 0) row++;
    const label = m.label;
    const anchorEnd = mx > RIGHT - 120;
    const width = label.length * 6.6;
    rows[row] = anchorEnd ? mx + 6 : mx + width + 10;
    const ly = bandTop + 12 + row * 14;
    parts.push(
      `<line x1="${mx.toFixed(1)}" x2="${mx.toFixed(1)}" y1="${ly - 10}" y2="${BASELINE + DOWN}" stroke="${m.color}" stroke-width="2"${m.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
    );
    text(
      anchorEnd ? mx - 4 : mx + 4,
      ly,
      label,
      ` fill="${m.color}" font-weight="bold" stroke="#ffffff" stroke-width="3" paint-order="stroke"${anchorEnd ? ' text-anchor="end"' : ''}`,
    );
  }

  // Legend.
  const legend: [string, string][] = [
    [COLORS.kept, 'acknowledged, kept'],
    [COLORS.lost, 'acknowledged, lost'],
    [COLORS.refused, 'refused or failed'],
    ['#f9a825', 'RPO: since the restored state'],
    [COLORS.fault, 'RTO: fault to first read'],
  ];
  let lx = LEFT;
  for (const [color, label] of legend) {
    const band = label.startsWith('RPO') || label.startsWith('RTO');
    parts.push(
      `<rect x="${lx}" y="${HEIGHT - 22}" width="12" height="12" fill="${color}"${band ? ` fill-opacity="${label.startsWith('RPO') ? 0.35 : 0.25}"` : ''}/>`,
    );
    text(lx + 17, HEIGHT - 12, label, ` fill="${COLORS.muted}"`);
    lx += 17 + label.length * 6.4 + 22;
  }
  text(
    RIGHT,
    bandTop - 8,
    `writes per ${fmtMs(c.bucket_ms)}`,
    ` text-anchor="end" fill="${COLORS.muted}" font-size="11"`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
