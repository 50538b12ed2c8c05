import {
  builtEntry,
  freePort,
  makeTempDir,
  REPO_ROOT,
  ServiceProcess,
  startService,
} from '@pra-kit/shared/testing';
import { closeSync, copyFileSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser } from './support/browser';
import { startS3rver } from './support/s3rver';

/**
 * The console in a real Chromium, against the built agent and API as real processes, an S3 server
 * for the offsite copies, and a real drill report. Every step checks what the page shows and what
 * the API really holds (/count, /backups). The screenshots are the README's pictures:
 * `make screenshots` writes them to docs/screenshots, `make test` to tmp/console-screenshots.
 */
const SCREENSHOTS = process.env['CONSOLE_SCREENSHOTS'] ?? join(REPO_ROOT, 'tmp', 'console-screenshots');
const TOKEN = 'console-e2e-token-0123456789';

interface Point {
  id: string;
  rows: number | null;
  reason: string | null;
  location: string;
  offsite: { state: string } | null;
}

describe('the console in a browser', () => {
  const dir = makeTempDir('console-e2e');
  const dbPath = join(dir.path, 'data', 'app.db');
  const backupDir = join(dir.path, 'backup');
  const drillsDir = join(dir.path, 'drills');
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let api: ServiceProcess;
  let agent: ServiceProcess;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  const problems: string[] = [];
  /** The restore points the setup took, oldest first, with their rows. */
  const taken: { id: string; rows: number }[] = [];
  /** Files copied in without a manifest, oldest first. */
  const copies: { id: string; rows: number; adopted: boolean }[] = [];
  const agentEnv = () => ({ DB_PATH: dbPath, BACKUP_DIR: backupDir, LOG_LEVEL: 'error' });
  const agentCli = (args: string[]) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [builtEntry('backup-agent'), ...args], {
        env: { PATH: process.env['PATH'] ?? '', ...agentEnv() },
      });
      let output = '';
      child.stdout.on('data', (d) => (output += String(d)));
      child.stderr.on('data', (d) => (output += String(d)));
      child.on('exit', (code) => resolve({ code, output }));
    });

  const count = async () => ((await (await fetch(`${api.baseUrl}/count`)).json()) as { count: number }).count;
  const points = async () => (await (await fetch(`${agent.baseUrl}/backups`)).json()) as Point[];
  const add = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${api.baseUrl}/add?message=console-${Date.now()}-${i}`);
      expect(res.status).toBe(200);
    }
  };
  const backup = async () => {
    const res = await fetch(`${agent.baseUrl}/backups`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(201);
    const manifest = (await res.json()) as { id: string; rows: number };
    taken.push({ id: manifest.id, rows: manifest.rows });
    return manifest;
  };
  /** The whole page, or the part that shows a step (the list and the restore panel). */
  const shot = (name: string, part: 'page' | 'viewport' | 'restore' = 'page') => {
    const path = join(SCREENSHOTS, `${name}.png`);
    if (part === 'restore') return page.locator('.columns').screenshot({ path });
    return page.screenshot({ path, fullPage: part === 'page' });
  };
  const restorePanel = () => page.locator('#restore-body');
  const rowsIn = (field: string) => restorePanel().locator(`[data-field="${field}"]`).innerText();

  beforeAll(async () => {
    mkdirSync(join(dir.path, 'data'), { recursive: true });
    mkdirSync(drillsDir, { recursive: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
    // A report written by a real data-loss drill (apps/drill), as the agent finds it in var/drills.
    const fixtures = join(__dirname, 'fixtures');
    for (const name of readdirSync(fixtures)) copyFileSync(join(fixtures, name), join(drillsDir, name));

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
        // Backups only, as in CronJob mode: console-pitr.e2e-spec.ts covers continuous replication.
        BACKUP_REPLICATION: 'off',
        BACKUP_ON_START: 'true',
        BACKUP_SCHEDULE: '0 0 0 1 1 *', // once a year: after the first one, the test takes the backups
        DRILL_REPORTS_DIR: drillsDir,
        LOG_LEVEL: 'error',
        ...s3.env('console-e2e'),
      },
    });

    // The schedule's first backup (BACKUP_ON_START), of the empty database; then three manual ones.
    await until(async () => (await points()).some((p) => p.reason === 'scheduled'), 'the first backup');
    for (let i = 0; i < 3; i++) {
      await add(3);
      await backup();
      await new Promise((r) => setTimeout(r, 1100));
    }
    // Older files copied in by hand, as the workshop's CronJob left them (no manifest): `verify`
    // adopts two of them (imported), the third stays never verified.
    const now = Math.floor(Date.now() / 1000);
    for (const [source, age, adopt] of [
      [taken[0], 540, true],
      [taken[1], 420, true],
      [taken[2], 240, false],
    ] as const) {
      const id = `app-${now - age}`;
      copyFileSync(join(backupDir, `${source.id}.db`), join(backupDir, `${id}.db`));
      if (adopt) expect(await agentCli(['verify', '--id', id])).toMatchObject({ code: 0 });
      copies.push({ id, rows: source.rows, adopted: adopt });
    }
    await add(3);
    await backup();
    await until(
      async () =>
        (await points()).filter((p) => taken.some((t) => t.id === p.id)).every((p) => p.location === 'both'),
      'the uploads',
    );
    // Then the bucket goes away: the next backup waits for its upload.
    await s3.kill9();
    await add(3);
    await backup();
    expect(taken.map((t) => t.rows)).toEqual([3, 6, 9, 12, 15]);

    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      // The agent's refusals (401, 404 of a route it does not have, 422) are logged by Chromium as
      // failed loads; anything else logged as an error (a CSP violation, a script error) is a bug.
      if (
        m.type() === 'error' &&
        !/Failed to load resource: the server responded with a status of (401|404|422)/.test(m.text())
      ) {
        problems.push(`console: ${m.text()}`);
      }
    });
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await api?.stop();
    await s3?.close();
    dir.remove();
  });

  afterEach(() => {
    expect(problems).toEqual([]);
  });

  it('serves the page from the agent with a strict CSP, and lists the restore points', async () => {
    const res = await page.goto(`${agent.baseUrl}/`);
    expect(res?.status()).toBe(200);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');

    // Every point the agent lists is in the table and on the timeline, with its rows.
    const listed = await points();
    expect(listed).toHaveLength(9); // the first scheduled one, five manual ones, three copied in
    await page.locator('table.points tbody tr[data-point]').nth(8).waitFor();
    expect(await page.locator('table.points tbody tr[data-point]').count()).toBe(9);
    expect(await page.locator('svg.timeline g[data-point]').count()).toBe(9);
    const row = (id: string) => page.locator(`tr[data-point="${id}"]`).innerText();
    for (const t of taken) expect(await row(t.id)).toMatch(new RegExp(`${t.rows} rows\\s+\\S+ KB\\s+manual`));
    expect(await row(listed.find((p) => p.reason === 'scheduled')?.id ?? '?')).toMatch(/0 rows.*scheduled/s);
    expect(await row(copies[0].id)).toMatch(/3 rows.*imported.*yes/s);
    expect(await row(copies[2].id)).toMatch(/\? rows.*no manifest.*never/s);
    // The newest one waits for its upload (the bucket is down), and so do the copies: the
    // offsite lane shows them waiting.
    expect(await row(taken[4].id)).toMatch(/upload (waits|retried)/);
    // (the agent's retries move states on: compare with what it lists at about the same time)
    const waiting = async () =>
      (await points()).filter((p) => ['pending', 'failed'].includes(p.offsite?.state ?? '')).length;
    expect(await waiting()).toBeGreaterThanOrEqual(1);
    await until(
      async () => (await page.locator('svg.timeline circle.waiting').count()) === (await waiting()),
      'the waiting copies on the timeline',
    );
    // A gap: minutes between the copies and the newest points, more than the 60 s objective.
    expect(await page.locator('svg.timeline rect.gap').count()).toBeGreaterThanOrEqual(1);
    // Health: the newest point is seconds old (OK against 60 s); the offsite copies are failing.
    const cards = page.locator('#health-body');
    expect(await cards.getByRole('group', { name: 'Newest restore point' }).innerText()).toMatch(
      /\d+(\.\d)? m?s old/,
    );
    await until(
      async () => /\d+ waiting/.test(await cards.getByRole('group', { name: 'Offsite copies' }).innerText()),
      'the offsite card',
    );
    // The sentence is the agent's (GET /health/backups) or, for an agent without it, the console's.
    const status = await page.locator('#status').innerText();
    expect(status).toMatch(/^degraded/i);
    expect(status).toMatch(
      /Offsite copies are failing; 1 backup waits for upload|copies to s3:\/\/console-e2e\/ are failing/,
    );
    // The drill report: scenario, result and the chart's numbers.
    const drill = page.locator('#drills-body li.drill');
    expect(await drill.count()).toBe(1);
    expect(await drill.innerText()).toMatch(/data-loss \(PRA\) on local\s*passed/i);
    expect(await drill.locator('svg').getAttribute('aria-label')).toMatch(
      /RTO .* \(first read\).*RPO .*acknowledged writes lost/,
    );
    // The drill's own SVG timeline, served by the agent, shown as an image.
    const image = drill.locator('img');
    await until(
      async () =>
        (await image.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0))) > 0,
      'the drill timeline',
    );
    expect(await image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(960);
    await shot('console-overview');
  });

  it('asks for the token when the agent answers 401, and takes a backup with it', async () => {
    const before = (await points()).length;
    await page.getByRole('button', { name: 'Back up now' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    // The agent's own sentence, not a console-made one.
    expect(await dialog.innerText()).toContain('this route requires "Authorization: Bearer <BACKUP_TOKEN>"');
    await shot('console-token', 'viewport'); // a modal: the viewport is what a person sees
    await page.keyboard.press('Escape');
    const status = page.locator('#backup-status');
    await status.getByRole('alert').waitFor();
    expect(await status.innerText()).toMatch(
      /The backup failed[\s\S]*this route requires[\s\S]*401 UNAUTHORIZED/,
    );
    expect((await points()).length).toBe(before); // nothing was taken

    // A wrong token: refused (401 again), asked again with the agent's reason.
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.getByLabel('BACKUP_TOKEN').fill('not-the-right-token-000');
    await page.keyboard.press('Enter');
    await until(async () => (await dialog.innerText()).includes('invalid bearer token'), 'the second prompt');
    await page.getByLabel('BACKUP_TOKEN').fill(TOKEN);
    await page.getByRole('button', { name: 'Use this token' }).click();
    await status.locator('.success').waitFor();
    const after = await points();
    expect(after.length).toBe(before + 1);
    const newest = after[0];
    expect(newest.reason).toBe('manual');
    expect(newest.rows).toBe(await count());
    expect(await status.innerText()).toContain(`${newest.id} taken: ${newest.rows} rows`);
    await page.locator(`tr[data-point="${newest.id}"]`).waitFor();
    // The token is in this tab's sessionStorage, never in the URL.
    expect(await page.evaluate(() => sessionStorage.getItem('pra-kit.backup-token'))).toBe(TOKEN);
    expect(page.url()).toBe(`${agent.baseUrl}/`);
  });

  it('restores a chosen point after a dry run, then undoes it', async () => {
    const rowsBefore = await count();
    const oldest = copies[0]; // imported, 3 rows
    await page.getByRole('button', { name: new RegExp(`^Choose ${oldest.id},`) }).click();
    await restorePanel().getByRole('button', { name: 'Dry run' }).click();
    await restorePanel().getByText('2. What will happen').waitFor();
    expect(await rowsIn('rows-before')).toBe(String(rowsBefore));
    expect(await rowsIn('rows-after')).toBe(`3 (${rowsBefore - 3} fewer)`);
    expect(await rowsIn('mode')).toMatch(/^online/);
    expect(await count()).toBe(rowsBefore); // a dry run changes nothing
    await shot('console-dry-run', 'restore');

    await restorePanel()
      .getByRole('button', { name: `Restore ${oldest.id}` })
      .click();
    await restorePanel().getByText('3. Done').waitFor();
    expect(await count()).toBe(3);
    const done = await restorePanel().innerText();
    expect(done).toContain(`Restored ${oldest.id}`);
    expect(done).toContain(`${rowsBefore} → 3 rows`);
    const safety = /safety snapshot (app-\d+(?:-\d+)?) holds/.exec(done)?.[1] ?? '';
    const snapshot = (await points()).find((p) => p.id === safety);
    expect(snapshot).toMatchObject({ reason: 'pre-restore', rows: rowsBefore });
    await page.locator(`tr[data-point="${safety}"]`).waitFor(); // listed as a safety snapshot
    await shot('console-restored', 'restore');

    await restorePanel()
      .getByRole('button', { name: `Undo: restore ${safety}` })
      .click();
    await restorePanel().getByText(`Undone: ${safety} restored`).waitFor();
    expect(await count()).toBe(rowsBefore);
    expect(await restorePanel().innerText()).toContain(`3 → ${rowsBefore} rows`);
    await restorePanel().getByRole('button', { name: 'Done' }).click();
  });

  it('shows the 422 of a tampered backup in the words of the agent, and changes nothing', async () => {
    const rowsBefore = await count();
    const victim = taken[1]; // 6 rows
    const fd = openSync(join(backupDir, `${victim.id}.db`), 'r+');
    writeSync(fd, Buffer.from('tampered'), 0, 8, 4096 + 100);
    closeSync(fd);

    await page.getByRole('button', { name: new RegExp(`^Choose ${victim.id},`) }).click();
    await restorePanel().getByRole('button', { name: 'Dry run' }).click();
    const alert = restorePanel().getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    expect(text).toContain(`The dry run of ${victim.id} was refused`);
    expect(text).toContain(`backup ${victim.id} failed verification`);
    expect(text).toContain('422 BACKUP_CORRUPT');
    expect(text).toContain('Nothing was changed. Choose another restore point.');
    expect(await count()).toBe(rowsBefore);
    await shot('console-refused', 'restore');
    await restorePanel().getByRole('button', { name: 'Choose another point' }).click();
  });

  it('works from the keyboard, and every control has a name', async () => {
    // The timeline is one tab stop; arrows move between points, Enter chooses one, and the focus
    // moves to the next step's button.
    const stop = page.locator('svg.timeline g[data-point][tabindex="0"]');
    await stop.focus();
    const newestId = await stop.getAttribute('data-point');
    await page.keyboard.press('Home');
    const oldestId = await page.evaluate(() => document.activeElement?.getAttribute('data-point'));
    expect(oldestId).toBe(copies[0].id);
    expect(oldestId).not.toBe(newestId);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Dry run');
    expect(await restorePanel().innerText()).toContain(copies[1].id);
    await page.keyboard.press('Escape'); // nothing to close: harmless
    await restorePanel().getByRole('button', { name: 'Cancel' }).click();

    const unnamed = await page.evaluate(() => {
      const missing: string[] = [];
      for (const el of Array.from(document.querySelectorAll('button, input, select'))) {
        const named =
          el.getAttribute('aria-label') ||
          (el instanceof HTMLButtonElement && el.textContent?.trim()) ||
          ((el instanceof HTMLInputElement || el instanceof HTMLSelectElement) && el.labels?.length);
        if (!named) missing.push(el.outerHTML.slice(0, 80));
      }
      return missing;
    });
    expect(unnamed).toEqual([]);
  });
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
