// The validator's own tests: the real deploy/k8s passes, and each seeded mistake in a copy of it is
// reported (a validator that never fails proves nothing). Run: node --test tools/k8s-validate/
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { RULES } from './rules.mjs';
import { REPO, validate } from './validate.mjs';

const K8S = path.join(REPO, 'deploy/k8s');
const temps = [];
after(() => temps.forEach((t) => rmSync(t, { recursive: true, force: true })));

/** A copy of deploy/k8s with one file edited; `edit` must change the file. */
function mutated(file, edit) {
  const tmp = mkdtempSync(path.join(tmpdir(), 'pra-k8s-mutant-'));
  temps.push(tmp);
  const root = path.join(tmp, 'k8s');
  cpSync(K8S, root, { recursive: true, filter: (src) => !(statSync(src).isFile() && src.endsWith('.env')) });
  const full = path.join(root, file);
  const before = readFileSync(full, 'utf8');
  const after = edit(before);
  assert.notEqual(after, before, `the mutation of ${file} changed nothing`);
  writeFileSync(full, after);
  return root;
}

/** The failed results of a validation of k8sDir: "label: detail", and the rules they come from. */
async function failures(k8sDir) {
  const results = await validate({ k8sDir, repoChecks: false });
  const failed = results.filter((r) => !r.ok);
  return Object.assign(
    failed.map((r) => `${r.label}: ${r.detail}`),
    { rules: new Set(failed.map((r) => r.rule)) },
  );
}

function assertReported(failed, pattern) {
  assert.ok(
    failed.some((f) => pattern.test(f)),
    `expected a failure matching ${pattern}, got:\n  ${failed.join('\n  ') || '(none)'}`,
  );
}

let realRules;
test('the real manifests pass every check', async () => {
  const results = await validate({ k8sDir: K8S });
  const failed = results.filter((r) => !r.ok);
  assert.deepEqual(failed, []);
  assert.ok(results.length > 300, `only ${results.length} checks ran`);
  realRules = new Set(results.map((r) => r.rule).filter(Boolean));
  assert.deepEqual(
    [...realRules].sort(),
    Object.keys(RULES).sort(),
    'a rule never ran, or ran without an id',
  );
});

