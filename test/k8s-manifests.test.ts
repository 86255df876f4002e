// The checks behind `npm run k8s:validate` (scripts/k8s/validate.mjs), on small rendered-style
// manifests: a valid set passes, and each kind of mistake the checks exist for is reported.
// Offline and without kustomize; `npm run k8s:validate` itself renders the real overlays.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { projectPath } from '../src/project.js';

type Doc = Record<string, any>;
type Problems = Map<string, string[]>;

interface Validate {
  checkSchemas(docs: Doc[]): Promise<Problems>;
  checkFields(root: string, sets: { label: string; docs: Doc[] }[]): Promise<Map<string, Problems>>;
  checkWiring(docs: Doc[], project: unknown): Problems;
  checkDockerfile(root: string, file?: string): Promise<{ problems: string[]; images: string[] }>;
  readProject(root: string): unknown;
}

const ROOT = projectPath();
let v: Validate;
let project: unknown;

before(async () => {
  v = await import(pathToFileURL(projectPath('scripts', 'k8s', 'validate.mjs')).href);
  project = v.readProject(ROOT);
});

const hardened = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };
const labels = { 'app.kubernetes.io/name': 'bioner-stream', 'app.kubernetes.io/component': 'worker' };

/** A worker as the prod overlay renders it, with what it refers to. */
function manifests(): Doc[] {
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'env-abc' }, data: {
      BIONER_BROKERS: 'kafka:9092', BIONER_GROUP_ID: 'g', BIONER_METRICS_PORT: '9464',
      BIONER_SHUTDOWN_TIMEOUT_MS: '20000', BIONER_MODEL: 'remote:http://bioner-inference:8080',
    } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'topics-abc' }, data: {
      DOCUMENTS_PARTITIONS: '12', REPLICATION_FACTOR: '3', MIN_INSYNC_REPLICAS: '2',
    } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bioner-inference' }, spec: {
      selector: labels, ports: [{ name: 'http', port: 8080, targetPort: 'metrics' }],
    } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bioner-worker' }, spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: {
        terminationGracePeriodSeconds: 60,
        securityContext: { runAsNonRoot: true },
        containers: [{
          name: 'worker', image: 'registry.example.com/bioner-stream:0.1.0', args: ['run'],
          envFrom: [{ configMapRef: { name: 'env-abc' } }, { secretRef: { name: 'bioner-kafka-credentials' } }],
          ports: [{ name: 'metrics', containerPort: 9464 }],
          livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' } },
          readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' } },
          lifecycle: { preStop: { exec: { command: ['sleep', '15'] } } },
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
          securityContext: hardened,
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        }],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      } },
    } },
    { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'bioner-worker' }, spec: {
      scaleTargetRef: { name: 'bioner-worker' }, minReplicaCount: 2, maxReplicaCount: 12,
      triggers: [{ type: 'kafka', metadata: {
        bootstrapServersFromEnv: 'BIONER_BROKERS', consumerGroupFromEnv: 'BIONER_GROUP_ID',
        topic: 'bioner.documents.v1', lagThreshold: '200',
      } }],
    } },
    { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'rules' }, spec: {
      groups: [{ name: 'g', rules: [{ alert: 'Lag', expr: 'sum(bioner_consumer_lag) > 1000', for: '15m' }] }],
    } },
  ];
}

const find = (docs: Doc[], kind: string): Doc => docs.find((d) => d.kind === kind)!;
const worker = (docs: Doc[]): Doc => find(docs, 'Deployment').spec.template.spec.containers[0];
const all = (problems: Problems): string[] => [...problems].flatMap(([key, list]) => list.map((p) => `${key}: ${p}`));

describe('k8s:validate checks', () => {
  test('a consistent set of manifests passes every check', async () => {
    const docs = manifests();
    assert.deepEqual(all(await v.checkSchemas(docs)), []);
    assert.deepEqual(all((await v.checkFields(ROOT, [{ label: 'test-valid', docs }])).get('test-valid')!), []);
    assert.deepEqual(all(v.checkWiring(docs, project)), []);
  });

  test('schema errors: wrong types and missing required fields', async () => {
    const docs = manifests();
    worker(docs).ports[0].containerPort = 'nine';
    delete find(docs, 'ScaledObject').spec.scaleTargetRef;
    const problems = all(await v.checkSchemas(docs));
    assert.ok(problems.some((p) => /^Deployment\/bioner-worker: spec\.template\.spec\.containers\[0\]\.ports\[0\]\.containerPort: must be integer$/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /^ScaledObject\/bioner-worker: spec: must have required property scaleTargetRef$/.test(p)), problems.join('\n'));
  });

  test('a misspelt field, which the JSON schemas let through, is an unknown field', async () => {
    const docs = manifests();
    worker(docs).readinessProbes = worker(docs).readinessProbe;
    find(docs, 'ScaledObject').spec.maxReplicas = 3;
    assert.deepEqual(all(await v.checkSchemas(docs)), []);
    const problems = all((await v.checkFields(ROOT, [{ label: 'test-unknown', docs }])).get('test-unknown')!);
    assert.deepEqual(problems.sort(), [
      'Deployment/bioner-worker: spec.template.spec.containers[0].readinessProbes: unknown field',
      'ScaledObject/bioner-worker: spec.maxReplicas: unknown field',
    ]);
  });

  test('wiring: replicas beyond partitions, a short grace period, probe ports, references', () => {
    const docs = manifests();
    find(docs, 'ScaledObject').spec.maxReplicaCount = 13;
    find(docs, 'Deployment').spec.template.spec.terminationGracePeriodSeconds = 40;
    find(docs, 'ConfigMap').data.BIONER_METRICS_PORT = '9100';
    find(docs, 'ConfigMap').data.BIONER_MODEL = 'remote:http://bioner-infer:8080';
    worker(docs).envFrom.push({ secretRef: { name: 'not-created-anywhere' } });
    worker(docs).image = 'bioner-stream';
    find(docs, 'PrometheusRule').spec.groups[0].rules[0].expr = 'bioner_consumer_lagg > 0';
    const problems = all(v.checkWiring(docs, project));
    for (const expected of [
      /ScaledObject\/bioner-worker: maxReplicaCount 13 exceeds the 12 partitions of bioner\.documents\.v1/,
      /terminationGracePeriodSeconds 40 does not exceed preStop 15 s \+ drain 20000 ms \+ 5 s/,
      /livenessProbe: port 9464, but the process listens on 9100/,
      /BIONER_MODEL remote:http:\/\/bioner-infer:8080: no Service bioner-infer/,
      /envFrom Secret not-created-anywhere is neither rendered nor/,
      /image bioner-stream has no tag/,
      /Lag: metric bioner_consumer_lagg is not one the project exports/,
    ]) {
      assert.ok(problems.some((p) => expected.test(p)), `${expected} not in:\n${problems.join('\n')}`);
    }
  });

  test('Dockerfile: unpinned base images and root final stages', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bioner-dockerfile-'));
    try {
      const file = path.join(dir, 'Dockerfile');
      await writeFile(file, 'FROM node:lts AS build\nRUN true\nFROM debian:12.8\nCOPY --from=build /a /a\nUSER 10001\nFROM python:latest\n');
      const { problems, images } = await v.checkDockerfile(ROOT, file);
      assert.deepEqual(images, ['debian:12.8', 'python:latest']);
      assert.deepEqual(problems, [
        'line 1: base image node:lts is not pinned to a version',
        'line 6: base image python:latest is not pinned to a version',
        'stage python:latest: runs as root (no non-root USER)',
      ]);
      assert.deepEqual((await v.checkDockerfile(ROOT)).problems, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
