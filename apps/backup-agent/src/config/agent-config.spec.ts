import { ConfigError } from '@pra-kit/shared';
import { parseAgentConfig } from './agent-config';

describe('parseAgentConfig', () => {
  it('has the cluster defaults of ARCHITECTURE.md §7', () => {
    expect(parseAgentConfig({})).toEqual({
      dbPath: '/data/app.db',
      backupDir: '/backup',
      port: 8081,
      host: '0.0.0.0',
      schedule: '0 * * * * *',
      verify: 'quick',
      token: undefined,
      retention: { keepLast: 30, hourly: 24, daily: 7, weekly: 4 },
      backupOnStart: true,
      logLevel: 'log',
    });
  });

  it('reads every variable', () => {
    const config = parseAgentConfig({
      DB_PATH: 'var/data/app.db',
      BACKUP_DIR: 'var/backup',
      AGENT_PORT: '18081',
      AGENT_HOST: '127.0.0.1',
      BACKUP_SCHEDULE: '*/10 * * * * *',
      BACKUP_VERIFY: 'full',
      BACKUP_TOKEN: 's3cr3t-s3cr3t-s3cr3t',
      BACKUP_KEEP_LAST: '5',
      BACKUP_KEEP_HOURLY: '0',
      BACKUP_KEEP_DAILY: '3',
      BACKUP_KEEP_WEEKLY: '2',
      BACKUP_ON_START: 'false',
      LOG_LEVEL: 'debug',
    });
    expect(config).toEqual({
      dbPath: 'var/data/app.db',
      backupDir: 'var/backup',
      port: 18081,
      host: '127.0.0.1',
      schedule: '*/10 * * * * *',
      verify: 'full',
      token: 's3cr3t-s3cr3t-s3cr3t',
      retention: { keepLast: 5, hourly: 0, daily: 3, weekly: 2 },
      backupOnStart: false,
      logLevel: 'debug',
    });
  });

  it.each([
    ['BACKUP_SCHEDULE', 'every minute'],
    ['BACKUP_SCHEDULE', '61 * * * *'],
    ['BACKUP_VERIFY', 'none'],
    ['BACKUP_TOKEN', 'short'],
    ['BACKUP_KEEP_LAST', '0'],
    ['BACKUP_KEEP_DAILY', '-1'],
    ['AGENT_PORT', 'x'],
  ])('rejects %s=%j with a message naming it', (name, value) => {
    const parse = () => parseAgentConfig({ [name]: value });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(new RegExp(`^invalid configuration: ${name} `));
  });
});
