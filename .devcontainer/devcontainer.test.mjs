// Checks of the Codespace definition (make validate-devcontainer, run by CI): devcontainer.json is
// plain JSON with what the workshop needs, and post-create.sh passes shellcheck and installs the
// tools the way the workshop does. No Codespace runs here: this is what can be checked offline.
// Run: node --test .devcontainer/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(HERE);
const config = JSON.parse(readFileSync(path.join(HERE, 'devcontainer.json'), 'utf8'));
const script = readFileSync(path.join(HERE, 'post-create.sh'), 'utf8');
const project = JSON.parse(readFileSync(path.join(ROOT, 'deploy/k8s/project.json'), 'utf8'));

test('devcontainer.json gives Docker, kubectl and Python, on a Node image the project supports', () => {
  const features = Object.keys(config.features);
  for (const f of ['docker-in-docker', 'kubectl-helm-minikube', 'python']) {
    assert.ok(
      features.some((name) => name.includes(`/features/${f}:`)),
      `no ${f} feature in ${features}`,
    );
  }
  const node = /javascript-node:\d+-(\d+)-/.exec(config.image)?.[1];
  assert.ok(Number(node) >= 20, `image ${config.image}: the project needs Node 20.19 or later`);
});

test('devcontainer.json runs post-create.sh and forwards the ports make forward uses', () => {
  const [, file] = /^bash (\S+)$/.exec(config.postCreateCommand) ?? [];
  assert.equal(file, '.devcontainer/post-create.sh');
  accessSync(path.join(ROOT, file), constants.X_OK);
  assert.deepEqual(config.forwardPorts, [project.ports.api, project.ports.agent]);
  assert.match(config.remoteEnv.PATH, /\/\.local\/bin/, 'pip --user puts ansible in ~/.local/bin');
});

test('post-create.sh installs k3d, Packer 1.11 and Ansible with kubernetes.core as the workshop does', () => {
  assert.match(
    script,
    /curl -s https:\/\/raw\.githubusercontent\.com\/k3d-io\/k3d\/main\/install\.sh \| bash/,
  );
  assert.match(script, /PACKER_VERSION=\$\{PACKER_VERSION:-1\.11\.\d+\}/);
  assert.match(
    script,
    /https:\/\/releases\.hashicorp\.com\/packer\/\$\{PACKER_VERSION\}\/packer_\$\{PACKER_VERSION\}_linux_\$\{arch\}\.zip/,
  );
  assert.match(script, /python3 -m pip install --user .*ansible kubernetes/);
  assert.match(script, /ansible-galaxy collection install kubernetes\.core/);
  assert.match(script, /^make install$/m);
  assert.match(script, /^set -euo pipefail$/m);
});

test('post-create.sh passes shellcheck and bash -n', () => {
  const syntax = spawnSync('bash', ['-n', path.join(HERE, 'post-create.sh')], { encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);
  const check = spawnSync('shellcheck', [path.join(HERE, 'post-create.sh')], { encoding: 'utf8' });
  assert.ok(!check.error, 'shellcheck is not installed (apt-get install shellcheck)');
  assert.equal(check.status, 0, check.stdout);
});
