// Tests of tools/k8s/workshop.sh without a cluster: a fake kubectl (fakes/kubectl) records every call
// and its port-forwards start fake API and agent servers, so each step runs for real against them.
// Run: node --test tools/k8s/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, test } from 'node:test';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(HERE, 'workshop.sh');
const tmp = mkdtempSync(path.join(tmpdir(), 'pra-workshop-test-'));
const LOG = path.join(tmp, 'kubectl.log');
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

function workshop(command, env = {}) {
  writeFileSync(LOG, '');
  const result = spawnSync('bash', [SCRIPT, command], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      PATH: `${path.join(HERE, 'fakes')}:${process.env.PATH}`,
      KUBECTL: 'kubectl',
      FAKE_KUBECTL_LOG: LOG,
      FAKE_STATE: path.join(tmp, 'count'),
      RUN_DIR: path.join(tmp, 'run'),
      API_LOCAL_PORT: String(apiPort),
      AGENT_LOCAL_PORT: String(agentPort),
      ID: '',
      OFFLINE: '',
      DRY_RUN: '',
      ...env,
    },
  });
  const calls = readFileSync(LOG, 'utf8').split('\n').filter(Boolean);
  return { ...result, calls, out: result.stdout + result.stderr };
}

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
  calls.filter((c) => /\b(apply|delete|scale|patch|create|annotate|rollout restart)\b/.test(c));
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
});
afterEach(() => workshop('unforward'));
after(() => rmSync(tmp, { recursive: true, force: true }));

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

test('restore refuses an id that is not one, before touching the cluster', () => {
  const result = workshop('restore', { ID: '../../etc/passwd', OFFLINE: '1' });
  assert.notEqual(result.status, 0);
  assert.match(result.out, /is not a backup id/);
  assert.deepEqual(mutations(result.calls), []);
});

test('restore OFFLINE=1 runs the Job with the API stopped, then brings the API back', () => {
  const result = workshop('restore', { ID: 'app-1772098321', OFFLINE: '1' });
  assert.equal(result.status, 0, result.out);
  assertInOrder(result.calls, [
    /scale deployment api --replicas=0/,
    /wait --for=delete pod -l app.kubernetes.io\/name=api/,
    /delete job sqlite-restore/,
    /logs job\/sqlite-restore/,
    /scale deployment api --replicas=1/,
    /rollout status deployment\/api/,
  ]);
  // `kubectl set env --local ... | kubectl apply -f -`: the two sides of the pipe log in either order
  const between = (re) => {
    const i = result.calls.findIndex((c) => re.test(c));
    return (
      i > result.calls.findIndex((c) => /delete job sqlite-restore/.test(c)) &&
      i < result.calls.findIndex((c) => /logs job/.test(c))
    );
  };
  assert.ok(
    between(/set env --local -o yaml -f deploy\/k8s\/jobs\/restore.yaml BACKUP_ID=app-1772098321$/),
    result.calls.join('\n'),
  );
  assert.ok(between(/apply -f -$/), result.calls.join('\n'));
});

test('pca deletes the api pod and finds the same count', () => {
  const result = workshop('pca');
  assert.equal(result.status, 0, result.out);
  assertInOrder(result.calls, [/delete pod\/api-6d9c7b8f5d-x2x7q/, /wait --for=condition=Ready pod/]);
  assert.match(result.out, /PCA: nothing lost/);
});

test('pra pins the restore point, re-creates only pra-data and restores it offline', () => {
  const result = workshop('pra');
  assert.equal(result.status, 0, result.out);
  assertInOrder(result.calls, [
    /scale deployment api --replicas=0/,
    /delete pvc pra-data/,
    /apply -k deploy\/k8s\/base -l app.kubernetes.io\/name=pra-data/,
    /set env --local .* BACKUP_ID=app-1772098381$/,
    /scale deployment api --replicas=1/,
  ]);
  assert.ok(
    !result.calls.some((c) => /apply -k deploy\/k8s\/base$/.test(c)),
    'a full apply would start the API',
  );
  assert.match(result.out, /restore point: app-1772098381 \(42 rows\)/);
});

test('pra in CronJob mode suspends the CronJob first and resumes it last', () => {
  const result = workshop('pra', { FAKE_MODE: 'cronjob', OVERLAY: 'cronjob' });
  assert.equal(result.status, 0, result.out);
  assertInOrder(result.calls, [
    /scale deployment api --replicas=0/,
    /patch cronjob sqlite-backup -p \{"spec":\{"suspend":true\}\}/,
    /delete pvc pra-data/,
    /apply -k deploy\/k8s\/overlays\/cronjob -l app.kubernetes.io\/name=pra-data/,
    /set env --local .* BACKUP_ID=$/,
    /scale deployment api --replicas=1/,
    /patch cronjob sqlite-backup -p \{"spec":\{"suspend":false\}\}/,
  ]);
});

test('DRY_RUN=1 prints the commands and changes nothing', () => {
  for (const command of ['deploy', 'pra', 'pca', 'restore']) {
    const result = workshop(command, { DRY_RUN: '1', OFFLINE: '1' });
    assert.equal(result.status, 0, result.out);
    assert.deepEqual(mutations(result.calls), [], `${command} ran: ${mutations(result.calls)}`);
    assert.match(result.out, /^\+ (kubectl|deploy|curl)/m);
  }
});

test('deploy refuses a TAG the manifests do not deploy', () => {
  const result = workshop('deploy', { TAG: '9.9' });
  assert.notEqual(result.status, 0);
  assert.match(result.out, /TAG=9.9 but the manifests deploy 1.0/);
  assert.deepEqual(mutations(result.calls), []);
});
