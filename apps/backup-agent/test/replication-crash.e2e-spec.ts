import { readCatalogDir } from '@pra-kit/shared';
import Database from 'better-sqlite3';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotsInChains } from '../src/core/backup-agent';
import { PointInTimeUnavailableError } from '../src/core/errors';
import { LocalDirStore } from '../src/stores/local-dir.store';
import { ChainCatalog } from '../src/replication/chain.catalog';
import { LocalChainStore } from '../src/replication/local-chain.store';
import { Layout, makeLayout, startAgentProcess, startApiProcess } from './support/agent-harness';
import { recordState, rowsHash } from './support/db-state';

/**
 * kill -9 of the agent at random moments, 20 times, while the real API takes writes: afterwards
 * every chain either went on or a new one started, and every recorded instant that a chain covers
 * restores exactly (an instant no chain covers is refused, never restored wrong).
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kill -9 the agent while it replicates', () => {
  let layout: Layout;
  beforeAll(() => (layout = makeLayout('replication-crash')));
  afterAll(() => layout.remove());

  it('20 kills: chains continue or restart, and no restorable instant gives wrong data', async () => {
    const api = await startApiProcess(layout);
    const env = { BACKUP_REPLICATION: 'on', BACKUP_SYNC_INTERVAL: '500ms', BACKUP_KEEP_LAST: '1000' };
    let writing = true;
    let acknowledged = 0;
    // Light writes first (the WAL rarely restarts while the agent is down: the chain can go on),
    // then as fast as the API answers (it restarts: a new chain starts).
    let pauseMs = 100;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; writing; i++) {
        const res = await fetch(`${api.baseUrl}/add?message=w${w}-${i}`).catch(() => null);
        if (res?.status === 200) acknowledged++;
        await res?.arrayBuffer();
        if (pauseMs > 0) await sleep(pauseMs);
      }
    });
    const recorder = new Database(layout.dbPath, { timeout: 10_000 });
    const states: { at: number; hash: string; rows: number }[] = [];
    try {
      for (let kill = 0; kill < 20; kill++) {
        if (kill === 10) pauseMs = 0;
        const agent = await startAgentProcess(layout, env);
        await sleep(300 + Math.floor(Math.random() * 1500));
        states.push(recordState(recorder));
        // The kill lands at a random moment of the flush cycle, after the instant had time to be
        // durable (the sync interval): what a kill may cost is the last interval, not the instant.
        await sleep(600 + Math.floor(Math.random() * 600));
        await agent.kill9();
        await sleep(Math.floor(Math.random() * 400)); // writes go on while the agent is down
      }
      const agent = await startAgentProcess(layout, env);
      await sleep(1500);
      states.push(recordState(recorder));
      await sleep(1500); // the last instant is durable (sync interval) before the stop
      writing = false;
      await Promise.all(writers);
      await agent.stop();
    } finally {
      writing = false;
      recorder.close();
      await api.stop();
    }
    expect(acknowledged).toBeGreaterThan(500);

    // Nothing partial: every listed snapshot has its manifest; chains list only whole segments.
    const local = new LocalDirStore(layout.backupDir);
    const chainsStore = new LocalChainStore(layout.backupDir);
    expect(readCatalogDir(layout.backupDir).every((b) => b.manifest !== null)).toBe(true);
    const catalog = new ChainCatalog(chainsStore, async () => snapshotsInChains(await local.list()));
    const chains = await catalog.chains(new Date());
    expect(chains.length).toBeGreaterThanOrEqual(1);
    // Both outcomes happened: some restarts continued their chain, some started a new one.
    expect(chains.length).toBeLessThan(21);
    expect(chains.length).toBeGreaterThan(1);

    let restored = 0;
    const wrong: string[] = [];
    for (const state of states) {
      let plan;
      try {
        plan = await catalog.plan(new Date(state.at), new Date());
      } catch (err) {
        if (err instanceof PointInTimeUnavailableError) continue; // in a gap: refused, which is right
        throw err;
      }
      const file = join(layout.dir, 'restored.db');
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      await catalog.materialize(plan, local.pathOf(plan.snapshot.backupId), file);
      const db = new Database(file);
      const { hash } = rowsHash(db);
      const integrity = db.pragma('integrity_check', { simple: true });
      db.close();
      restored++;
      if (hash !== state.hash || integrity !== 'ok')
        wrong.push(`${new Date(state.at).toISOString()} (${integrity})`);
    }
    console.log(
      `restored ${restored}/${states.length} instants exactly; ${chains.length} chain(s); ${acknowledged} writes acknowledged`,
    );
    expect(wrong).toEqual([]);
    // Most instants are covered: a kill costs at most the time until the next chain starts.
    expect(restored).toBeGreaterThanOrEqual(Math.ceil(states.length / 2));
    expect(readdirSync(join(layout.backupDir, 'chains')).length).toBe(chains.length);
  }, 300_000);
});
