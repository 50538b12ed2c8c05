// Validation of rendered objects against the Kubernetes API, offline, in two passes:
//
// 1. JSON Schema: the validators of the `kubernetes-models` package (generated from the Kubernetes
//    OpenAPI spec): types, required fields, enums, formats.
// 2. Unknown fields and enums, strictly: the same package's TypeScript types, checked by the
//    TypeScript compiler on the objects written as typed literals. The JSON schemas accept unknown
//    fields (the API server would drop `readinessprobe:` silently, or reject it with
//    --validate=strict); the compiler's excess-property check reports them.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Custom resources we deploy, and the package holding their schemas and types. */
const CRD_PACKAGES = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator', // PodMonitor, PrometheusRule
};

/** `apps/v1` -> `kubernetes-models/apps/v1`; a CRD group -> its own models package. */
function modulePath(apiVersion) {
  const crd = CRD_PACKAGES[apiVersion.split('/')[0]];
  return crd ? `${crd}/${apiVersion}` : `kubernetes-models/${apiVersion}`;
}

export function describe(obj) {
  const ns = obj?.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
  return `${obj?.kind ?? '?'} ${ns}${obj?.metadata?.name ?? '?'}`;
}

/** Pass 1. Returns [{ object, errors: string[] }]. */
export async function schemaValidate(objects) {
  const results = [];
  for (const obj of objects) {
    const errors = [];
    if (typeof obj?.apiVersion !== 'string' || typeof obj?.kind !== 'string') {
      results.push({ object: obj, errors: ['apiVersion and kind are required'] });
      continue;
    }
    let Model;
    try {
      const mod = await import(modulePath(obj.apiVersion));
      Model = mod[obj.kind];
    } catch {
      Model = undefined;
    }
    if (typeof Model !== 'function') {
      errors.push(
        `no schema for ${obj.apiVersion} ${obj.kind} in kubernetes-models (unknown kind or apiVersion)`,
      );
    } else {
      try {
        new Model(obj).validate();
      } catch (err) {
        const detail = Array.isArray(err.errors)
          ? err.errors.map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`)
          : [err.message];
        errors.push(...detail);
      }
    }
    results.push({ object: obj, errors });
  }
  return results;
}

/** Pass 2. Returns [{ object, errors: string[] }] (one entry per object, in order). */
export function strictTypeCheck(objects) {
  const file = path.join(HERE, '__rendered_manifests__.ts');
  const lines = [];
  const ranges = []; // [startLine, endLine] (0-based, inclusive) of each object
  objects.forEach((obj, i) => {
    const kind = obj?.kind;
    const apiVersion = obj?.apiVersion;
    if (typeof kind !== 'string' || typeof apiVersion !== 'string' || !/^[A-Za-z]+$/.test(kind)) {
      ranges.push(null);
      return;
    }
    const start = lines.length;
    lines.push(
      `import type { I${kind} as T${i} } from ${JSON.stringify(`${modulePath(apiVersion)}/${kind}`)};`,
    );
    const body = JSON.stringify(obj, null, 2).split('\n');
    body[0] = `export const o${i}: T${i} = ${body[0]}`;
    body[body.length - 1] += ';';
    lines.push(...body);
    ranges.push([start, lines.length - 1]);
  });
  const source = lines.join('\n') + '\n';

  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? source : readFile(name));

  const program = ts.createProgram([file], options, host);
  const results = objects.map((object) => ({ object, errors: [] }));
  for (const diag of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diag.messageText, '\n').split('\n')[0];
    if (!diag.file || diag.file.fileName !== file || diag.start === undefined) {
      throw new Error(`TypeScript could not check the manifests: ${message}`);
    }
    const { line } = diag.file.getLineAndCharacterOfPosition(diag.start);
    const index = ranges.findIndex((r) => r && line >= r[0] && line <= r[1]);
    if (index < 0) throw new Error(`TypeScript: ${message}`);
    if (line === ranges[index][0]) {
      // the import line: kubernetes-models has no type of that name
      results[index].errors.push(
        `no type for ${objects[index].apiVersion} ${objects[index].kind} in kubernetes-models`,
      );
    } else {
      results[index].errors.push(`${message} (at: ${lines[line].trim().replace(/,$/, '')})`);
    }
  }
  return results;
}
