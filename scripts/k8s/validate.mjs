// The checks behind `npm run k8s:validate`, on rendered manifests (plain objects), offline:
//
// 1. Schemas: each resource against its Kubernetes or CRD schema (kubernetes-models,
//    @kubernetes-models/keda, @kubernetes-models/prometheus-operator: JSON schemas compiled to
//    validators), and, because those schemas let unknown fields through, against the same
//    packages' TypeScript types, whose excess-property check catches a misspelt field.
// 2. Wiring between resources: references resolve (ConfigMaps, Secrets, volumes, ports,
//    selectors, scale targets), and the numbers that must agree do (grace period vs drain time,
//    KEDA's replicas vs partitions, probe ports vs the configured ports, the model directory).
// 3. The project facts the manifests repeat: topic names, the pinned model, metric names.
//
// Pure functions of their inputs and the repository, so test/k8s-manifests.test.ts can feed them
// broken manifests.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** Where each apiVersion's models live; a resource of any other apiVersion is an error. */
const MODEL_MODULES = {
  'v1': 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'batch/v1': 'kubernetes-models/batch/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

/** Secrets the operator creates outside git (docs/deployment.md, "Secrets"). */
export const EXTERNAL_SECRETS = ['bioner-kafka-credentials', 'bioner-inference-token'];

/** The worker's exit margin after its drain deadline (src/cli/run-command.ts). */
const EXIT_MARGIN_S = 5;

const id = (doc) => `${doc.kind}/${doc.metadata?.name}`;

// ---------------------------------------------------------------------------------------------
// 1. Schemas

/** Validates each resource against its schema; returns Map<resource id, problems[]>. */
export async function checkSchemas(docs) {
  const problems = new Map(docs.map((doc) => [id(doc), []]));
  for (const doc of docs) {
    const module = MODEL_MODULES[doc.apiVersion];
    const Model = module && (await import(module))[doc.kind];
    if (!Model) {
      problems.get(id(doc)).push(`no schema for ${doc.apiVersion} ${doc.kind}`);
      continue;
    }
    try {
      new Model(structuredClone(doc)).validate();
    } catch (error) {
      // "data/spec/ports/0/port must be integer, data/… " → "spec.ports[0].port: must be integer"
      problems.get(id(doc)).push(...String(error.message).split(/, (?=data\b)/).map((m) => {
        const [, path = '', rest = m] = /^data(\S*) (.*)$/s.exec(m) ?? [];
        return `${path.slice(1).replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.') || '(resource)'}: ${rest}`;
      }));
    }
  }
  return problems;
}

/**
 * Type-checks every resource against its TypeScript interface (I<Kind>) in one program, in a
 * scratch file under .cache so that node_modules resolves. Returns Map<label, Map<id, problems[]>>.
 */
export async function checkFields(root, sets) {
  const dir = join(root, '.cache', 'k8s-validate');
  await mkdir(dir, { recursive: true });
  const files = [];
  for (const { label, docs } of sets) {
    const versions = [...new Set(docs.map((d) => d.apiVersion).filter((v) => MODEL_MODULES[v]))];
    const alias = (v) => `M${versions.indexOf(v)}`;
    const lines = versions.map((v) => `import type * as ${alias(v)} from ${JSON.stringify(MODEL_MODULES[v])};`);
    docs.forEach((doc, i) => {
      if (MODEL_MODULES[doc.apiVersion]) {
        lines.push(`export const r${i}: ${alias(doc.apiVersion)}.I${doc.kind} = ${JSON.stringify(doc)};`);
      }
    });
    const file = join(dir, `${label}.ts`);
    await writeFile(file, `${lines.join('\n')}\n`);
    files.push({ file, label, docs });
  }
  const program = ts.createProgram(files.map((f) => f.file), {
    strict: true, noEmit: true, skipLibCheck: true, types: [],
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  });
  const results = new Map();
  for (const { file, label, docs } of files) {
    const source = program.getSourceFile(file);
    const byResource = new Map(docs.map((doc) => [id(doc), []]));
    for (const diagnostic of ts.getPreEmitDiagnostics(program, source)) {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n').split('\n')[0];
      const statement = source.statements.find((s) => s.pos <= diagnostic.start && diagnostic.start < s.end);
      const declaration = statement && ts.isVariableStatement(statement) && statement.declarationList.declarations[0];
      if (!declaration) {
        throw new Error(`k8s:validate: type-checking ${relative(root, file)}: ${message}`);
      }
      const doc = docs[Number(declaration.name.text.slice(1))];
      const path = pathAt(declaration.initializer, diagnostic.start, source).join('.');
      // 2353: "Object literal may only specify known properties".
      byResource.get(id(doc)).push(`${path}: ${diagnostic.code === 2353 ? 'unknown field' : message}`);
    }
    results.set(label, byResource);
  }
  return results;
}

/** The JSON path of the innermost property at `pos` in an object literal. */
function pathAt(node, pos, source, path = []) {
  let inner;
  ts.forEachChild(node, (child) => {
    if (!inner && child.getStart(source) <= pos && pos < child.end) inner = child;
  });
  if (!inner) return path;
  if (ts.isPropertyAssignment(inner)) path.push(inner.name.text);
  if (ts.isArrayLiteralExpression(node)) path[path.length - 1] += `[${node.elements.indexOf(inner)}]`;
  return pathAt(inner, pos, source, path);
}

// ---------------------------------------------------------------------------------------------
// 2. Wiring

/** Cross-resource checks of one rendered overlay; returns Map<resource id, problems[]>. */
export function checkWiring(docs, project) {
  const problems = new Map(docs.map((doc) => [id(doc), []]));
  const find = (kind, name) => docs.find((d) => d.kind === kind && d.metadata?.name === name);
  const configMap = (name) => find('ConfigMap', name)?.data ?? {};
  const secretExists = (name) => find('Secret', name) || EXTERNAL_SECRETS.includes(name);
  const workloads = docs.filter((d) => d.kind === 'Deployment' || d.kind === 'Job');
  const podsMatching = (selector) => workloads.filter((w) => matches(selector, w.spec.template.metadata?.labels));

  for (const workload of workloads) {
    const report = (message) => problems.get(id(workload)).push(message);
    const pod = workload.spec.template.spec;
    const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
    for (const volume of volumes.values()) {
      if (volume.configMap && !find('ConfigMap', volume.configMap.name)) report(`volume ${volume.name}: no ConfigMap ${volume.configMap.name}`);
      if (volume.secret && !secretExists(volume.secret.secretName)) report(`volume ${volume.name}: no Secret ${volume.secret.secretName}`);
    }
    if (pod.securityContext?.runAsNonRoot !== true) report('pod securityContext.runAsNonRoot is not true');

    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      const where = `container ${container.name}`;
      checkImage(container.image, (m) => report(`${where}: ${m}`));
      const security = container.securityContext ?? {};
      if (security.readOnlyRootFilesystem !== true) report(`${where}: readOnlyRootFilesystem is not true`);
      if (security.allowPrivilegeEscalation !== false) report(`${where}: allowPrivilegeEscalation is not false`);
      if (!security.capabilities?.drop?.includes('ALL')) report(`${where}: capabilities are not all dropped`);
      const { requests = {}, limits = {} } = container.resources ?? {};
      if (!requests.cpu || !requests.memory || !limits.memory) report(`${where}: needs cpu and memory requests and a memory limit`);
      for (const mount of container.volumeMounts ?? []) {
        if (!volumes.has(mount.name)) report(`${where}: mounts ${mount.name}, which is not a volume`);
      }
      // A read-only root filesystem needs somewhere to write.
      if (!(container.volumeMounts ?? []).some((m) => m.mountPath === '/tmp' && volumes.get(m.name)?.emptyDir)) {
        report(`${where}: no emptyDir at /tmp`);
      }
      for (const from of container.envFrom ?? []) {
        if (from.configMapRef && !from.configMapRef.optional && !find('ConfigMap', from.configMapRef.name)) {
          report(`${where}: envFrom ConfigMap ${from.configMapRef.name} does not exist`);
        }
        if (from.secretRef && !from.secretRef.optional && !secretExists(from.secretRef.name)) {
          report(`${where}: envFrom Secret ${from.secretRef.name} is neither rendered nor one of ${EXTERNAL_SECRETS.join(', ')}`);
        }
      }
    }

    if (workload.kind !== 'Deployment') continue;
    const main = pod.containers[0];
    const env = containerEnv(main, configMap);
    const ports = new Map((main.ports ?? []).map((p) => [p.name, p.containerPort]));
    const configuredPort = Number(env.BIONER_METRICS_PORT ?? env.BIONER_PORT);
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const port = main[probe]?.httpGet?.port;
      if (port === undefined) continue;
      const number = typeof port === 'number' ? port : ports.get(port);
      if (number === undefined) report(`${probe}: no container port named ${port}`);
      else if (number !== configuredPort) report(`${probe}: port ${number}, but the process listens on ${configuredPort}`);
    }
    if (!main.livenessProbe || !main.readinessProbe) report('needs liveness and readiness probes');

    if (env.BIONER_SHUTDOWN_TIMEOUT_MS) {
      const preStop = Number(main.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
      const needed = preStop + Number(env.BIONER_SHUTDOWN_TIMEOUT_MS) / 1000 + EXIT_MARGIN_S;
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      if (grace <= needed) report(`terminationGracePeriodSeconds ${grace} does not exceed preStop ${preStop} s + drain ${env.BIONER_SHUTDOWN_TIMEOUT_MS} ms + ${EXIT_MARGIN_S} s`);
    }

    const model = env.BIONER_MODEL ?? '';
    const remote = /^(?:remote|openai):https?:\/\/([^:/]+)(?::(\d+))?/.exec(model);
    if (remote) {
      const service = find('Service', remote[1]);
      if (!service) report(`BIONER_MODEL ${model}: no Service ${remote[1]}`);
      else if (!service.spec.ports.some((p) => p.port === Number(remote[2] ?? 80))) report(`BIONER_MODEL ${model}: Service ${remote[1]} has no port ${remote[2] ?? 80}`);
    } else {
      const modelDir = configMap(pod.initContainers?.find((c) => c.name === 'model-import')?.envFrom?.[0]?.configMapRef?.name).MODEL_DIR;
      if (!modelDir) report(`BIONER_MODEL ${model}: a local model needs the model-init containers (bioner-stream/model=in-pod)`);
      else if (model !== modelDir) report(`BIONER_MODEL ${model} is not the imported model directory ${modelDir}`);
      if (!(main.volumeMounts ?? []).some((m) => m.name === 'models' && m.readOnly)) report('the main container does not mount the models volume read-only');
    }

    const gpus = Number(main.resources?.limits?.['nvidia.com/gpu'] ?? 0);
    if ((env.BIONER_EXECUTION_PROVIDER === 'cuda') !== gpus > 0) report(`BIONER_EXECUTION_PROVIDER ${env.BIONER_EXECUTION_PROVIDER} with ${gpus} nvidia.com/gpu`);
    if (gpus > 0 && !(pod.nodeSelector || pod.affinity?.nodeAffinity)) report('a GPU pod without a node selector or node affinity');
    if (gpus > 0 && !pod.tolerations?.some((t) => t.key === 'nvidia.com/gpu')) report('a GPU pod without a nvidia.com/gpu toleration');
  }

  for (const service of docs.filter((d) => d.kind === 'Service')) {
    const report = (message) => problems.get(id(service)).push(message);
    const pods = podsMatching({ matchLabels: service.spec.selector });
    if (pods.length === 0) report('selects no pods');
    for (const port of service.spec.ports) {
      if (typeof port.targetPort === 'string' && !pods.some((w) => containerPort(w, port.targetPort))) report(`targetPort ${port.targetPort} is no pod's port`);
    }
  }
  for (const pdb of docs.filter((d) => d.kind === 'PodDisruptionBudget')) {
    if (podsMatching(pdb.spec.selector).length === 0) problems.get(id(pdb)).push('selects no pods');
  }
  for (const monitor of docs.filter((d) => d.kind === 'PodMonitor')) {
    const pods = podsMatching(monitor.spec.selector);
    if (pods.length === 0) problems.get(id(monitor)).push('selects no pods');
    for (const endpoint of monitor.spec.podMetricsEndpoints) {
      if (!pods.some((w) => containerPort(w, endpoint.port))) problems.get(id(monitor)).push(`port ${endpoint.port} is no pod's port`);
    }
  }
  for (const monitor of docs.filter((d) => d.kind === 'ServiceMonitor')) {
    const services = docs.filter((d) => d.kind === 'Service' && matches(monitor.spec.selector, d.metadata.labels));
    if (services.length === 0) problems.get(id(monitor)).push('selects no Service');
    for (const endpoint of monitor.spec.endpoints) {
      if (!services.some((s) => s.spec.ports.some((p) => p.name === endpoint.port))) problems.get(id(monitor)).push(`port ${endpoint.port} is no Service port`);
    }
  }

  const topicsMap = docs.find((d) => d.kind === 'ConfigMap' && d.data?.DOCUMENTS_PARTITIONS);
  const topics = topicsMap?.data ?? {};
  if (Number(topics.REPLICATION_FACTOR) < Number(topics.MIN_INSYNC_REPLICAS)) {
    problems.get(id(topicsMap)).push('MIN_INSYNC_REPLICAS exceeds REPLICATION_FACTOR: no write could succeed');
  }
  for (const scaled of docs.filter((d) => d.kind === 'ScaledObject')) {
    const report = (message) => problems.get(id(scaled)).push(message);
    const target = find('Deployment', scaled.spec.scaleTargetRef.name);
    if (!target) report(`scaleTargetRef: no Deployment ${scaled.spec.scaleTargetRef.name}`);
    if (target?.spec.replicas !== undefined) report(`${id(target)} sets replicas, which KEDA owns`);
    const env = target ? containerEnv(target.spec.template.spec.containers[0], configMap) : {};
    for (const trigger of scaled.spec.triggers) {
      const meta = trigger.metadata ?? {};
      for (const key of ['bootstrapServersFromEnv', 'consumerGroupFromEnv', 'topicFromEnv']) {
        if (meta[key] && env[meta[key]] === undefined) report(`trigger ${key}: the target's container has no ${meta[key]}`);
      }
      if (trigger.type === 'kafka' && meta.topic === project.topics.documents) {
        const partitions = Number(topics.DOCUMENTS_PARTITIONS);
        if (!(scaled.spec.maxReplicaCount <= partitions)) report(`maxReplicaCount ${scaled.spec.maxReplicaCount} exceeds the ${partitions} partitions of ${meta.topic}`);
      }
      const auth = trigger.authenticationRef && find('TriggerAuthentication', trigger.authenticationRef.name);
      if (trigger.authenticationRef && !auth) report(`authenticationRef: no TriggerAuthentication ${trigger.authenticationRef.name}`);
      for (const ref of auth?.spec.secretTargetRef ?? []) {
        if (!secretExists(ref.name)) report(`${id(auth)} parameter ${ref.parameter}: no Secret ${ref.name}`);
        else if (find('Secret', ref.name) && !secretKeys(find('Secret', ref.name)).includes(ref.key)) report(`${id(auth)} parameter ${ref.parameter}: Secret ${ref.name} has no key ${ref.key}`);
      }
    }
    if (env.BIONER_KAFKA_SASL_MECHANISM && !scaled.spec.triggers.some((t) => t.authenticationRef)) {
      report('the workers use SASL but the trigger has no authenticationRef');
    }
  }
  for (const hpa of docs.filter((d) => d.kind === 'HorizontalPodAutoscaler')) {
    const report = (message) => problems.get(id(hpa)).push(message);
    const target = find(hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name);
    if (!target) report(`scaleTargetRef: no ${hpa.spec.scaleTargetRef.kind} ${hpa.spec.scaleTargetRef.name}`);
    if (target?.spec.replicas !== undefined) report(`${id(target)} sets replicas, which the HPA owns`);
    for (const metric of hpa.spec.metrics ?? []) {
      const name = metric.pods?.metric.name ?? metric.object?.metric.name;
      if (name) unknownMetrics(name, project).forEach((m) => report(`metric ${m} is not one the project exports`));
    }
  }
  for (const rule of docs.filter((d) => d.kind === 'PrometheusRule')) {
    for (const r of rule.spec.groups.flatMap((g) => g.rules)) {
      unknownMetrics(r.expr, project).forEach((m) => problems.get(id(rule)).push(`${r.alert ?? r.record}: metric ${m} is not one the project exports`));
    }
  }
  for (const map of docs.filter((d) => d.kind === 'ConfigMap' && d.metadata.labels?.grafana_dashboard)) {
    for (const [file, text] of Object.entries(map.data)) {
      let dashboard;
      try {
        dashboard = JSON.parse(text);
      } catch (error) {
        problems.get(id(map)).push(`${file}: ${error.message}`);
        continue;
      }
      for (const panel of dashboard.panels ?? []) {
        for (const target of panel.targets ?? []) {
          unknownMetrics(target.expr, project).forEach((m) => problems.get(id(map)).push(`${file} panel "${panel.title}": metric ${m} is not one the project exports`));
        }
      }
    }
  }
  const model = docs.find((d) => d.kind === 'ConfigMap' && d.data?.MODEL_WHEEL_SHA256);
  if (model && model.data.MODEL_WHEEL_SHA256 !== project.modelWheelSha256) {
    problems.get(id(model)).push(`MODEL_WHEEL_SHA256 differs from tools/default-model/default-model.ts (${project.modelWheelSha256})`);
  }
  const topicScript = docs.find((d) => d.kind === 'ConfigMap' && d.data?.['create-topics.sh']);
  for (const topic of Object.values(project.topics)) {
    if (topicScript && !new RegExp(`^topic ${topic.replace(/\./g, '\\.')} `, 'm').test(topicScript.data['create-topics.sh'])) {
      problems.get(id(topicScript)).push(`create-topics.sh does not create ${topic} (src/kafka/topics.ts)`);
    }
  }
  return problems;
}

