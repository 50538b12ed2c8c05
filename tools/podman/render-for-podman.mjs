#!/usr/bin/env node
// Turns rendered manifests (`kubectl kustomize deploy/k8s/...`, or the runbook's restore Job) into
// what Podman 4.3's `kube play` can run, keeping everything else of the real manifests (images,
// args, env, ConfigMaps, volumes, security context). What Podman 4.3 does not do, and what this
// changes:
//   - native sidecars: it runs an init container with restartPolicy: Always to completion first,
//     so the API would never start  -> the agent becomes a regular container of the pod;
//   - Secrets: `secretKeyRef` wants a Podman secret holding a flat JSON map -> the Secret objects
//     are written to secrets/<name>.json for `podman secret create`, and dropped from the YAML;
//   - Namespace and Service are ignored -> dropped; the api pod publishes its two ports on the host
//     with hostPort; a Service name another pod calls (minio) becomes a hostAlias (--host-alias);
//   - an env var without a value is "" to Kubernetes, and dropped by Podman -> `value: ""`;
//   - `$(VAR)` in command and args is left as it is by Podman -> expanded here, as kubelet does;
//   - probes become healthchecks running curl, which the images do not have -> removed;
//   - affinity is ignored (one host) -> removed;
//   - an emptyDir is played as a named volume, shared by every pod that names it alike -> the
//     emptyDirs of the other pods get their pod's name as a prefix;
//   - Jobs and CronJobs are not played -> --pod-of plays their pod template once, as a Pod;
//   - replaying a file whose PVC volume exists fails -> PVCs go to their own file, played once.
//
// usage: render-for-podman.mjs <rendered.yaml> <out-dir> [apiHostPort] [agentHostPort]
//          [--s3-image IMAGE] [--host-alias NAME=IP]...
//          writes pvcs.yaml, workloads.yaml (the api Deployment and the ConfigMaps),
//          deploy-<name>.yaml for each other Deployment, secrets/<name>.json; --s3-image puts an
//          S3 server image (its own command) in place of MinIO's.
//        render-for-podman.mjs --pod-of Kind/name --name POD <manifests.yaml> <out.yaml>
//          [--config rendered-overlay.yaml] [--host-alias NAME=IP]...
//          the pod template of that Job or CronJob as a Pod named POD (restartPolicy Never), with
//          the ConfigMaps it reads (from --config).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'pod-of': { type: 'string' },
    name: { type: 'string' },
    config: { type: 'string' },
    's3-image': { type: 'string' },
    'host-alias': { type: 'string', multiple: true, default: [] },
  },
});

const read = (file) =>
  parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJSON())
    .filter(Boolean);
const hostAliases = opts['host-alias'].map((a) => {
  const [hostname, ip] = a.split('=');
  return { ip, hostnames: [hostname] };
});

/** What Podman cannot run in a pod spec, adapted (see above). */
function forPodman(pod, hostPorts = {}, prefix = '') {
  const sidecars = (pod.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  pod.initContainers = (pod.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always');
  if (pod.initContainers.length === 0) delete pod.initContainers;
  pod.containers = [...sidecars.map(({ restartPolicy: _always, ...c }) => c), ...pod.containers];
  delete pod.affinity;
  // Podman plays an emptyDir as a named volume: a "tmp" in two pods would be one volume, shared
  for (const v of pod.volumes ?? []) {
    if (!v.emptyDir || !prefix) continue;
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      for (const m of c.volumeMounts ?? []) if (m.name === v.name) m.name = `${prefix}-${v.name}`;
    }
    v.name = `${prefix}-${v.name}`;
  }
  if (hostAliases.length) pod.hostAliases = hostAliases;
  for (const c of pod.containers) {
    // Kubernetes reads an env var without a value as "" (kubectl set env writes `value: ""` that
    // way); Podman drops it, and `$(BACKUP_AT)` would then reach the command unexpanded.
    for (const e of c.env ?? []) if (e.value === undefined && !e.valueFrom) e.value = '';
    expandVariables(c);
    delete c.livenessProbe;
    delete c.readinessProbe;
    delete c.startupProbe;
    for (const port of c.ports ?? []) {
      if (hostPorts[port.name]) port.hostPort = hostPorts[port.name];
    }
  }
  return pod;
}

/**
 * What kubelet does and Podman 4.3 does not: `$(NAME)` in command and args becomes the value of the
 * container's env var NAME (a literal value; a reference to an undefined one stays as written), and
 * `$$` is a literal `$`. The restore Job passes `--id $(BACKUP_ID) --at $(BACKUP_AT)` this way.
 */
function expandVariables(c) {
  const env = new Map((c.env ?? []).filter((e) => !e.valueFrom).map((e) => [e.name, e.value ?? '']));
  const expand = (arg) =>
    arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) =>
      m === '$$' ? '$' : env.has(name) ? env.get(name) : m,
    );
  if (c.command) c.command = c.command.map(expand);
  if (c.args) c.args = c.args.map(expand);
}

