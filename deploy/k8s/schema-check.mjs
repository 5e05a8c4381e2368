// Validates Kubernetes documents against the OpenAPI schemas of the Kubernetes API (kubernetes-models,
// precompiled validators, no network) and KEDA's CRD schemas (@kubernetes-models/keda).
// Run by manifests.spec.ts in a child process: these packages are ESM-only and Jest runs CommonJS.
// stdin: JSON array of { file, doc }. stdout: JSON array of { file, kind, name, schema, error }, where
// schema is the package that checked the document (null: no schema known here, e.g. an operator's
// CRD) and error is null when the document is valid.
import { readFileSync } from 'node:fs';

const SCHEMAS = [
  // [apiVersion pattern, module path of the kind's model]
  [/^v1$/, (v, kind) => `kubernetes-models/v1/${kind}`],
  [/^(apps|policy|autoscaling|batch|networking\.k8s\.io|rbac\.authorization\.k8s\.io)\/\w+$/, (v, kind) => `kubernetes-models/${v}/${kind}`],
  [/^keda\.sh\/v1alpha1$/, (v, kind) => `@kubernetes-models/keda/${v}/${kind}`],
];

const input = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const { file, doc } of input) {
  const { apiVersion, kind } = doc;
  const name = doc.metadata?.name ?? null;
  const match = SCHEMAS.find(([pattern]) => pattern.test(String(apiVersion)));
  if (!match) {
    results.push({ file, kind, name, schema: null, error: null });
    continue;
  }
  const modulePath = match[1](apiVersion, kind);
  let Model;
  try {
    Model = (await import(modulePath))[kind];
  } catch {
    Model = undefined;
  }
  if (!Model) {
    results.push({ file, kind, name, schema: modulePath, error: `no schema for ${apiVersion} ${kind}` });
    continue;
  }
  try {
    new Model(doc).validate();
    results.push({ file, kind, name, schema: modulePath, error: null });
  } catch (err) {
    results.push({ file, kind, name, schema: modulePath, error: String(err?.message ?? err) });
  }
}
process.stdout.write(JSON.stringify(results));
