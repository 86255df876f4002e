#!/usr/bin/env node
// `npm run k8s:validate`: renders every overlay under k8s/overlays with a pinned kustomize and
// validates the output offline (scripts/k8s/validate.mjs says what is checked), then checks the
// Dockerfile and that the image's runtime dependencies are installable with --omit=dev. Prints
// one line per overlay and each problem; exits 1 if there is any.
//
//   npm run k8s:validate                # all overlays
//   npm run k8s:validate -- prod        # some
//   npm run k8s:validate -- --print prod > prod.yaml   # the rendered manifests, nothing else
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ensureKustomize, kustomizeBuild, KUSTOMIZE_VERSION } from './k8s/kustomize.mjs';
import {
  checkDockerfile, checkFields, checkRuntimeDependencies, checkSchemas, checkWiring, readProject,
} from './k8s/validate.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = performance.now();
const args = process.argv.slice(2);
const print = args.includes('--print');
const overlaysDir = join(root, 'k8s', 'overlays');
const all = readdirSync(overlaysDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
const overlays = args.filter((a) => !a.startsWith('--'));
for (const name of overlays) if (!all.includes(name)) fail(`no overlay k8s/overlays/${name} (have: ${all.join(', ')})`);

const kustomize = await ensureKustomize(root).catch((error) => fail(error.message));
const rendered = [];
for (const label of overlays.length ? overlays : all) {
  const text = await kustomizeBuild(kustomize, join(overlaysDir, label)).catch((error) => fail(`kustomize build ${label}:\n${error.stderr ?? error.message}`));
  if (print) {
    process.stdout.write(text);
    continue;
  }
  const parsed = parseAllDocuments(text);
  const errors = parsed.flatMap((d) => d.errors);
  if (errors.length) fail(`${label}: kustomize output is not YAML: ${errors[0].message}`);
  rendered.push({ label, docs: parsed.map((d) => d.toJS()).filter(Boolean) });
}
if (print) process.exit(0);

const project = readProject(root);
const fieldProblems = await checkFields(root, rendered);
let failures = 0;
const say = (line) => console.log(line);
say(`k8s:validate: kustomize ${KUSTOMIZE_VERSION}; schemas kubernetes-models ${version('kubernetes-models')}, ` +
  `@kubernetes-models/keda ${version('@kubernetes-models/keda')}, ` +
  `@kubernetes-models/prometheus-operator ${version('@kubernetes-models/prometheus-operator')}`);
for (const { label, docs } of rendered) {
  const schema = await checkSchemas(docs);
  const wiring = checkWiring(docs, project);
  const invalid = [];
  for (const doc of docs) {
    const key = `${doc.kind}/${doc.metadata?.name}`;
    const problems = [...schema.get(key), ...fieldProblems.get(label).get(key), ...wiring.get(key)];
    if (problems.length) invalid.push({ key, problems });
  }
  const kinds = count(docs.map((d) => d.kind));
  say(`overlay ${label.padEnd(5)} ${String(docs.length).padStart(3)} resources, ${docs.length - invalid.length} valid, ${invalid.length} invalid  (${kinds})`);
  for (const { key, problems } of invalid) {
    for (const problem of problems) say(`  ✗ ${key}: ${problem}`);
  }
  failures += invalid.length;
}

const dockerfile = await checkDockerfile(root);
say(`dockerfile    docker/Dockerfile: images ${dockerfile.images.join(', ')}; ${dockerfile.problems.length ? plural(dockerfile.problems.length, 'problem') : 'base images pinned, non-root, syntax ok'}`);
for (const problem of dockerfile.problems) say(`  ✗ ${problem}`);
const dependencies = checkRuntimeDependencies(root);
say(`runtime deps  ${dependencies.length ? plural(dependencies.length, 'problem') : 'everything src/cli/main.ts and tools/cli/main.ts load is in "dependencies"'}`);
for (const problem of dependencies) say(`  ✗ ${problem}`);
failures += dockerfile.problems.length + dependencies.length;

say(`${failures ? `FAILED: ${failures} invalid` : 'OK'} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(failures ? 1 : 0);

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function count(values) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n > 1 ? `${n} ${k}` : k)).join(', ');
}

function version(pkg) {
  return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

function fail(message) {
  console.error(`k8s:validate: ${message}`);
  process.exit(1);
}
