import {
  builtEntry,
  freePort,
  makeTempDir,
  REPO_ROOT,
  ServiceProcess,
  startService,
} from '@pra-kit/shared/testing';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser } from './support/browser';
import { startS3rver } from './support/s3rver';

/**
 * Continuous replication in the console, against the built agent (replication on, its default),
 * the API and an S3 server: the restorable range on the timeline and its copy in the bucket, an instant chosen in it, its dry run (the rows a
 * replay gives), the restore checked on /count, the undo, and an instant outside every range
 * refused in the agent's words.
 */
const SCREENSHOTS = process.env['CONSOLE_SCREENSHOTS'] ?? join(REPO_ROOT, 'tmp', 'console-screenshots');
const TOKEN = 'console-pitr-token-0123456789';

describe('the console with continuous replication', () => {
  const dir = makeTempDir('console-pitr');
  const dbPath = join(dir.path, 'data', 'app.db');
  const backupDir = join(dir.path, 'backup');
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let api: ServiceProcess;
  let agent: ServiceProcess;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  const problems: string[] = [];
  /** How many times the page has read GET /backups. */
  let listReads = 0;
  /** An instant after the first five writes and before the next five. */
  let between = '';

  const count = async () => ((await (await fetch(`${api.baseUrl}/count`)).json()) as { count: number }).count;
  const add = async (n: number) => {
    for (let i = 0; i < n; i++)
      expect((await fetch(`${api.baseUrl}/add?message=pitr-${i}`)).status).toBe(200);
  };
  const panel = () => page.locator('#restore-body');
  const field = (name: string) => panel().locator(`[data-field="${name}"]`).innerText();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const agentIdle = () =>
    until(async () => {
      const ready = (await (await fetch(`${agent.baseUrl}/ready`)).json()) as { running: string | null };
      const health = (await (await fetch(`${agent.baseUrl}/health/backups`)).json()) as {
        replication: { state: string };
      };
      return ready.running === null && health.replication.state === 'following';
    }, 'the new chain');

  beforeAll(async () => {
    mkdirSync(join(dir.path, 'data'), { recursive: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
    s3 = await startS3rver();
    const apiPort = await freePort();
    api = await startService({
      entry: builtEntry('api'),
      port: apiPort,
      readyPath: '/ready',
      env: {
        DB_PATH: dbPath,
        BACKUP_DIR: backupDir,
        API_PORT: String(apiPort),
        API_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      },
    });
    const agentPort = await freePort();
    agent = await startService({
      entry: builtEntry('backup-agent'),
      args: ['serve'],
      port: agentPort,
      env: {
        DB_PATH: dbPath,
        BACKUP_DIR: backupDir,
        AGENT_PORT: String(agentPort),
        AGENT_HOST: '127.0.0.1',
        BACKUP_TOKEN: TOKEN,
        BACKUP_REPLICATION: 'on',
        BACKUP_SCHEDULE: '0 0 0 1 1 *', // no scheduled snapshot during the test
        LOG_LEVEL: 'error',
        ...s3.env('console-pitr'),
        S3_SYNC_INTERVAL: '1s', // the chain's copy to the bucket, every second
      },
    });
    // The chain starts from a base snapshot; then five writes, a pause, five more.
    await until(async () => {
      const chains = (await (await fetch(`${agent.baseUrl}/chains`)).json()) as { status: string }[];
      return chains.some((c) => c.status === 'live');
    }, 'a live chain');
    await add(5);
    await sleep(700);
    between = new Date().toISOString();
    await sleep(700);
    await add(5);
    await until(async () => {
      const h = (await (await fetch(`${agent.baseUrl}/health/backups`)).json()) as { rpo: { ok: boolean } };
      return h.rpo.ok;
    }, 'the writes replicated');

    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('response', (res) => {
      if (new URL(res.url()).pathname === '/backups') listReads++;
    });
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of (401|404|422)/.test(m.text()))
        problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${agent.baseUrl}/`);
    await page.evaluate((token) => sessionStorage.setItem('pra-kit.backup-token', token), TOKEN);
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await api?.stop();
    await s3?.close();
    dir.remove();
  });

  afterEach(() => expect(problems).toEqual([]));

  it("shows the restorable range, the bucket's copy of it, and the health the agent reports", async () => {
    await page.locator('svg.timeline rect.range').first().waitFor();
    expect(await page.locator('svg.timeline rect.range.live').count()).toBe(1);
    // The chain reaches the bucket every second: its copy is drawn in the offsite lane.
    await page.locator('svg.timeline rect.range.offsite').first().waitFor({ timeout: 20_000 });
    const offsite = page.locator('#health-body').getByRole('group', { name: 'Offsite copies' });
    expect(await offsite.innerText()).toMatch(/chains: (copied|\d+ segments waiting)/);
    const replication = page.locator('#health-body').getByRole('group', { name: 'Replication' });
    expect(await replication.innerText()).toMatch(/state following/);
    // The objective is the agent's (1 s with replication), not the console's default.
    expect(
      await page.locator('#health-body').getByRole('group', { name: 'Newest restore point' }).innerText(),
    ).toMatch(/objective 1\.0 s/);
    expect(await page.locator('#health-body').innerText()).not.toContain('Worked out by the console');
  });

  it('restores an instant of the range after a dry run, then undoes it', async () => {
    expect(await count()).toBe(10);
    await page.getByLabel('Or an instant in a continuous range').fill(between);
    await panel().getByRole('button', { name: 'Choose', exact: true }).click();
    expect(await page.locator('svg.timeline .chosen-instant').count()).toBe(1); // marked on the axis
    await panel().getByRole('button', { name: 'Dry run' }).click();
    await panel().getByText('2. What will happen').waitFor();
    expect(await field('rows-before')).toBe('10');
    expect(await field('rows-after')).toBe('5 (5 fewer)');
    expect(await panel().innerText()).toMatch(
      /Replays\s+\d+ transactions, the last one committed at 20\d\d-/,
    );
    expect(await count()).toBe(10);
    await shot('console-point-in-time');

    await panel()
      .getByRole('button', { name: `Restore the instant ${between}` })
      .click();
    await panel().getByText('3. Done').waitFor();
    expect(await count()).toBe(5);
    expect(await panel().innerText()).toContain(`Restored the state at`);
    // After a restore the agent starts a new chain from a fresh snapshot, under the operation lock:
    // a restore asked meanwhile is refused (409, shown as such). Undo once it is done.
    await agentIdle();
    await panel()
      .getByRole('button', { name: /^Undo: restore / })
      .click();
    await panel().getByText('Undone', { exact: true }).waitFor();
    expect(await count()).toBe(10);
    await panel().getByRole('button', { name: 'Done' }).click();
  });

  it('keeps an instant being typed through a refresh, and refuses one before every range in the words of the agent', async () => {
    const before = await count();
    await page
      .getByLabel('Or an instant in a continuous range')
      .fill(new Date(Date.now() - 3_600_000).toISOString());
    // The page reads the agent every 5 s and redraws the panel: what was typed stays.
    const reads = listReads;
    await until(async () => listReads > reads, 'a refresh of the page');
    await sleep(200);
    await panel().getByRole('button', { name: 'Choose', exact: true }).click();
    await panel().getByRole('button', { name: 'Dry run' }).click();
    const alert = panel().getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/422 POINT_IN_TIME_UNAVAILABLE/);
    expect(await count()).toBe(before);
    await panel().getByRole('button', { name: 'Choose another point' }).click();
  });

  /** The timeline with its range, the list and the restore panel: the page without the drills. */
  const shot = async (name: string) => {
    const top = await page.locator('#health').boundingBox();
    const bottom = await page.locator('.columns').boundingBox();
    if (!top || !bottom) throw new Error('the page is not laid out');
    await page.screenshot({
      path: join(SCREENSHOTS, `${name}.png`),
      fullPage: true,
      clip: { x: 0, y: 0, width: 1280, height: bottom.y + bottom.height + 16 },
    });
  };
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
