import { AgentCommand, CommandContext } from '../command';
import { EXIT } from '../exit-codes';

/** `backup`: one backup now, then retention; with offsite copies on, wait for its upload. */
export const backupCommand: AgentCommand<null> = {
  name: 'backup',
  options: {},
  parse: () => null,
  async run(_parsed, context) {
    const { agent, io } = context;
    // Uploads start first: pending ones from earlier runs are caught up alongside.
    await agent.offsite?.start();
    const m = await agent.backup('manual');
    io.out(`backup ${m.id} ok: ${m.rows} rows, ${m.size} bytes, sha256 ${m.sha256}`);
    return agent.offsite ? reportOffsite(m.id, context) : EXIT.ok;
  },
};

/**
 * CronJob mode: the process is about to exit, so it waits for the offsite copy (at most
 * BACKUP_OFFSITE_WAIT_SECONDS, retrying with backoff meanwhile) and says how it went. A failed
 * upload never fails the backup: it is kept locally and the next run catches the upload up; the
 * distinct exit code lets the Job's status show that the offsite copy is behind.
 */
async function reportOffsite(id: string, { agent, config, io }: CommandContext): Promise<number> {
  const offsite = agent.offsite as NonNullable<typeof agent.offsite>;
  const waitSeconds = config.offsite?.waitSeconds ?? 0;
  await offsite.drain(waitSeconds * 1000);
  const status = offsite.status();
  const state = offsite.stateOf(id);
  const others = status.pending - (state && state.state !== 'uploaded' ? 1 : 0);
  const backlog = others > 0 ? `; ${others} other backup(s) still waiting for their offsite copy` : '';
  if (state?.state === 'uploaded') {
    io.out(`offsite ${id} ok: ${status.location}${id}.db${status.encrypted ? ' (encrypted)' : ''}${backlog}`);
    return EXIT.ok;
  }
  const reason = state?.last_error ?? status.lastError?.message ?? 'no answer in time';
  io.err(
    `backup-agent backup: offsite copy of ${id} NOT done within ${waitSeconds} s: ${reason}. ` +
      `The local backup is kept; the next run uploads it${backlog}`,
  );
  return EXIT.offsiteFailed;
}
