// The Ansible path, for real: ansible-playbook runs the playbook against the fake cluster of
// tools/k8s/fakes (kubectl, k3d, docker), so each stage runs the same runbook as make. Checks the
// cluster's state afterwards, idempotence (changed=0 the second time), the restore's failure
// handling, and that modules run with the Python that runs Ansible.
// Run: node --test deploy/ansible/ (make validate-ansible)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, test } from 'node:test';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const FAKES = path.join(ROOT, 'tools/k8s/fakes');
const tmp = mkdtempSync(path.join(tmpdir(), 'pra-ansible-test-'));
const CLUSTER = path.join(tmp, 'cluster.json');
const ports = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const env = (extra = {}) => ({
  ...process.env,
  PATH: `${FAKES}:${process.env.PATH}`,
  ANSIBLE_CONFIG: path.join(HERE, 'ansible.cfg'),
  ANSIBLE_NOCOLOR: '1',
  FAKE_CLUSTER: CLUSTER,
  FAKE_STATE: path.join(tmp, 'count'),
  FAKE_KUBECTL_LOG: path.join(tmp, 'calls.log'),
  RUN_DIR: path.join(tmp, 'run'),
  API_LOCAL_PORT: String(ports[0]),
  AGENT_LOCAL_PORT: String(ports[1]),
  POLL: '0.1',
  READY_GRACE: '1',
  ...extra,
});

function playbook(args, extra) {
  const r = spawnSync('ansible-playbook', [path.join(HERE, 'playbook.yml'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
    env: env(extra),
  });
  const recap = /localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/.exec(r.stdout);
  return { ...r, out: r.stdout + r.stderr, changed: Number(recap?.[2]), failed: Number(recap?.[3]) };
}

const cluster = () => JSON.parse(readFileSync(CLUSTER, 'utf8'));
const replicas = () => cluster().objects['Deployment/api'].spec.replicas;

before(async () => {
  ports.push(await freePort(), await freePort());
  spawnSync('bash', [path.join(ROOT, 'deploy/k8s/generate-secrets.sh')]);
});
beforeEach(() => rmSync(CLUSTER, { force: true }));
after(() => {
  spawnSync('bash', [path.join(ROOT, 'tools/k8s/workshop.sh'), 'unforward'], { env: env() });
  rmSync(tmp, { recursive: true, force: true });
});

test('modules run with the Python that runs Ansible, not a fixed path', () => {
  // a python3 at another path, as `pip install --user ansible` gives in a Codespace
  const bin = path.join(tmp, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync('/usr/bin/python3', path.join(bin, 'python3'));
  const ansible = spawnSync('which', ['ansible'], { encoding: 'utf8' }).stdout.trim();
  const r = spawnSync(
    path.join(bin, 'python3'),
    [ansible, 'localhost', '-m', 'ansible.builtin.setup', '-a', 'filter=ansible_python'],
    { cwd: HERE, encoding: 'utf8', env: env() },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`"executable": "${path.join(bin, 'python3')}"`));
});

test('deploy runs the runbook and changes nothing the second time', () => {
  const first = playbook(['--tags', 'deploy'], { FAKE_OVERLAY: 'none' }); // an empty cluster
  assert.equal(first.status, 0, first.out);
  assert.ok(first.changed >= 1, first.out);
  assert.match(first.out, /the API is ready/);
  const second = playbook(['--tags', 'deploy']);
  assert.equal(second.status, 0, second.out);
  assert.equal(second.changed, 0, second.out);
  assert.match(readFileSync(path.join(tmp, 'calls.log'), 'utf8'), /--context k3d-pra/);
});

test('import skips a build the nodes already have (Docker containerd image store)', () => {
  const r = playbook(['--tags', 'import'], { FAKE_DOCKER_STORE: 'containerd' });
  assert.equal(r.status, 0, r.out);
  assert.equal(r.changed, 0, r.out);
});

test('restore -e restore_at=... runs the Job for that instant and brings the API back', () => {
  const r = playbook(['--tags', 'restore', '-e', 'restore_at=2026-11-30T10:41:07Z']);
  assert.equal(r.status, 0, r.out);
  const c = cluster().objects['Job/sqlite-restore'].spec.template.spec.containers[0];
  const jobEnv = Object.fromEntries(c.env.map((e) => [e.name, e.value ?? '']));
  assert.equal(jobEnv.BACKUP_AT, '2026-11-30T10:41:07Z');
  assert.equal(jobEnv.BACKUP_ID, '');
  assert.equal(replicas(), 1);
});

test('restore with an empty restore point restores the newest one', () => {
  const r = playbook(['--tags', 'restore']);
  assert.equal(r.status, 0, r.out);
  assert.ok(cluster().objects['Job/sqlite-restore']);
  assert.equal(replicas(), 1);
});

test('a restore that does not finish in time fails the play and leaves the API stopped', () => {
  const r = playbook(['--tags', 'restore'], { FAKE_JOB: 'running', RESTORE_TIMEOUT: '2' });
  assert.notEqual(r.status, 0);
  assert.equal(r.failed, 1, r.out);
  assert.match(r.out, /the API stays stopped/);
  assert.equal(replicas(), 0);
});

test('restore refuses restore_id and restore_at together, before touching the cluster', () => {
  writeFileSync(path.join(tmp, 'calls.log'), '');
  const r = playbook(['--tags', 'restore', '-e', 'restore_id=app-1772098321', '-e', 'restore_at=1772098321']);
  assert.notEqual(r.status, 0);
  assert.match(r.out, /not both/);
  assert.doesNotMatch(readFileSync(path.join(tmp, 'calls.log'), 'utf8'), /scale|apply/);
});

test('the image stage builds with make image (one build after the other, with its cache)', () => {
  const r = spawnSync('make', ['-n', '-o', 'build', 'image', 'PACKER=packer'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /packer build -parallel-builds=1 .*-var build_cache_dir=/);
  const role = readFileSync(path.join(HERE, 'roles/image/tasks/main.yml'), 'utf8');
  assert.match(role, /argv: \[make, image, "TAG=\{\{ pra_image_tag \}\}"\]/);
});