/** A container's environment as far as the rendered manifests tell: env values, envFrom ConfigMaps. */
function containerEnv(container, configMap) {
  const env = {};
  for (const from of container.envFrom ?? []) if (from.configMapRef) Object.assign(env, configMap(from.configMapRef.name));
  for (const variable of container.env ?? []) if (variable.value !== undefined) env[variable.name] = variable.value;
  return env;
}

const secretKeys = (secret) => Object.keys({ ...secret.data, ...secret.stringData });

function containerPort(workload, name) {
  return workload.spec.template.spec.containers.some((c) => (c.ports ?? []).some((p) => p.name === name));
}

function matches(selector, labels = {}) {
  const wanted = Object.entries(selector?.matchLabels ?? {});
  return wanted.length > 0 && wanted.every(([k, v]) => labels[k] === v);
}

/** Third-party images must name an exact version; ours must have been set by the overlay. */
function checkImage(image, report) {
  const digest = image.includes('@sha256:');
  const tag = /:([^/:@]+)$/.exec(image)?.[1];
  if (!digest && !tag) report(`image ${image} has no tag: the overlay's images: must set it`);
  else if (tag === 'latest') report(`image ${image}: "latest" is not a version`);
}

/** The bioner_ metric names in a PromQL expression that the project does not export. */
function unknownMetrics(expr, project) {
  const names = new Set(expr.match(/\bbioner_[a-z0-9_]+/g) ?? []);
  const known = (name) => project.metrics.has(name);
  return [...names].filter((name) => !known(name) && !known(name.replace(/_(bucket|sum|count)$/, '')));
}

