import { formatBackups } from '../cli-format';
import { AgentCommand } from '../command';
import { EXIT } from '../exit-codes';

/** `list [--json]`: the restore points, newest first. */
export const listCommand: AgentCommand<{ readonly json: boolean }> = {
  name: 'list',
  options: { json: { type: 'boolean' } },
  parse: (values) => ({ json: values['json'] === true }),
  async run(options, { agent, io }) {
    const list = await agent.list();
    io.out(options.json ? JSON.stringify(list, null, 2) : formatBackups(list));
    return EXIT.ok;
  },
};
