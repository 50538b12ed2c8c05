import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { builtEntry, freePort, makeTempDir, ServiceProcess, startService } from '@pra-kit/shared/testing';
import { join } from 'node:path';
import request from 'supertest';
import { AgentConfig, parseAgentConfig } from '../../src/config/agent-config';
import { agentSettings, buildBackupAgent } from '../../src/agent.factory';
import { silentLogger } from '../../src/core/ports';
import { createAgentApp } from '../../src/http/create-agent-app';

export interface Layout {
  readonly dir: string;
  readonly dbPath: string;
  readonly backupDir: string;
  remove(): void;
}

export function makeLayout(name: string): Layout {
  const temp = makeTempDir(name);
  return {
    dir: temp.path,
    dbPath: join(temp.path, 'data', 'app.db'),
    backupDir: join(temp.path, 'backup'),
    remove: temp.remove,
  };
}

/** The agent in-process (no scheduler), for supertest; offsite copies on when env has S3_BUCKET. */
export async function startTestAgent(layout: Layout, env: Record<string, string> = {}) {
  const config: AgentConfig = parseAgentConfig({
    DB_PATH: layout.dbPath,
    BACKUP_DIR: layout.backupDir,
    LOG_LEVEL: 'error',
    ...env,
  });
  const agent = buildBackupAgent(agentSettings(config, false), { logger: silentLogger });
  const app: NestFastifyApplication = await createAgentApp({ config, agent, schedule: false });
  return { app, agent, config, http: () => request(app.getHttpServer()), close: () => app.close() };
}

/** The built API as a real process on the layout's database. */
export async function startApiProcess(
  layout: Layout,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  return startService({
    entry: builtEntry('api'),
    port,
    readyPath: '/ready',
    env: {
      DB_PATH: layout.dbPath,
      BACKUP_DIR: layout.backupDir,
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
}

/** The built agent as a real process (`serve`). */
export async function startAgentProcess(
  layout: Layout,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  return startService({
    entry: builtEntry('backup-agent'),
    args: ['serve'],
    port,
    env: {
      DB_PATH: layout.dbPath,
      BACKUP_DIR: layout.backupDir,
      AGENT_PORT: String(port),
      AGENT_HOST: '127.0.0.1',
      BACKUP_ON_START: 'false',
      BACKUP_SCHEDULE: '0 0 0 1 1 *', // once a year: tests drive backups themselves
      BACKUP_REPLICATION: 'off', // snapshot tests; the replication tests turn it on
      BACKUP_VERIFY_RESTORE_SCHEDULE: 'off', // no restore test taking the lock unless a test asks
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
}

export async function json<T = unknown>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`not JSON (status ${res.status}): ${text.slice(0, 200)}`);
  }
}

/** One sample of a Prometheus metric (without labels) from GET /metrics; NaN when absent. */
export async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

/** Polls `check` until it holds; fails after `timeoutMs`. */
export async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