// ---------------------------------------------------------------------------------------------
// 3. Project facts, read from the repository

/** What the manifests must agree with: metric names, topics, the pinned model, dependencies. */
export function readProject(root) {
  const sources = listFiles(join(root, 'src')).filter((f) => f.endsWith('.ts'));
  const text = (file) => readFileSync(file, 'utf8');
  const metrics = new Set(sources.flatMap((f) => text(f).match(/(?<=['"])bioner_[a-z0-9_]+(?=['"])/g) ?? []));
  const topicsSource = text(join(root, 'src', 'kafka', 'topics.ts'));
  const defaults = /DEFAULT_TOPICS[^=]*=\s*\{([^}]*)\}/.exec(topicsSource)?.[1] ?? '';
  const topics = Object.fromEntries([...defaults.matchAll(/(\w+):\s*'([^']+)'/g)].map((m) => [m[1], m[2]]));
  const modelWheelSha256 = /wheelSha256:\s*'([0-9a-f]{64})'/.exec(text(join(root, 'tools', 'default-model', 'default-model.ts')))?.[1];
  if (!topics.documents || !modelWheelSha256) throw new Error('k8s:validate: cannot read DEFAULT_TOPICS from src/ or the model pin from tools/');
  return { metrics, topics, modelWheelSha256 };
}

/**
 * Packages that the CLI loads at run time (static and literal dynamic imports reachable from
 * src/cli/main.ts, the runtime image's, and tools/cli/main.ts, the tools image's) but that
 * package.json lists only as devDependencies: the images install with --omit=dev, so the CLI
 * would not start.
 */
export function checkRuntimeDependencies(root) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const seen = new Set();
  const packages = new Map(); // package → first importing file
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'";]*?from\s+['"]([^'"]+)['"]/gm),
      ...source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
      ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ].map((m) => m[1]);
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) visit(join(file, '..', specifier.replace(/\.js$/, '.ts')));
      else if (!specifier.startsWith('node:')) {
        const name = specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
        if (!packages.has(name)) packages.set(name, relative(root, file));
      }
    }
  };
  visit(join(root, 'src', 'cli', 'main.ts'));
  visit(join(root, 'tools', 'cli', 'main.ts'));
  return [...packages]
    .filter(([name]) => !pkg.dependencies?.[name])
    .map(([name, file]) => `${name} is imported at run time (${file}) but is ${pkg.devDependencies?.[name] ? 'a devDependency' : 'not a dependency'}: move it to "dependencies"`);
}

