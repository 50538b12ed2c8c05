import { parseDrillArgs } from './drill-options';

describe('parseDrillArgs', () => {
  it('has sensible defaults and reads BACKUP_TOKEN', () => {
    expect(parseDrillArgs(['pod-loss'], { BACKUP_TOKEN: 'tok' })).toMatchObject({
      scenario: 'pod-loss',
      target: 'local',
      rate: 20,
      warmup: 5,
      timeout: 240,
      objectives: {},
      apiUrl: 'http://127.0.0.1:8080',
      agentUrl: 'http://127.0.0.1:8081',
      token: 'tok',
      namespace: 'pra',
      auto: false,
    });
    expect(parseDrillArgs(['data-loss', '--auto'], {})).toMatchObject({ scenario: 'data-loss', auto: true });
  });

  it('reads objectives and options', () => {
    const o = parseDrillArgs(
      [
        'data-loss',
        '--target',
        'k8s',
        '--rto',
        '30',
        '--rpo',
        '65',
        '--max-lost',
        '2000',
        '--rate',
        '50',
        '--api',
        'http://x:1/',
      ],
      {},
    );
    expect(o).toMatchObject({
      scenario: 'data-loss',
      target: 'k8s',
      rate: 50,
      objectives: { rtoSeconds: 30, rpoSeconds: 65, maxLost: 2000 },
      apiUrl: 'http://x:1',
    });
  });

  it.each([
    [[], /exactly one scenario/],
    [['meteor'], /unknown scenario "meteor"/],
    [['pod-loss', 'data-loss'], /exactly one scenario/],
    [['pod-loss', '--target', 'aws'], /--target must be one of local, podman, k8s/],
    [['pod-loss', '--rate', '0'], /--rate must be a number from 1 to 1000/],
    [['pod-loss', '--rto', 'soon'], /--rto must be a number/],
    [['pod-loss', '--bogus'], /Unknown option '--bogus'/],
    [['pod-loss', '--auto'], /--auto goes with data-loss on the local target/],
    [['data-loss', '--auto', '--target', 'k8s'], /--auto goes with data-loss on the local target/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseDrillArgs(argv as string[], {})).toThrow(message);
  });

  it('answers help', () => {
    expect(parseDrillArgs(['--help'], {})).toBe('help');
  });
});
