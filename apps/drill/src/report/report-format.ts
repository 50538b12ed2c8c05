import { DrillReport, fmtMs } from './drill-report';

/** The end-of-drill table (terminal) and the Markdown report. */

function rows(r: DrillReport): [string, string][] {
  const failed =
    Object.entries(r.writes.failed)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ') || 'none';
  return [
    ['scenario', `${r.scenario} (${r.kind}): ${r.summary}`],
    ['target', r.target_description],
    ['fault', `${r.fault} at ${r.fault_at}`],
    ['RTO (first read)', fmtMs(r.rto_read_ms)],
    ['RTO (first write)', fmtMs(r.rto_write_ms)],
    ['RPO', fmtMs(r.rpo_ms)],
    [
      'writes',
      `${r.writes.acknowledged} acknowledged of ${r.writes.attempted} at ${r.writes.rate_per_second}/s; failed: ${failed}`,
    ],
    [
      'lost writes',
      `${r.writes.lost}${r.writes.lost ? ` (${r.writes.lost_after_fault} of them acknowledged after the fault; e.g. ${r.writes.lost_examples.join(', ')})` : ''}`,
    ],
    [
      'backup at fault',
      r.backup_at_fault
        ? `${r.backup_at_fault.id}, ${r.backup_at_fault.rows} rows, ${fmtMs(r.backup_at_fault.age_at_fault_ms)} old`
        : 'n/a',
    ],
    [
      'restored',
      r.restored_backup
        ? `${r.restored_backup.id} (${r.restored_backup.rows} rows, from ${r.restored_backup.from})`
        : 'nothing to restore',
    ],
    ...r.checks.map((c): [string, string] => [`check: ${c.name}`, `${c.ok ? 'ok' : 'FAILED'} (${c.detail})`]),
    [
      'objectives',
      r.objectives.missed.length ? `MISSED: ${r.objectives.missed.join('; ')}` : objectivesText(r),
    ],
    ['result', r.passed ? 'PASSED' : 'FAILED'],
  ];
}

function objectivesText(r: DrillReport): string {
  const o = r.objectives;
  const parts = [
    o.rtoSeconds !== undefined ? `RTO ≤ ${o.rtoSeconds}s` : null,
    o.rpoSeconds !== undefined ? `RPO ≤ ${o.rpoSeconds}s` : null,
    o.maxLost !== undefined ? `lost ≤ ${o.maxLost}` : null,
  ].filter(Boolean);
  return parts.length ? `met (${parts.join(', ')})` : 'none set';
}

export function formatTable(r: DrillReport): string {
  const data = rows(r);
  const width = Math.max(...data.map(([k]) => k.length));
  return data.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

/** The Markdown report; `timelineImage` is the SVG timeline's file name, beside it. */
export function formatMarkdown(r: DrillReport, timelineImage?: string): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `# DR drill: ${r.scenario} on ${r.target} — ${r.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `Run \`${r.run_id}\`, started ${r.started_at}.`,
    '',
    ...(timelineImage
      ? [
          `![The drill over time: writes kept, lost and refused, the fault, the restore, the first read and write](${timelineImage})`,
          '',
        ]
      : []),
    '| | |',
    '|---|---|',
    ...rows(r).map(([k, v]) => `| ${escape(k)} | ${escape(v)} |`),
    '',
    '## Timeline',
    '',
    '| t | step | detail |',
    '|---|---|---|',
    ...r.timeline.map(
      (e) => `| +${(e.t_ms / 1000).toFixed(2)}s | ${escape(e.step)} | ${escape(e.detail ?? '')} |`,
    ),
    '',
    '## What the numbers mean',
    '',
    '- **RTO** (first read): from the fault to the first successful read of the recovered service; (first write): to the first acknowledged write.',
    '- **RPO**: from the fault back to the newest acknowledged write that survived. With backups every N seconds, a PRA loses at most the writes since the last backup.',
    '- **lost writes**: writes the API acknowledged ("added") that are not there after recovery. A PCA must lose none.',
    '',
  ].join('\n');
}
