import { manifestFor, parseManifest, parseManifestText, serializeManifest } from './backup-manifest';

/** A manifest exactly as the agent writes it beside `app-1795306644.db` (its format is a contract). */
const WRITTEN = `{
  "format": 1,
  "id": "app-1795306644",
  "file": "app-1795306644.db",
  "created_at": "2026-11-22T00:17:24.397Z",
  "size": 20480,
  "sha256": "${'ab'.repeat(32)}",
  "page_size": 4096,
  "page_count": 5,
  "rows": 3,
  "schema_version": 1,
  "sqlite_version": "3.53.2",
  "reason": "scheduled",
  "duration_ms": 12,
  "verification": {
    "mode": "quick",
    "ok": true,
    "checked_at": "2026-11-22T00:17:24.409Z"
  }
}
`;

describe('manifests', () => {
  const input = {
    id: 'app-1795306644',
    createdAt: new Date('2026-11-22T00:17:24.397Z'),
    size: 20480,
    sha256: 'ab'.repeat(32),
    facts: { pageSize: 4096, pageCount: 5, rows: 3, schemaVersion: 1, sqliteVersion: '3.53.2' },
    reason: 'scheduled' as const,
    durationMs: 12,
    checkedWith: 'quick' as const,
    checkedAt: new Date('2026-11-22T00:17:24.409Z'),
  };

  it('manifestFor + serializeManifest write exactly the format on disk, field order included', () => {
    expect(serializeManifest(manifestFor(input))).toBe(WRITTEN);
  });

  it('parseManifestText reads it back; anything else is null, never an exception', () => {
    expect(parseManifestText(WRITTEN)).toEqual(manifestFor(input));
    expect(parseManifestText('{"format":1')).toBeNull();
    expect(parseManifestText('')).toBeNull();
    expect(parseManifestText(WRITTEN.replace('"rows": 3', '"rows": -3'))).toBeNull();
    expect(parseManifestText(WRITTEN.replace('app-1795306644.db', 'app-1795306645.db'))).toBeNull();
  });

  it('an adopted file gets reason imported, the name of its file, and duration 0', () => {
    const adopted = manifestFor({ ...input, id: 'app-1795306644-2', reason: 'imported', durationMs: 0 });
    expect(adopted).toMatchObject({ file: 'app-1795306644-2.db', reason: 'imported', duration_ms: 0 });
    expect(parseManifest(adopted)).toEqual(adopted);
  });

  it('accepts fields it does not know (a later version may add some)', () => {
    const later = { ...JSON.parse(WRITTEN), compression: { algorithm: 'zstd' } };
    expect(parseManifest(later)).toEqual(later);
  });

  it("checks a snapshot's place in a replication chain when it has one", () => {
    const inChain = {
      ...JSON.parse(WRITTEN),
      chain: { id: 'chain-1796039077780', tx: 42, time_us: 1796039077781000 },
    };
    expect(parseManifest(inChain)).toEqual(inChain);
    for (const chain of [
      { id: '../x', tx: 1, time_us: 1 },
      { id: 'chain-1796039077780', tx: -1, time_us: 1 },
      'chain',
    ]) {
      expect(parseManifest({ ...JSON.parse(WRITTEN), chain })).toBeNull();
    }
  });
});
