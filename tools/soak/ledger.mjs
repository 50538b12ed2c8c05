// The soak's accounting of acknowledged writes: which ones must be in the live database, which
// ones an online restore rolled back (kept in its safety snapshot, the documented semantics), and
// which ones are lost. Pure: the soak reads the databases and hands the sets over.

/** Where an acknowledged write is expected to be. */
export const LIVE = 1;
export const ROLLED_BACK = 2;

export class Ledger {
  constructor(capacity = 1 << 20) {
    this.ackAt = new Float64Array(capacity); // 0: not acknowledged
    this.state = new Uint8Array(capacity);
    this.rolledBackBy = new Map(); // n -> restore number
    this.acked = 0;
    this.lost = []; // { n, ackAt, detail }
    this.safetyIncomplete = []; // { n, restore }
  }

  /** Write n (1-based) was acknowledged by the API at `at` (ms epoch). */
  ack(n, at) {
    if (n >= this.ackAt.length) this.grow(n);
    this.ackAt[n] = at;
    this.state[n] = LIVE;
    this.acked++;
  }

  /**
   * An online restore, sent at `sentAt` and answered at `answeredAt`, with `safety` the write
   * numbers in its safety snapshot and `live` those in the live database read from `readAt` on
   * (after the answer). Every write acknowledged before the restore was sent is committed, so it
   * must be in the safety snapshot (taken under the restore's write lock). Every write expected
   * live and acknowledged before the read began must now be in the live database, or in the
   * safety snapshot (committed before the restore took its lock: rolled back by the restore, kept
   * in the snapshot). Anything else is lost.
   */
  restored(restore, { sentAt, readAt, safety, live }) {
    const found = { live: 0, rolledBack: 0, lost: 0, safetyIncomplete: 0 };
    for (let n = 1; n < this.ackAt.length; n++) {
      const at = this.ackAt[n];
      if (at === 0 || this.state[n] !== LIVE) continue;
      if (at < sentAt && !safety.has(n)) {
        this.safetyIncomplete.push({ n, restore });
        found.safetyIncomplete++;
      }
      if (at >= readAt) continue; // may or may not be in what was read: the next check decides
      if (live.has(n)) {
        found.live++;
      } else if (safety.has(n)) {
        this.state[n] = ROLLED_BACK;
        this.rolledBackBy.set(n, restore);
        found.rolledBack++;
      } else {
        this.lost.push({
          n,
          ackAt: at,
          detail: `neither in the live database nor in the safety snapshot of restore ${restore}`,
        });
        found.lost++;
      }
    }
    return found;
  }

  /** The end: every write still expected live must be in the live database `live`. */
  final(live) {
    const found = { live: 0, lost: 0 };
    for (let n = 1; n < this.ackAt.length; n++) {
      if (this.ackAt[n] === 0 || this.state[n] !== LIVE) continue;
      if (live.has(n)) found.live++;
      else {
        this.lost.push({ n, ackAt: this.ackAt[n], detail: 'not in the live database at the end' });
        found.lost++;
      }
    }
    return found;
  }

  get rolledBack() {
    return this.rolledBackBy.size;
  }

  grow(n) {
    let size = this.ackAt.length;
    while (size <= n) size *= 2;
    const ackAt = new Float64Array(size);
    ackAt.set(this.ackAt);
    const state = new Uint8Array(size);
    state.set(this.state);
    this.ackAt = ackAt;
    this.state = state;
  }
}
