// One benchmark configuration in a process of its own: the pipeline `run` and `annotate`
// assemble (annotator, query batcher, ONNX backend and its thread pool, concept linking) with
// the engine features and weights it names, so its memory and CPU time are its own. Driven by
// pipeline-runner.ts over IPC.
import type { Document } from '../../src/domain/types.js';
import { inferenceSince, noInference } from '../../src/observability/inference-stats.js';
import { assemblePipeline, type Pipeline, type PipelineSettings } from '../../src/pipeline/assemble-pipeline.js';
import { cpuSecondsSince, MemoryPeak } from './measure.js';
import type { PipelineReply, PipelineRequest } from './pipeline-runner.js';

let pipeline: Pipeline | undefined;

async function start(settings: PipelineSettings): Promise<void> {
  pipeline = await assemblePipeline(settings);
}

/** The documents at once, as `annotate` would take them; each one's latency from the start. */
async function run(documents: Document[], types: string[]): Promise<PipelineReply> {
  const { annotator, backend } = pipeline!;
  const before = backend.stats?.() ?? noInference();
  const memory = new MemoryPeak();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const latenciesMs: number[] = [];
  const annotated = await Promise.all(documents.map(async (document) => {
    const result = await annotator.annotate({ ...document, types });
    latenciesMs.push(performance.now() - started);
    return result;
  }));
  const seconds = (performance.now() - started) / 1000;
  return {
    kind: 'ran',
    seconds,
    cpuSeconds: cpuSecondsSince(cpu),
    latenciesMs,
    sentences: annotated.reduce((n, a) => n + a.sentence_count, 0),
    entities: annotated.map((a) => a.entities.map((e) => `${e.start}-${e.end}:${e.type}`)),
    stats: inferenceSince(before, backend.stats?.() ?? noInference()),
    peakRssMb: memory.stop() / 2 ** 20,
  };
}

process.on('message', (request: PipelineRequest) => {
  const reply = (message: PipelineReply) => process.send!(message);
  const fail = (error: Error) => reply({ kind: 'failed', message: error.stack ?? error.message });
  if (request.kind === 'start') start(request.settings).then(() => reply({ kind: 'ready' }), fail);
  else if (request.kind === 'run') run(request.documents, request.types).then(reply, fail);
  else void (pipeline?.close() ?? Promise.resolve()).then(() => process.exit(0));
});
