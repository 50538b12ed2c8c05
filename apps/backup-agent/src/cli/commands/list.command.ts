import { formatBackups, formatChains } from '../cli-format';
import { AgentCommand } from '../command';
import { EXIT } from '../exit-codes';

/**
 * `list [--json]`: the restorable ranges of the replication chains (any instant in them), then the
 * restore points, newest first. `--json` prints the points (each with its place in a chain).
 */
export const listCommand: AgentCommand<{ readonly json: boolean }> = {
  name: 'list',
  options: { json: { type: 'boolean' } },
  parse: (values) => ({ json: values['json'] === true }),
  async run(options, { agent, io }) {
    const list = await agent.list();
    if (options.json) {
      io.out(JSON.stringify(list, null, 2));
      return EXIT.ok;
    }
    const chains = await agent.chains();
    io.out(agent.replication ? `${formatChains(chains)}\n\n${formatBackups(list)}` : formatBackups(list));
    return EXIT.ok;
  },
};
