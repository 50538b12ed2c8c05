import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { makeTempDir } from '@pra-kit/shared/testing';
import { join } from 'node:path';
import request from 'supertest';
import { createApiApp } from '../../src/app/create-api-app';
import { Clock } from '../../src/app/api.tokens';
import { ApiConfig, parseApiConfig } from '../../src/config/api-config';

export interface TestApi {
  readonly app: NestFastifyApplication;
  readonly config: ApiConfig;
  readonly dir: string;
  http(): ReturnType<typeof request>;
  close(): Promise<void>;
}

/** The API in-process on real SQLite files in a temp directory. */
export async function startTestApi(
  options: { dir?: string; env?: Record<string, string>; clock?: Clock } = {},
): Promise<TestApi> {
  const temp = options.dir ? null : makeTempDir('api');
  const dir = options.dir ?? (temp as { path: string }).path;
  const config = parseApiConfig({
    DB_PATH: join(dir, 'data', 'app.db'),
    BACKUP_DIR: join(dir, 'backup'),
    LOG_LEVEL: 'error',
    ...options.env,
  });
  const app = await createApiApp(config, options.clock);
  return {
    app,
    config,
    dir,
    http: () => request(app.getHttpServer()),
    close: async () => {
      await app.close();
      temp?.remove();
    },
  };
}
