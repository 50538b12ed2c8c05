import type { DrillOptions } from '../drill-options';
import { DrillTarget } from './drill-target';
import { K8sTarget } from './k8s.target';
import { LocalTarget } from './local.target';
import { PodmanTarget } from './podman.target';

/** Builds the target adapter named on the command line. */
export function createTarget(
  options: DrillOptions,
  runId: string,
  needsOffsite: boolean,
  log: (line: string) => void,
): DrillTarget {
  switch (options.target) {
    case 'local':
      return new LocalTarget(
        {
          apiUrl: options.apiUrl,
          agentUrl: options.agentUrl,
          varDir: options.varDir,
          token: options.token,
          env: process.env,
          privateSchedule: options.schedule,
          autoRestore: options.auto,
          log,
        },
        runId,
        needsOffsite,
      );
    case 'k8s':
      return new K8sTarget(options.namespace, options.token);
    case 'podman':
      return new PodmanTarget({
        apiUrl: options.apiUrl,
        agentUrl: options.agentUrl,
        token: options.token,
        agentImage: options.agentImage,
      });
  }
}
