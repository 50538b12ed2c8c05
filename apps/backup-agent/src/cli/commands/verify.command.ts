import { normalizeBackupId } from '@pra-kit/shared';
import { formatTable } from '../cli-format';
import { AgentCommand } from '../command';
import { EXIT } from '../exit-codes';

interface VerifyOptions {
  /** One backup, or all of them. */
  readonly id: string | undefined;
  readonly quick: boolean;
}

/** `verify [--id <id>] [--quick]`: re-checks sha256 and integrity; adopts a file without manifest. */
export const verifyCommand: AgentCommand<VerifyOptions> = {
  name: 'verify',
  options: { id: { type: 'string' }, quick: { type: 'boolean' } },
  parse: (values) => ({
    id: values['id'] === undefined ? undefined : normalizeBackupId(values['id'] as string),
    quick: values['quick'] === true,
  }),
  async run(options, { agent, io }) {
    const reports = await agent.verify(options.id, options.quick ? 'quick' : 'full');
    if (reports.length === 0) io.out('no backups to verify');
    else
      io.out(
        formatTable(
          ['ID', 'RESULT', 'DETAIL'],
          reports.map((r) => [r.id, r.ok ? 'ok' : 'FAILED', r.detail]),
        ),
      );
    return reports.every((r) => r.ok) ? EXIT.ok : EXIT.corrupt;
  },
};
