// 4. Agent memory over many backups: 1000 backups of a small database through POST /backups, the
//    agent's resident memory (VmRSS) read after each. RSS first grows while V8's heap and the
//    allocators reach their working size (the first few hundred backups); a leak then keeps
//    climbing. Flat: the last tenth of the backups uses at most 5% more than the fifth tenth.
import { join } from 'node:path';
import { seedDatabase } from '../lib/db.mjs';
import { json, startAgent } from '../lib/services.mjs';
import { median, mib, round } from '../lib/stats.mjs';

const ROWS = 1000;
/** Growth allowed between the fifth tenth and the last tenth of the backups. */
const FLAT_TOLERANCE = 0.05;

export async function memorySuite({ workDir, template, backups, log }) {
  const dir = join(workDir, 'memory');
  const dbPath = seedDatabase(template, join(dir, 'data', 'app.db'), ROWS);
  const agent = await startAgent({
    dbPath,
    backupDir: join(dir, 'backups'),
    logFile: join(dir, 'agent.log'),
    extra: { BACKUP_KEEP_LAST: '5', LOG_LEVEL: 'warn' },
  });
  try {
    const rss = [];
    const t0 = performance.now();
    for (let i = 0; i < backups; i++) {
      await json(`${agent.url}/backups`, { method: 'POST' });
      rss.push(agent.memory().rss);
    }
    const seconds = (performance.now() - t0) / 1000;
    const window = Math.max(1, Math.floor(backups / 10));
    const early = median(rss.slice(4 * window, 5 * window));
    const late = median(rss.slice(-window));
    const growth = late / early - 1;
    const result = {
      backups,
      rows: ROWS,
      seconds: round(seconds),
      rss_mib_after_first: mib(rss[0]),
      rss_mib_early: mib(early),
      rss_mib_late: mib(late),
      rss_mib_max: mib(Math.max(...rss)),
      growth: round(growth),
      tolerance: FLAT_TOLERANCE,
      flat: growth <= FLAT_TOLERANCE,
      // Every 50th sample, enough to draw the curve.
      rss_mib_samples: rss.filter((_, i) => i % 50 === 49).map(mib),
    };
    log(
      `memory: ${backups} backups in ${result.seconds} s, agent RSS ${result.rss_mib_early} MB -> ${result.rss_mib_late} MB`,
    );
    return result;
  } finally {
    await agent.stop();
  }
}
