// Tests of the runbook, tools/k8s/workshop.sh, without a cluster. The fake kubectl (fakes/kubectl)
// keeps a small cluster in a JSON file and answers like kubectl; what kubectl does offline (the
// rendering of the restore Job, kustomize) is done by the real kubectl. Its port-forwards serve
// fake API and agent endpoints, so each step runs for real against them.
// Run: node --test tools/k8s/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const SCRIPT = path.join(HERE, 'workshop.sh');
const tmp = mkdtempSync(path.join(tmpdir(), 'pra-workshop-test-'));
const LOG = path.join(tmp, 'calls.log');
const CLUSTER = path.join(tmp, 'cluster.json');
let apiPort;
let agentPort;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function workshop(command, env = {}, ...args) {
  writeFileSync(LOG, '');
  const result = spawnSync('bash', [SCRIPT, command, ...args], {
    encoding: 'utf8',
    timeout: 90_000,
    env: {
      ...process.env,
      PATH: `${path.join(HERE, 'fakes')}:${process.env.PATH}`,
      KUBECTL: 'kubectl',
      FAKE_KUBECTL_LOG: LOG,
      FAKE_CLUSTER: CLUSTER,
      FAKE_STATE: path.join(tmp, 'count'),
      RUN_DIR: path.join(tmp, 'run'),
      API_LOCAL_PORT: String(apiPort),
      AGENT_LOCAL_PORT: String(agentPort),
      POLL: '0.1',
      READY_GRACE: '1',
      ID: '',
      AT: '',
      OFFLINE: '',
      DRY_RUN: '',
      ...env,
    },
  });
  const calls = readFileSync(LOG, 'utf8').split('\n').filter(Boolean);
  return { ...result, calls, out: result.stdout + result.stderr };
}

/** The fake cluster's state: objects by "Kind/name", the api pods, the restore Job's pod. */
const cluster = () => JSON.parse(readFileSync(CLUSTER, 'utf8'));
const replicas = () => cluster().objects['Deployment/api'].spec.replicas;
const restoreEnv = () =>
  Object.fromEntries(
    cluster().objects['Job/sqlite-restore'].spec.template.spec.containers[0].env.map((e) => [
      e.name,
      e.value ?? '',
    ]),
  );

/** Asserts that the calls contain each pattern, in this order. */
function assertInOrder(calls, patterns) {
  let at = 0;
  for (const pattern of patterns) {
    const found = calls.findIndex((c, i) => i >= at && pattern.test(c));
    assert.ok(found >= 0, `no call matching ${pattern} after call ${at} in:\n  ${calls.join('\n  ')}`);
    at = found + 1;
  }
}

const mutations = (calls) =>
  calls.filter(
    (c) =>
      /^kubectl/.test(c) &&
      !/--local/.test(c) &&
      /\b(apply|delete|scale|patch|create|annotate|rollout restart)\b/.test(c),
  );
const pidOf = (name) => {
  const file = path.join(tmp, 'run', `forward-${name}.pid`);
  return existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined;
};
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