if (opts['pod-of']) {
  const [input, output] = positionals;
  const [kind, name] = opts['pod-of'].split('/');
  if (!input || !output || !name || !opts.name) {
    console.error('usage: render-for-podman.mjs --pod-of Kind/name --name POD <manifests.yaml> <out.yaml>');
    process.exit(2);
  }
  const owner = read(input).find((o) => o.kind === kind && o.metadata?.name === name);
  if (!owner) {
    console.error(`render-for-podman: no ${kind} ${name} in ${input}`);
    process.exit(1);
  }
  const template = kind === 'CronJob' ? owner.spec.jobTemplate.spec.template : owner.spec.template;
  const spec = forPodman(structuredClone(template.spec), {}, opts.name);
  spec.restartPolicy = 'Never';
  const used = new Set(
    spec.containers.flatMap((c) => (c.envFrom ?? []).map((e) => e.configMapRef?.name).filter(Boolean)),
  );
  const configMaps = opts.config
    ? read(opts.config).filter((o) => o.kind === 'ConfigMap' && used.has(o.metadata.name))
    : [];
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: opts.name,
      labels: { ...(template.metadata?.labels ?? {}), 'pra-kit/played-from': name },
    },
    spec,
  };
  writeFileSync(output, [...configMaps, pod].map((d) => stringify(d)).join('---\n'));
  console.log(`render-for-podman: the pod template of ${kind} ${name} as pod ${opts.name} in ${output}`);
  process.exit(0);
}

const [input, outDir, apiHostPort = '18080', agentHostPort = '18081'] = positionals;
if (!input || !outDir) {
  console.error(
    'usage: render-for-podman.mjs <rendered.yaml> <out-dir> [apiHostPort] [agentHostPort] [options]',
  );
  process.exit(2);
}

const pvcs = [];
const workloads = [];
const others = {};
const secrets = {};
const hostPorts = { http: Number(apiHostPort), 'agent-http': Number(agentHostPort) };

for (const doc of read(input)) {
  switch (doc.kind) {
    case 'PersistentVolumeClaim':
      pvcs.push(doc);
      break;
    case 'Secret':
      // kustomize may wrap long base64 values; Podman wants them on one line
      secrets[doc.metadata.name] = Object.fromEntries(
        Object.entries(doc.data ?? {}).map(([k, v]) => [k, String(v).replace(/\s+/g, '')]),
      );
      break;
    case 'ConfigMap':
      workloads.push(doc);
      break;
    case 'Deployment':
      if (doc.metadata.name === 'api') {
        forPodman(doc.spec.template.spec, hostPorts);
        workloads.push(doc);
      } else {
        forPodman(doc.spec.template.spec, {}, doc.metadata.name);
        if (doc.metadata.name === 'minio' && opts['s3-image']) asS3Stand_in(doc.spec.template.spec);
        others[doc.metadata.name] = doc;
      }
      break;
    case 'Namespace':
    case 'Service':
      break;
    default:
      console.error(`render-for-podman: ${doc.kind} ${doc.metadata?.name} is not played by podman; skipped`);
  }
}

/** MinIO's container, with an S3 server image instead: its own command, MinIO's port and volume. */
function asS3Stand_in(pod) {
  const c = pod.containers[0];
  c.image = opts['s3-image'];
  c.imagePullPolicy = 'Never';
  delete c.args;
  delete c.command;
  delete c.env;
  delete c.envFrom;
}

mkdirSync(join(outDir, 'secrets'), { recursive: true });
writeFileSync(join(outDir, 'pvcs.yaml'), pvcs.map((d) => stringify(d)).join('---\n'));
writeFileSync(join(outDir, 'workloads.yaml'), workloads.map((d) => stringify(d)).join('---\n'));
for (const [name, doc] of Object.entries(others))
  writeFileSync(join(outDir, `deploy-${name}.yaml`), stringify(doc));
for (const [name, data] of Object.entries(secrets)) {
  writeFileSync(join(outDir, 'secrets', `${name}.json`), JSON.stringify(data), { mode: 0o600 });
}
console.log(
  `render-for-podman: ${pvcs.length} PVC(s), ${workloads.length} workload object(s), ` +
    `${Object.keys(others).length} other Deployment(s), ${Object.keys(secrets).length} secret(s) in ${outDir}`,
);
