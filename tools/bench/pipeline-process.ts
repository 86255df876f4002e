// One benchmark configuration in a process of its own: the real pipeline (annotator, query
// batcher, ONNX backend and its worker pool) with the engine features and weights it names, so
// its memory and CPU time are its own. Driven by pipeline-runner.ts over IPC.
import type { Document } from '../../src/domain/types.js';
import { GuidelinePlan } from '../../src/inference/model-guidelines.js';
import { OnnxBackend } from '../../src/inference/onnx/onnx-backend.js';
import { queryBatcher } from '../../src/inference/query-batcher.js';
import { noInference, type InferenceStats } from '../../src/observability/inference-stats.js';
import { Annotator } from '../../src/pipeline/annotator.js';
import { PIPELINE_VERSION, projectPath } from '../../src/project.js';
import { loadPromptTemplate } from '../../src/stages/build-prompt.js';
import { EntityTypes } from '../../src/stages/entity-types.js';
import { cpuSecondsSince, MemoryPeak } from './measure.js';
import type { PipelineConfig, PipelineReply, PipelineRequest } from './pipeline-runner.js';

const entityTypes = EntityTypes.load(projectPath('config', 'entity-types.json'));
let backend: OnnxBackend | undefined;
let config: PipelineConfig;

async function start(given: PipelineConfig): Promise<void> {
  config = given;
  backend = await OnnxBackend.start(loadPromptTemplate('conv_term'), {
    modelDir: config.modelDir,
    dtype: config.dtype,
    executionProvider: config.executionProvider,
    workers: config.workers,
    features: config.features,
    maxNewTokens: config.maxNewTokens,
  });
}

/** The documents at once, as `annotate` would take them; each one's latency from the start. */
async function run(documents: Document[], types: string[]): Promise<PipelineReply> {
  const template = loadPromptTemplate('conv_term');
  const settings = { ...backend!.settings, template };
  const scoped = new OnnxBackend(backend!.pool, settings);
  const batcher = queryBatcher(scoped, { batchSize: config.batchSize, batchWaitMs: config.batchWaitMs, concurrency: config.concurrency });
  const annotator = new Annotator({
    batcher, entityTypes, defaultTypes: types, guidelines: GuidelinePlan.forModel(config.modelDir),
    provenance: { model_id: config.modelDir, prompt_format: template.name, pipeline_version: PIPELINE_VERSION },
  });
  const memory = new MemoryPeak();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const latenciesMs: number[] = [];
  const annotated = await Promise.all(documents.map(async (document) => {
    const result = await annotator.annotate(document);
    latenciesMs.push(performance.now() - started);
    return result;
  }));
  const seconds = (performance.now() - started) / 1000;
  const stats: InferenceStats = scoped.stats() ?? noInference();
  return {
    kind: 'ran',
    seconds,
    cpuSeconds: cpuSecondsSince(cpu),
    latenciesMs,
    sentences: annotated.reduce((n, a) => n + a.sentence_count, 0),
    entities: annotated.map((a) => a.entities.map((e) => `${e.start}-${e.end}:${e.type}`)),
    stats,
    peakRssMb: memory.stop() / 2 ** 20,
  };
}

process.on('message', (request: PipelineRequest) => {
  const reply = (message: PipelineReply) => process.send!(message);
  const fail = (error: Error) => reply({ kind: 'failed', message: error.stack ?? error.message });
  if (request.kind === 'start') start(request.config).then(() => reply({ kind: 'ready' }), fail);
  else if (request.kind === 'run') run(request.documents, request.types).then(reply, fail);
  else void (backend?.close() ?? Promise.resolve()).then(() => process.exit(0));
});