before(async () => {
  apiPort = await freePort();
  agentPort = await freePort();
  // what make deploy does first: the credential files kustomize needs (gitignored, never overwritten)
  spawnSync('bash', [path.join(ROOT, 'deploy/k8s/generate-secrets.sh')]);
});
beforeEach(() => rmSync(CLUSTER, { force: true }));
afterEach(() => workshop('unforward'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('port-forwards', () => {
  test('forward starts both port-forwards, restarts them, and unforward stops them', async () => {
    const first = workshop('forward');
    assert.equal(first.status, 0, first.out);
    const [api1, agent1] = [pidOf('api'), pidOf('agent')];
    assert.ok(alive(api1) && alive(agent1));
    const count = await (await fetch(`http://127.0.0.1:${apiPort}/count`)).json();
    assert.equal(typeof count.count, 'number');

    const second = workshop('forward');
    assert.equal(second.status, 0, second.out);
    assert.ok(!alive(api1) && !alive(agent1), 'the old forwards still run');
    assert.ok(alive(pidOf('api')) && pidOf('api') !== api1);

    const stop = workshop('unforward');
    assert.equal(stop.status, 0, stop.out);
    assert.equal(pidOf('api'), undefined);
  });

  test('forward fails when its local port is taken', async () => {
    const squatter = net.createServer().listen(apiPort, '127.0.0.1');
    await new Promise((r) => squatter.on('listening', r));
    try {
      const result = workshop('forward');
      assert.notEqual(result.status, 0);
      assert.match(result.out, /api port-forward stopped|nothing answers/);
    } finally {
      squatter.close();
    }
  });

  test('forward does not wait for an API that is unready on purpose (no database): its 503 is visible', async () => {
    const started = Date.now();
    const result = workshop('forward', { FAKE_API: 'unready', START_TIMEOUT: '20' });
    assert.equal(result.status, 0, result.out);
    assert.ok(Date.now() - started < 15_000, 'forward waited for readiness');
    assert.ok(!result.calls.some((c) => /rollout status deployment\/api/.test(c)), result.calls.join('\n'));
    const ready = await fetch(`http://127.0.0.1:${apiPort}/ready`);
    assert.equal(ready.status, 503);
    assert.equal((await ready.json()).code, 'DATABASE_MISSING');
  });

  test('forward fails with the reason when the API never starts', () => {
    const result = workshop('forward', { FAKE_API: 'crash', START_TIMEOUT: '1' });
    assert.notEqual(result.status, 0);
    assert.match(result.out, /has not started within 1s: api: CrashLoopBackOff/);
  });
});

describe('deploy', () => {
  test('deploy applies the overlay, waits for the API to start, says "nothing changed" the second time', () => {
    const first = workshop('deploy');
    assert.equal(first.status, 0, first.out);
    assert.match(first.out, /the API is ready/);
    const second = workshop('deploy');
    assert.equal(second.status, 0, second.out);
    assert.match(second.out, /^deploy: nothing changed$/m);
  });

  test('deploy finishes on a deliberately unready API and says why it is not ready', () => {
    const started = Date.now();
    const result = workshop('deploy', { FAKE_API: 'unready', READY_GRACE: '2' });
    assert.equal(result.status, 0, result.out);
    assert.ok(Date.now() - started < 20_000);
    assert.match(result.out, /not ready: \/ready answers 503 .*DATABASE_MISSING/);
    assert.match(result.out, /restore one, make restore/);
  });

  test('deploy refuses a TAG the manifests do not deploy', () => {
    const result = workshop('deploy', { TAG: '9.9' });
    assert.notEqual(result.status, 0);
    assert.match(result.out, /TAG=9.9 but the manifests deploy 1.0/);
    assert.deepEqual(mutations(result.calls), []);
  });

  test('deploy OVERLAY=cronjob removes the sidecar Service the sidecar mode left', () => {
    const result = workshop('deploy', { OVERLAY: 'cronjob' });
    assert.equal(result.status, 0, result.out);
    assert.ok(result.calls.some((c) => /delete service backup-agent/.test(c)));
    assert.ok(cluster().objects['CronJob/sqlite-backup']);
    assert.equal(cluster().objects['Service/backup-agent'], undefined);
  });
});

describe('images', () => {
  for (const store of ['classic', 'containerd']) {
    test(`import skips images every node already has (Docker ${store} image store)`, () => {
      const result = workshop('import', { FAKE_DOCKER_STORE: store });
      assert.equal(result.status, 0, result.out);
      assert.match(result.out, /^import: nothing changed$/m);
      assert.ok(
        !result.calls.some((c) => /^k3d image import|rollout restart/.test(c)),
        result.calls.join('\n'),
      );
    });
  }

  test('import brings in a newer build and restarts the api pod', () => {
    const result = workshop('import', { FAKE_DOCKER_STORE: 'containerd', FAKE_NODE_IMAGES: 'stale' });
    assert.equal(result.status, 0, result.out);
    assertInOrder(result.calls, [
      /^k3d image import pra\/api:1.0 pra\/backup-agent:1.0 --cluster pra$/,
      /rollout restart deployment\/api/,
    ]);
  });
});

describe('backups and online restore', () => {
  test('backups lists the restore points as a table', () => {
    const result = workshop('backups');
    assert.equal(result.status, 0, result.out);
    assert.match(result.out, /ID\s+CREATED \(UTC\)\s+ROWS/);
    assert.match(result.out, /app-1772098381\s+2026-02-26T09:33:01.004Z\s+42\s+20480\s+verified\s+uploaded/);
  });

  test('backup authenticates with the token read from the Secret', () => {
    const result = workshop('backup');
    assert.equal(result.status, 0, result.out);
    assert.match(result.out, /"id":"app-1772098441"/); // the fake agent answers 401 to a wrong token
    assert.ok(result.calls.some((c) => /get secret pra-backup-token/.test(c)));
    assert.doesNotMatch(result.out, /f{64}/, 'the token was printed');
  });

  test('restore ID=... restores online through the agent', () => {
    const result = workshop('restore', { ID: 'app-1772098321' });
    assert.equal(result.status, 0, result.out);
    assert.match(result.out, /"restored":"app-1772098321"/);
    assert.deepEqual(mutations(result.calls), []);
  });

  test('restore AT=... asks the agent for that instant', () => {
    const result = workshop('restore', { AT: '2026-11-30T10:41:07+01:00' });
    assert.equal(result.status, 0, result.out);
    assert.match(result.out, /"restored_at":"2026-11-30T10:41:07\+01:00"/);
    assert.match(result.out, /restore\?at=2026-11-30T10%3A41%3A07%2B01%3A00/);
  });

  for (const [env, message] of [
    [{ ID: '../../etc/passwd', OFFLINE: '1' }, /is not a backup id/],
    [{ AT: 'yesterday', OFFLINE: '1' }, /is not an instant/],
    [{ ID: 'app-1772098321', AT: '1772098321', OFFLINE: '1' }, /give ID= or AT=, not both/],
  ]) {
    test(`restore refuses ${JSON.stringify(env)} before touching the cluster`, () => {
      const result = workshop('restore', env);
      assert.notEqual(result.status, 0);
      assert.match(result.out, message);
      assert.deepEqual(mutations(result.calls), []);
    });
  }
});

describe('offline restore', () => {
  for (const [name, env, expected] of [
    ['empty ID and AT (the newest point)', {}, { BACKUP_ID: '', BACKUP_AT: '' }],
    ['ID=...', { ID: 'app-1772098321' }, { BACKUP_ID: 'app-1772098321', BACKUP_AT: '' }],
    ['AT=...', { AT: '2026-11-30T10:41:07Z' }, { BACKUP_ID: '', BACKUP_AT: '2026-11-30T10:41:07Z' }],
  ]) {
    test(`restore OFFLINE=1 with ${name}: API stopped, Job run, API back`, () => {
      const result = workshop('restore', { ...env, OFFLINE: '1' });
      assert.equal(result.status, 0, result.out);
      assertInOrder(result.calls, [
        /scale deployment api --replicas=0/,
        /wait --for=delete pod -l app.kubernetes.io\/name=api/,
        /delete job sqlite-restore/,
        /^kubectl apply -f -$/,
        /logs job\/sqlite-restore/,
        /scale deployment api --replicas=1/,
      ]);
      const job = restoreEnv();
      assert.equal(job.BACKUP_ID, expected.BACKUP_ID);
      assert.equal(job.BACKUP_AT, expected.BACKUP_AT);
      assert.equal(replicas(), 1);
    });
  }

  test('a restore Job that fails: the API comes back on its old database and the command fails', () => {
    const result = workshop('restore', { OFFLINE: '1', FAKE_JOB: 'fail' });
    assert.notEqual(result.status, 0);
    assert.match(result.out, /the restore Job failed \(BackoffLimitExceeded\)/);
    assert.match(result.out, /the API runs on the database the volume had/);
    assert.equal(replicas(), 1);
  });

  for (const stuck of ['running', 'pending']) {
    test(`a restore Job still ${stuck} at the timeout: the API stays stopped and the state is said`, () => {
      const result = workshop('restore', { OFFLINE: '1', FAKE_JOB: stuck, RESTORE_TIMEOUT: '2' });
      assert.notEqual(result.status, 0);
      assert.match(result.out, /has not finished after 2s/);
      assert.match(result.out, /the API stays stopped/);
      assert.match(result.out, stuck === 'running' ? /pod sqlite-restore-\S+ Running/ : /ErrImageNeverPull/);
      assert.equal(replicas(), 0, 'the API was started over a restore that may still run');
      assert.ok(!result.calls.some((c) => /--replicas=1/.test(c)));
    });
  }

  test('the steps one by one: stop, restore-job, start (what Ansible and the drill call)', () => {
    let result = workshop('restore-job');
    assert.notEqual(result.status, 0);
    assert.match(result.out, /the API still runs: the offline restore needs it stopped/);
    assert.ok(!result.calls.some((c) => /apply -f -/.test(c)));

    rmSync(CLUSTER, { force: true }); // a cluster in CronJob mode
    result = workshop('stop', { FAKE_OVERLAY: 'cronjob' });
    assert.equal(result.status, 0, result.out);
    assert.equal(cluster().objects['CronJob/sqlite-backup'].spec.suspend, true);
    assert.equal(replicas(), 0);

    result = workshop('restore-job', { FAKE_OVERLAY: 'cronjob', ID: 'app-1772098321' });
    assert.equal(result.status, 0, result.out);
    assert.match(result.out, /"restored": \{ "id": "app-1772098321"/);
    assert.equal(replicas(), 0, 'restore-job must not start the API');

    result = workshop('start', { FAKE_OVERLAY: 'cronjob' });
    assert.equal(result.status, 0, result.out);
    const cj = cluster().objects['CronJob/sqlite-backup'];
    assert.equal(cj.spec.suspend, false);
    assert.equal(cj.metadata.annotations?.['pra-kit/suspended-by'], undefined);
    assert.equal(replicas(), 1);
  });

  test('start does not resume a CronJob that someone else suspended', () => {
    workshop('stop', { FAKE_OVERLAY: 'cronjob' }); // creates the cluster
    const state = cluster();
    state.objects['CronJob/sqlite-backup'].spec.suspend = true;
    delete state.objects['CronJob/sqlite-backup'].metadata.annotations;
    writeFileSync(CLUSTER, JSON.stringify(state));
    const result = workshop('start', { FAKE_OVERLAY: 'cronjob' });
    assert.equal(result.status, 0, result.out);
    assert.equal(cluster().objects['CronJob/sqlite-backup'].spec.suspend, true);
  });

  test('restore-job FROM=s3 adds --from s3 and the sidecar S3 settings to the Job', () => {
    workshop('stop', { FAKE_OVERLAY: 'minio' });
    const result = workshop('restore-job', { FAKE_OVERLAY: 'minio', FROM: 's3' });
    assert.equal(result.status, 0, result.out);
    const c = cluster().objects['Job/sqlite-restore'].spec.template.spec.containers[0];
    assert.deepEqual(c.args.slice(-2), ['--from', 's3']);
    assert.ok(c.env.some((e) => e.name === 'S3_SECRET_ACCESS_KEY' && e.valueFrom?.secretKeyRef));
    assert.ok(c.envFrom.some((e) => /^backup-agent-config/.test(e.configMapRef?.name)));
    assert.equal(c.env.find((e) => e.name === 'DB_PATH').value, '/data/app.db');
    assert.match(result.out, /"from": "s3"/);
  });
});

describe('scenarios', () => {
  test('pca deletes the api pod and finds the same count', () => {
    const result = workshop('pca');
    assert.equal(result.status, 0, result.out);
    assertInOrder(result.calls, [/delete pod api-6d9c7b8f5d-\w+ --wait=false/, /get pods -l/]);
    assert.match(result.out, /PCA: nothing lost/);
  });

  test('pra with continuous replication restores the newest instant: every write, not the last snapshot', () => {
    const result = workshop('pra');
    assert.equal(result.status, 0, result.out);
    assertInOrder(result.calls, [
      /scale deployment api --replicas=0/,
      /delete pvc pra-data/,
      /^kubectl apply -f -$/,
      /scale deployment api --replicas=1/,
    ]);
    assert.match(result.out, /restore point: the newest restorable point/);
    assert.match(result.out, /continuous replication: every write shipped/);
    assert.deepEqual([restoreEnv().BACKUP_ID, restoreEnv().BACKUP_AT], ['', '']);
  });

  test('pra with snapshots only pins the restore point, re-creates only the volumes and restores them offline', () => {
    const result = workshop('pra', { FAKE_REPLICATION: 'off' });
    assert.equal(result.status, 0, result.out);
    assertInOrder(result.calls, [
      // rendered first: a mistake in it stops everything before the disaster
      /set env --local .* BACKUP_ID=app-1772098381$/,
      /scale deployment api --replicas=0/,
      /delete pvc pra-data/,
      /apply -k deploy\/k8s\/base -l app.kubernetes.io\/component in \(data,backup\)/,
      /^kubectl apply -f -$/,
      /scale deployment api --replicas=1/,
    ]);
    assert.ok(
      !result.calls.some((c) => /apply -k deploy\/k8s\/base$/.test(c)),
      'a full apply would start the API',
    );
    assert.match(result.out, /restore point: backup app-1772098381 \(42 rows\)/);
    assert.equal(restoreEnv().BACKUP_ID, 'app-1772098381');
  });

  test('pra in CronJob mode suspends the CronJob first, restores the newest point, resumes it last', () => {
    const result = workshop('pra', { FAKE_OVERLAY: 'cronjob', OVERLAY: 'cronjob' });
    assert.equal(result.status, 0, result.out);
    assertInOrder(result.calls, [
      /patch cronjob sqlite-backup -p .*"suspend":true/,
      /scale deployment api --replicas=0/,
      /delete pvc pra-data/,
      /apply -k deploy\/k8s\/overlays\/cronjob -l/,
      /^kubectl apply -f -$/,
      /scale deployment api --replicas=1/,
      /patch cronjob sqlite-backup -p .*"suspend":false/,
    ]);
    assert.equal(restoreEnv().BACKUP_ID, '');
    assert.equal(cluster().objects['CronJob/sqlite-backup'].spec.suspend, false);
  });
});

test('DRY_RUN=1 prints the commands and changes nothing', () => {
  for (const command of ['deploy', 'pra', 'pca', 'restore', 'stop', 'start', 'restore-job']) {
    const result = workshop(command, { DRY_RUN: '1', OFFLINE: '1' });
    assert.equal(result.status, 0, `${command}: ${result.out}`);
    assert.deepEqual(mutations(result.calls), [], `${command} ran: ${mutations(result.calls)}`);
    assert.match(result.out, /^\+ (kubectl|deploy|curl)/m);
  }
});