/** docker/Dockerfile: syntax (dockerfile-utils), pinned base images, non-root final stages. */
export async function checkDockerfile(root, path = join(root, 'docker', 'Dockerfile')) {
  const { validate } = await import('dockerfile-utils');
  const { DockerfileParser } = await import('dockerfile-ast');
  const content = readFileSync(path, 'utf8');
  const problems = validate(content)
    .filter((d) => d.severity === 1)
    .map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  const admitted = buildContextFilter(root);
  // Stages by FROM; a stage that no later FROM or COPY --from builds on is an image.
  const stages = [];
  for (const instruction of DockerfileParser.parse(content).getInstructions()) {
    const keyword = instruction.getKeyword();
    const args = instruction.getArguments().map((a) => a.getValue());
    const line = instruction.getRange().start.line + 1;
    if (keyword === 'FROM') {
      const base = stages.find((s) => s.name === args[0]);
      if (base) base.used = true;
      else {
        const tag = /:([^/:@]+)$/.exec(args[0].split('@')[0])?.[1];
        const pinned = args[0].includes('@sha256:') || (tag && /\d/.test(tag) && tag !== 'latest');
        if (!pinned) problems.push(`line ${line}: base image ${args[0]} is not pinned to a version`);
      }
      stages.push({ name: args[2] ?? args[0], line, user: undefined, used: false });
    } else if (keyword === 'USER') {
      stages.at(-1).user = args[0];
    } else if (keyword === 'COPY') {
      const from = instruction.getFlags().find((f) => f.getName() === 'from')?.getValue();
      const source = stages.find((s) => s.name === from);
      if (source) source.used = true;
      if (from === undefined) {
        for (const path of args.slice(0, -1)) if (!admitted(path)) problems.push(`line ${line}: COPY ${path}, which .dockerignore keeps out of the build context`);
      }
    }
  }
  const images = stages.filter((s) => !s.used);
  for (const image of images) {
    if (!image.user || /^(0|root)(:|$)/.test(image.user)) problems.push(`stage ${image.name}: runs as root (no non-root USER)`);
  }

  // The CUDA stage relies on onnxruntime-node's install manifest naming cuda12 and this file.
  const require = createRequire(join(root, 'package.json'));
  const manifest = require('onnxruntime-node/script/install-metadata.js').manifests['linux/x64:cuda12'] ?? {};
  if (content.includes('ONNXRUNTIME_NODE_INSTALL=cuda12') && !manifest['./libonnxruntime_providers_cuda.so']) {
    problems.push('onnxruntime-node no longer installs the CUDA provider as cuda12: revisit the cuda stage');
  }
  return { problems, images: images.map((i) => i.name) };
}

/** Whether the build context holds a path, by .dockerignore's allow-list (`*`, then `!path` lines). */
function buildContextFilter(root) {
  const lines = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (lines[0] !== '*') return () => true;
  const allowed = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
  return (path) => allowed.some((a) => path.replace(/\/$/, '') === a || path.startsWith(`${a}/`));
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)]));
}
