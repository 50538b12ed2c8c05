// node --test tools/soak/: the soak's accounting finds a lost write and an incomplete safety
// snapshot, and accepts what an online restore is documented to do (make soak runs this first).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ledger, ROLLED_BACK } from './ledger.mjs';

const set = (...n) => new Set(n);

test('a write in the live database, or rolled back into the safety snapshot, is accounted for', () => {
  const ledger = new Ledger(4);
  ledger.ack(1, 100);
  ledger.ack(2, 200);
  ledger.ack(3, 310); // acknowledged during the restore (sent 300), committed before its lock
  ledger.ack(4, 320); // acknowledged during the restore, committed after it
  const found = ledger.restored(1, { sentAt: 300, readAt: 400, safety: set(1, 2, 3), live: set(1, 4) });
  assert.deepEqual(found, { live: 2, rolledBack: 2, lost: 0, safetyIncomplete: 0 });
  assert.equal(ledger.state[2], ROLLED_BACK);
  assert.equal(ledger.rolledBack, 2);
  ledger.ack(5, 500);
  assert.deepEqual(ledger.final(set(1, 4, 5)), { live: 3, lost: 0 });
  assert.deepEqual(ledger.lost, []);
});

test('a write in neither is lost', () => {
  const ledger = new Ledger();
  ledger.ack(1, 100);
  ledger.ack(2, 350);
  const found = ledger.restored(1, { sentAt: 300, readAt: 400, safety: set(1), live: set(1) });
  assert.equal(found.lost, 1);
  assert.equal(ledger.lost[0].n, 2);
});

test('a write acknowledged before the restore but missing from its safety snapshot is a broken guarantee', () => {
  const ledger = new Ledger();
  ledger.ack(1, 100);
  ledger.ack(2, 200);
  // 2 is live again (the restored backup had it) but the safety snapshot missed it
  const found = ledger.restored(7, { sentAt: 300, readAt: 400, safety: set(1), live: set(1, 2) });
  assert.equal(found.safetyIncomplete, 1);
  assert.deepEqual(ledger.safetyIncomplete, [{ n: 2, restore: 7 }]);
});

test('a write acknowledged after the read began is left for the next check; the end finds it or not', () => {
  const ledger = new Ledger(2);
  ledger.ack(1, 100);
  ledger.ack(2, 450);
  assert.equal(ledger.restored(1, { sentAt: 300, readAt: 400, safety: set(1), live: set(1) }).lost, 0);
  assert.deepEqual(ledger.final(set(1)), { live: 1, lost: 1 });
  assert.match(ledger.lost[0].detail, /not in the live database at the end/);
});
