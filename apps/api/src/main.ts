import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, logProcessWarnings, Redactor } from '@pra-kit/shared';
import { listen } from '@pra-kit/shared/nest';
import { parseApiConfig } from './config/api-config';
import { createApiApp } from './app/create-api-app';

const HELP = `Usage: node dist/apps/api/main.js

Starts the pra-kit API. Configuration is read from environment variables:
  DB_PATH             SQLite database (default /data/app.db)
  BACKUP_DIR          backup directory read by /status (default /backup)
  API_PORT, API_HOST  listen address (default 0.0.0.0:8080)
  MAX_MESSAGE_LENGTH  longest accepted message in characters (default 1000)
  DB_SYNCHRONOUS      OFF|NORMAL|FULL|EXTRA (default FULL)
  DB_BUSY_TIMEOUT_MS  wait for a lock held by another connection (default 5000)
  API_CREATE_DB       auto|always|never: create a missing database at start (default auto:
                      only when BACKUP_DIR holds no backup, else wait for a restore)
  LOG_LEVEL           debug|log|warn|error (default log)
  LOG_FORMAT          text|json: readable lines, or one JSON object per line (default text)
`;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  let config;
  try {
    config = parseApiConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`api: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  logProcessWarnings(config.logFormat, new Redactor([]));
  const app = await createApiApp(config);
  const port = await listen(app, config.port, config.host);
  new Logger('Main').log(`API listening on http://${config.host}:${port} (database ${config.dbPath})`);
}

void main();
