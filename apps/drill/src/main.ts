import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DrillOptions, parseDrillArgs, USAGE } from './drill-options';
import { runDrill } from './drill-runner';
import { formatMarkdown, formatTable } from './report/report-format';
import { renderTimelineSvg } from './report/timeline-svg';
import { autoDataLoss, SCENARIOS } from './scenarios/scenarios';
import { createTarget } from './targets/create-target';
import { Timeline } from './timeline';

async function main(argv: string[]): Promise<number> {
  let options: DrillOptions;
  try {
    const parsed = parseDrillArgs(argv, process.env);
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    options = parsed;
  } catch (err) {
    process.stderr.write(`drill: ${(err as Error).message} (see --help)\n`);
    return 2;
  }

  const runId = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const scenario = options.auto ? autoDataLoss() : SCENARIOS[options.scenario];
  const timeline = new Timeline();
  const target = createTarget(options, runId, scenario.needsOffsite, (line) => timeline.progress(line));
  let report;
  try {
    report = await runDrill(
      scenario,
      target,
      {
        runId,
        ratePerSecond: options.rate,
        warmupSeconds: options.warmup,
        afterBackupSeconds: options.afterBackup,
        settleSeconds: options.settle,
        timeoutSeconds: options.timeout,
        objectives: options.objectives,
      },
      timeline,
    );
  } catch (err) {
    process.stderr.write(
      `drill: could not complete the ${options.scenario} drill: ${(err as Error).message}\n`,
    );
    return 3;
  }

  const outDir = resolve(options.out);
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `${runId}-${options.scenario}${options.auto ? '-auto' : ''}-${options.target}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.svg`, renderTimelineSvg(report));
  writeFileSync(`${base}.md`, formatMarkdown(report, `${basename(base)}.svg`));
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`\n${formatTable(report)}\n\n  reports: ${base}.json, ${base}.md, ${base}.svg\n`);
  return report.passed ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`drill: ${String((err as Error)?.stack ?? err)}\n`);
    process.exitCode = 3;
  },
);
