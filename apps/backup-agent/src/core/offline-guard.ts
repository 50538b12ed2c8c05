import { checkExclusiveAccess } from '../infra/database-in-use';
import { DatabaseInUseError } from './errors';
import { Logger } from './ports';

/**
 * An offline restore replaces the database file: it is safe only when nothing has the file open.
 * Checked with SQLite itself (infra/database-in-use.ts) before anything is done, and again just
 * before the file is replaced. `force` (the CLI's --force) goes on anyway, saying so.
 *
 * A file SQLite cannot read as a database cannot be checked; nothing can commit to it either, so
 * the restore goes on (a damaged database is the usual reason to restore) and the notes say so.
 */
export function guardOfflineRestore(dbPath: string, force: boolean, notes: string[], logger: Logger): void {
  const access = checkExclusiveAccess(dbPath);
  if (access.inUse === false) return;
  if (access.inUse === null) {
    const note = `could not check whether ${dbPath} is in use (${access.detail}): it is not a readable database`;
    if (!notes.includes(note)) notes.push(note);
    return;
  }
  if (force) {
    const note = `${dbPath} was open in another process; replaced anyway (--force)`;
    if (!notes.includes(note)) {
      notes.push(note);
      logger.warn(`offline restore with --force: ${dbPath} is open in another process`);
    }
    return;
  }
  throw new DatabaseInUseError(
    `refusing an offline restore: ${dbPath} is open in another process (the API, or a backup agent ` +
      `serving beside it). Replacing the file under an open connection can lose writes it acknowledged ` +
      `and corrupt the database. Stop them first: in the cluster scale the pod to 0 ` +
      `(kubectl -n pra scale deployment api --replicas=0; the restore Job waits for it, and ` +
      `make restore OFFLINE=1 does it for you); locally stop make dev. Or restore online, with the ` +
      `API serving: POST /restore/<id> on the agent, or "restore" without --offline. Nothing was changed. ` +
      `(--force skips this check, at that risk.)`,
  );
}
