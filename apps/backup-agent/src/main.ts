import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError } from '@pra-kit/shared';
import { listen } from '@pra-kit/shared/nest';
import { parseAgentConfig } from './config/agent-config';
import { createAgentApp } from './http/create-agent-app';

const HELP = `Usage: node dist/apps/backup-agent/main.js [serve] [--help]

  serve   run the agent: scheduled backups and the HTTP API on AGENT_PORT (default)

Configuration is read from environment variables (see README).
`;

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  if (command === '--help' || command === '-h' || rest.includes('--help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (command !== 'serve') {
    process.stderr.write(`backup-agent: unknown command ${JSON.stringify(command)}\n\n${HELP}`);
    return 2;
  }
  const config = parseAgentConfig(process.env);
  const app = await createAgentApp(config);
  const port = await listen(app, config.port, config.host);
  new Logger('Main').log(`backup agent listening on http://${config.host}:${port}`);
  return -1; // keep running
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`backup-agent: ${err instanceof ConfigError ? err.message : String((err as Error)?.stack ?? err)}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