// Each case: one mistake in a copy of deploy/k8s, the rule that must report it, and what it says.
const cases = [
  {
    what: 'a rolling update of the single SQLite writer',
    rule: 'single-writer',
    file: 'base/deployment.yaml',
    edit: (s) => s.replace('type: Recreate', 'type: RollingUpdate'),
    expect: [/Deployment api: replicas 1, strategy Recreate/, /one replica and strategy Recreate/],
  },
  {
    what: 'a misspelt field (the API server would drop it silently)',
    rule: 'probes',
    file: 'base/deployment.yaml',
    edit: (s) => s.replace('          readinessProbe:', '          readinessprobe:'),
    expect: [/Deployment pra\/api matches the Kubernetes schema: .*readinessprobe/, /readiness GET \/ready/],
  },
  {
    what: 'a readiness probe that ignores the database',
    rule: 'probes',
    file: 'base/deployment.yaml',
    edit: (s) => s.replace('path: /ready', 'path: /health'),
    expect: [/readiness GET \/ready :8080/],
  },
  {
    what: 'a value of the wrong type',
    rule: 'ports',
    file: 'base/deployment.yaml',
    edit: (s) => s.replace('containerPort: 8080', 'containerPort: "8080"'),
    expect: [/Deployment pra\/api matches the Kubernetes schema: .*containerPort/, /the API listens on 8080/],
  },
  {
    what: "a Service that targets the sidecar's port by name (no endpoints before Kubernetes 1.32)",
    rule: 'ports',
    file: 'base/services.yaml',
    edit: (s) => s.replace('targetPort: 8081', 'targetPort: agent-http'),
    expect: [
      /Service pra\/backup-agent: port 80 targets a container port \(agent-http\): a native sidecar's port by name/,
      /Service backup-agent 80 -> 8081/,
    ],
  },
  {
    what: 'an agent told to listen elsewhere than the port it declares',
    rule: 'ports',
    file: 'base/kustomization.yaml',
    edit: (s) => s.replace('AGENT_PORT=8081', 'AGENT_PORT=8082'),
    expect: [/the agent listens on 8081 \(AGENT_PORT\)/],
  },
  {
    what: 'a writable root filesystem',
    rule: 'security',
    file: 'base/deployment.yaml',
    edit: (s) => s.replace('readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'),
    expect: [/container backup-agent: read-only root fs/],
  },
  {
    what: 'service links left on (API_PORT=tcp://... in the pods)',
    rule: 'security',
    file: 'base/deployment.yaml',
    edit: (s) => s.replace('enableServiceLinks: false', 'enableServiceLinks: true'),
    expect: [/enableServiceLinks false/],
  },
  {
    what: 'the API able to write into the backups',
    rule: 'paths',
    file: 'base/deployment.yaml',
    edit: (s) =>
      s.replace(
        '              mountPath: /backup\n              readOnly: true\n',
        '              mountPath: /backup\n',
      ),
    expect: [/api: pra-backup mounted read-only at \/backup/],
  },
  {
    what: 'a data volume under another name than the runbook uses',
    rule: 'names',
    file: 'base/pvc.yaml',
    edit: (s) => s.replace('  name: pra-data\n', '  name: data\n'),
    expect: [/PVC pra-data \(ReadWriteOnce\): missing/, /claims an existing PVC \(pra-data\)/],
  },
  {
    what: 'a sidecar that is a plain init container (it would block the API forever)',
    rule: 'sidecar',
    file: 'base/deployment.yaml',
    edit: (s) => s.replace('          restartPolicy: Always\n', ''),
    expect: [/backup-agent restartPolicy Always/],
  },
  {
    what: 'a hard-coded token',
    rule: 'credentials',
    file: 'base/deployment.yaml',
    edit: (s) =>
      s.replace(
        /- name: BACKUP_TOKEN\n(\s+)valueFrom:\n\s+secretKeyRef:\n\s+name: pra-backup-token\n\s+key: token/,
        '- name: BACKUP_TOKEN\n$1value: "0123456789abcdef0123"',
      ),
    expect: [/BACKUP_TOKEN comes from a Secret/, /BACKUP_TOKEN from Secret pra-backup-token/],
  },
  {
    what: 'a token generator that always writes the same token',
    rule: null, // validate.mjs's credential checks, not a manifest rule
    file: 'generate-secrets.sh',
    edit: (s) =>
      s.replace(
        `printf 'token=%s\\n' "$(random_hex 32)"`,
        `printf 'token=%s\\n' "0123456789abcdef0123456789abcdef"`,
      ),
    expect: [/token is random/],
  },
  {
    what: 'an overlay without the namespace (its CronJob misses the generated ConfigMap)',
    rule: 'namespace',
    file: 'overlays/cronjob/kustomization.yaml',
    edit: (s) => s.replace('namespace: pra\n', ''),
    expect: [
      /CronJob sqlite-backup container backup: envFrom ConfigMap backup-agent-config exists/,
      /CronJob sqlite-backup: in namespace pra/,
    ],
    alsoRules: ['references'],
  },
  {
    what: 'overlapping backups',
    rule: 'cronjob',
    file: 'overlays/cronjob/cronjob.yaml',
    edit: (s) => s.replace('concurrencyPolicy: Forbid', 'concurrencyPolicy: Allow'),
    expect: [/concurrencyPolicy Forbid/],
  },
  {
    what: 'a backup CronJob free to land on another node than the ReadWriteOnce volume',
    rule: 'cronjob',
    file: 'overlays/cronjob/cronjob.yaml',
    edit: (s) => s.replace('podAffinity:', 'podAntiAffinity:'),
    expect: [/runs on the api pod's node/],
  },
  {
    what: 'an offline restore allowed beside a running API',
    rule: 'restore-job',
    file: 'jobs/restore.yaml',
    edit: (s) => s.replace('podAntiAffinity:', 'podAffinity:'),
    expect: [/never beside a running API/],
  },
  {
    what: 'a restore Job on another image tag than the Deployment',
    rule: 'images',
    file: 'jobs/restore.yaml',
    edit: (s) => s.replace('image: pra/backup-agent:1.0', 'image: pra/backup-agent:1.1'),
    expect: [/Job pra\/sqlite-restore container restore: pra\/backup-agent tag is 1.0/],
  },
  {
    what: 'an image the cluster would try to pull (there is no registry)',
    rule: 'images',
    file: 'base/deployment.yaml',
    edit: (s) => s.replace('imagePullPolicy: IfNotPresent', 'imagePullPolicy: Always'),
    expect: [/imagePullPolicy IfNotPresent/],
  },
  {
    what: 'a restore Job that ignores BACKUP_ID',
    rule: 'restore-job',
    file: 'jobs/restore.yaml',
    edit: (s) => s.replace('"--id", "$(BACKUP_ID)"', '"--id", "latest"'),
    expect: [/restore --offline --id \$\(BACKUP_ID\) --at \$\(BACKUP_AT\)/],
  },
  {
    what: 'a restore Job without BACKUP_AT (a point in time could not be chosen)',
    rule: 'restore-job',
    file: 'jobs/restore.yaml',
    edit: (s) => s.replace('            - name: BACKUP_AT\n              value: ""\n', ''),
    expect: [/BACKUP_ID="" BACKUP_AT="" \(the newest point\)/, /BACKUP_ID="app-1772098321" BACKUP_AT="":/],
  },
  {
    what: 'MinIO credentials written in the manifest',
    rule: 'credentials',
    file: 'overlays/minio/agent-offsite.yaml',
    edit: (s) =>
      s.replace(
        /- name: S3_SECRET_ACCESS_KEY\n(\s+)valueFrom:\n\s+secretKeyRef:\n\s+name: minio-credentials\n\s+key: MINIO_ROOT_PASSWORD/,
        '- name: S3_SECRET_ACCESS_KEY\n$1value: minio123minio123',
      ),
    expect: [/S3_SECRET_ACCESS_KEY comes from a Secret/, /agent S3 keys from Secret minio-credentials/],
    alsoRules: ['offsite'],
  },
  {
    what: 'restore --auto appended after the sidecar (the API would start before the restore)',
    rule: 'auto-restore',
    file: 'overlays/auto-restore/auto-restore-init.yaml',
    edit: (s) =>
      s.replace('path: /spec/template/spec/initContainers/0', 'path: /spec/template/spec/initContainers/-'),
    expect: [/init container auto-restore: an ordinary init container, before the sidecar/],
  },
  {
    what: 'restore --auto without the data volume',
    rule: 'paths',
    file: 'overlays/auto-restore/auto-restore-init.yaml',
    edit: (s) => s.replace('      - name: data\n        mountPath: /data\n', ''),
    expect: [/init container auto-restore: pra-data mounted read-write at \/data/],
  },
  {
    what: 'an agent pointed at a MinIO that does not exist',
    rule: 'offsite',
    file: 'overlays/minio/kustomization.yaml',
    edit: (s) => s.replace('S3_ENDPOINT=http://minio:9000', 'S3_ENDPOINT=http://minio-s3:9000'),
    expect: [/agent S3_ENDPOINT is the Service minio's S3 port/],
  },
];

describe('seeded mistakes are reported', () => {
  for (const c of cases) {
    test(`${c.what} (${c.rule ?? 'credential files'})`, async () => {
      const failed = await failures(mutated(c.file, c.edit));
      for (const pattern of c.expect) assertReported(failed, pattern);
      for (const rule of [c.rule, ...(c.alsoRules ?? [])].filter(Boolean))
        assert.ok(failed.rules.has(rule), `reported by ${[...failed.rules]}, not by ${rule}`);
    });
  }
});

test('every rule is shown to catch a mistake', () => {
  const seeded = new Set(cases.flatMap((c) => [c.rule, ...(c.alsoRules ?? [])]).filter(Boolean));
  assert.deepEqual(
    Object.keys(RULES).filter((rule) => !seeded.has(rule)),
    [],
    'a rule without a seeded mistake proves nothing',
  );
});
