import { AgentCommand } from '../command';
import { EXIT } from '../exit-codes';

/**
 * `test-restore`: what BACKUP_VERIFY_RESTORE_SCHEDULE runs in `serve`, once, now (for CronJob mode,
 * or by hand): the newest point restored into a scratch file on the backup volume, checked, removed.
 */
export const testRestoreCommand: AgentCommand<null> = {
  name: 'test-restore',
  options: {},
  parse: () => null,
  async run(_parsed, { agent, io }) {
    const outcome = await agent.testRestore();
    const printed =
      outcome.outcome === 'nothing-to-test'
        ? { outcome: outcome.outcome, detail: outcome.detail }
        : { outcome: outcome.outcome, ...outcome.event };
    io.out(io.format === 'json' ? JSON.stringify(printed) : JSON.stringify(printed, null, 2));
    return outcome.outcome === 'failed' ? EXIT.corrupt : EXIT.ok;
  },
};
