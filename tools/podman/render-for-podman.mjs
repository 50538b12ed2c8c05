#!/usr/bin/env node
// Turns the rendered kustomize base (`kubectl kustomize deploy/k8s/base`) into what Podman 4.3's
// `kube play` can run, keeping everything else of the real manifests (images, env, ConfigMaps,
// volumes, security context). What Podman 4.3 does not do, and what this changes:
//   - native sidecars: it runs an init container with restartPolicy: Always to completion first,
//     so the API would never start  -> the agent becomes a regular container of the pod;
//   - Secrets: `secretKeyRef` wants a Podman secret holding a flat JSON map -> the Secret objects
//     are written to secrets/<name>.json for `podman secret create`, and dropped from the YAML;
//   - Namespace and Service are ignored -> dropped; the pod publishes the two ports on the host
//     with hostPort (API_HOST_PORT, AGENT_HOST_PORT);
//   - probes become healthchecks running curl, which the images do not have -> removed;
//   - replaying a file whose PVC volume exists fails -> PVCs go to their own file, played once.
//
// usage: render-for-podman.mjs <rendered.yaml> <out-dir> [apiHostPort] [agentHostPort]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

const [input, outDir, apiHostPort = '18080', agentHostPort = '18081'] = process.argv.slice(2);
if (!input || !outDir) {
  console.error('usage: render-for-podman.mjs <rendered.yaml> <out-dir> [apiHostPort] [agentHostPort]');
  process.exit(2);
}

const docs = parseAllDocuments(readFileSync(input, 'utf8'))
  .map((d) => d.toJSON())
  .filter(Boolean);
const pvcs = [];
const workloads = [];
const secrets = {};
const hostPorts = { http: Number(apiHostPort), 'agent-http': Number(agentHostPort) };

for (const doc of docs) {
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
      workloads.push(forPodman(doc));
      break;
    case 'Namespace':
    case 'Service':
      break;
    default:
      console.error(`render-for-podman: ${doc.kind} ${doc.metadata?.name} is not played by podman; skipped`);
  }
}

function forPodman(deployment) {
  const pod = deployment.spec.template.spec;
  const sidecars = (pod.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  pod.initContainers = (pod.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always');
  if (pod.initContainers.length === 0) delete pod.initContainers;
  pod.containers = [...sidecars.map(({ restartPolicy: _always, ...c }) => c), ...pod.containers];
  for (const c of pod.containers) {
    delete c.livenessProbe;
    delete c.readinessProbe;
    delete c.startupProbe;
    for (const port of c.ports ?? []) {
      if (hostPorts[port.name]) port.hostPort = hostPorts[port.name];
    }
  }
  return deployment;
}

mkdirSync(join(outDir, 'secrets'), { recursive: true });
writeFileSync(join(outDir, 'pvcs.yaml'), pvcs.map((d) => stringify(d)).join('---\n'));
writeFileSync(join(outDir, 'workloads.yaml'), workloads.map((d) => stringify(d)).join('---\n'));
for (const [name, data] of Object.entries(secrets)) {
  writeFileSync(join(outDir, 'secrets', `${name}.json`), JSON.stringify(data), { mode: 0o600 });
}
console.log(
  `render-for-podman: ${pvcs.length} PVC(s), ${workloads.length} workload object(s), ` +
    `${Object.keys(secrets).length} secret(s) in ${outDir}`,
);
