// The layer rule, checked by `npm run lint:deps` (dependency-cruiser) in CI. Layers from the
// bottom up; a module may import its own layer and the layers below it, never one above:
//
//   domain      src/domain, src/observability, src/*.ts   types, wire formats, metrics, logging
//   stages      src/stages, src/corpora                   split, prompt, decode, ground, normalise; corpus readers
//   inference   src/inference                             model backends: ONNX engine, remote clients, oracle
//   pipeline    src/pipeline                              one document, one input record → outputs
//   apps        src/consumers, src/producers, src/serving, src/kafka, src/evaluation
//   cli         src/cli, src/library                      the entry points: the runtime commands, the library API
//   tools       tools/                                    offline tools: import, bench, demo, default model
//
// In the apps layer only the consumers (the Kafka worker) may use their siblings. Tests sit
// above everything. No cycles anywhere.
const LAYERS = [
  ['domain', '^src/(domain|observability)/|^src/[^/]+\\.ts$'],
  ['stages', '^src/(stages|corpora)/'],
  ['inference', '^src/inference/'],
  ['pipeline', '^src/pipeline/'],
  ['apps', '^src/(consumers|producers|serving|kafka|evaluation)/'],
  ['cli', '^src/(cli|library)/'],
  ['tools', '^tools/'],
];

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `${name}-imports-upward`,
  comment: `${name} may import only ${LAYERS.slice(0, i + 1).map(([n]) => n).join(', ')}`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => `(${p})`).join('|') },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'apps-import-siblings',
      comment: 'producers, serving, kafka and evaluation stand alone; the consumers wire them together',
      severity: 'error',
      from: { path: '^src/(producers|serving|kafka|evaluation)/' },
      to: { path: '^src/(consumers|producers|serving|kafka|evaluation)/', pathNot: '^src/$1/' },
    },
    {
      name: 'no-test-code',
      comment: 'the runtime and the tools never import test code',
      severity: 'error',
      from: { path: '^(src|tools)/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-dev-dependencies',
      comment: 'the images install with --omit=dev: what runs may import only "dependencies" (the benchmarks run from a development checkout)',
      severity: 'error',
      from: { path: '^(src|tools)/', pathNot: '^tools/bench/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
