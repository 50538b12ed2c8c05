import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, formatLogLine, logProcessWarnings, Redactor } from '@pra-kit/shared';
import { listen } from '@pra-kit/shared/nest';
import { logFormatOf, runCommand, USAGE } from './cli/agent-cli';
import { EXIT } from './cli/exit-codes';
import { parseAgentConfig } from './config/agent-config';
import { createAgentApp } from './http/create-agent-app';
import { lowerCpuPriority } from './process/cpu-priority';

async function serve(): Promise<void> {
  const config = parseAgentConfig(process.env);
  const app = await createAgentApp({ config });
  const port = await listen(app, config.port, config.host);
  new Logger('Main').log(
    `backup agent listening on http://${config.host}:${port} (database ${config.dbPath}, backups ${config.backupDir}` +
      `${config.token ? '' : ', NO AUTH: BACKUP_TOKEN is unset'})`,
  );
}

async function main(argv: string[]): Promise<number | null> {
  logProcessWarnings(logFormatOf(process.env), Redactor.fromEnv(process.env));
  lowerCpuPriority(); // background work: the API gets the CPU first (see cpu-priority.ts)
  const [command = 'serve', ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (command === 'serve') {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(USAGE);
      return EXIT.ok;
    }
    await serve();
    return null; // keeps running
  }
  return runCommand(command, rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${fatalLine(err)}\n`);
    process.exitCode = err instanceof ConfigError ? EXIT.usage : EXIT.failed;
  },
);

/** The line that says why the agent could not start or run: LOG_FORMAT's format, redacted. */
function fatalLine(err: unknown): string {
  const redactor = Redactor.fromEnv(process.env);
  const message = err instanceof ConfigError ? err.message : String((err as Error)?.message ?? err);
  const stack = err instanceof ConfigError ? undefined : (err as Error)?.stack;
  return logFormatOf(process.env) === 'json'
    ? formatLogLine('json', redactor, { level: 'fatal', context: 'Main', message, stack })
    : redactor.redact(`backup-agent: ${stack ?? message}`);
}
