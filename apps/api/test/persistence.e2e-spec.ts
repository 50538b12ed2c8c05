import { makeTempDir } from '@pra-kit/shared/testing';
import { startTestApi } from './support/test-api';

describe('persistence', () => {
  it('finds all N events written over HTTP after the app restarts on the same file', async () => {
    const temp = makeTempDir('persist');
    const N = 300;
    const first = await startTestApi({ dir: temp.path });
    // Concurrent writes: group commit batches them, every one must still be stored once.
    const acks = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        first
          .http()
          .get('/add')
          .query({ message: `event-${i}` })
          .expect(200),
      ),
    );
    const ids = new Set(acks.map((r) => r.body.id as number));
    expect(ids.size).toBe(N);
    await first.app.close();

    const second = await startTestApi({ dir: temp.path });
    try {
      expect((await second.http().get('/count').expect(200)).body).toEqual({ count: N });
      const stored = (await second.http().get('/consultation?limit=500').expect(200)).body as {
        id: number;
        message: string;
      }[];
      expect(stored).toHaveLength(N);
      expect(new Set(stored.map((e) => e.message))).toEqual(new Set(acks.map((r) => r.body.message)));
      expect(new Set(stored.map((e) => e.id))).toEqual(ids);
    } finally {
      await second.close();
      temp.remove();
    }
  });
});
