import { ConfigError } from '@pra-kit/shared';
import { parseApiConfig } from './api-config';

describe('parseApiConfig', () => {
  it('has the cluster defaults (README, Configuration)', () => {
    expect(parseApiConfig({})).toEqual({
      dbPath: '/data/app.db',
      backupDir: '/backup',
      port: 8080,
      host: '0.0.0.0',
      maxMessageLength: 1000,
      dbSynchronous: 'FULL',
      busyTimeoutMs: 5000,
      createDb: 'auto',
      logLevel: 'log',
      logFormat: 'text',
    });
  });

  it('reads every variable', () => {
    const config = parseApiConfig({
      DB_PATH: './var/data/app.db',
      BACKUP_DIR: './var/backup',
      API_PORT: '18080',
      API_HOST: '127.0.0.1',
      MAX_MESSAGE_LENGTH: '20',
      DB_SYNCHRONOUS: 'normal',
      DB_BUSY_TIMEOUT_MS: '100',
      API_CREATE_DB: 'always',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'JSON',
    });
    expect(config).toMatchObject({
      dbPath: './var/data/app.db',
      backupDir: './var/backup',
      port: 18080,
      host: '127.0.0.1',
      maxMessageLength: 20,
      dbSynchronous: 'NORMAL',
      busyTimeoutMs: 100,
      createDb: 'always',
      logLevel: 'warn',
      logFormat: 'json',
    });
  });

  it.each([
    ['API_PORT', 'http'],
    ['API_PORT', '99999'],
    ['MAX_MESSAGE_LENGTH', '0'],
    ['DB_SYNCHRONOUS', 'SOMETIMES'],
    ['LOG_LEVEL', 'chatty'],
    ['LOG_FORMAT', 'logfmt'],
    ['API_CREATE_DB', 'sometimes'],
  ])('rejects %s=%s with a message naming it', (name, value) => {
    const parse = () => parseApiConfig({ [name]: value });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(new RegExp(`^invalid configuration: ${name} `));
  });
});
