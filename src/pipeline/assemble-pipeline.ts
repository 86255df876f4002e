// The one place a pipeline is put together: prompt template, backend, query batcher, concept
// lexicons and the Annotator over them. `run`, `annotate` and the benchmarks all build theirs
// here from one PipelineSettings, so a setting means the same in each, with one default.
import type { PromptTemplate } from '../domain/prompt-template.js';
import { RecordingBackend } from '../inference/answer-log.js';
import { createBackend, type BackendOptions } from '../inference/create-backend.js';
import type { ModelBackend } from '../inference/model-backend.js';
import { GuidelinePlan } from '../inference/model-guidelines.js';
import { defaultThreadCount } from '../inference/onnx/inference-pool.js';
import type { OnnxEngineOptions } from '../inference/onnx/onnx-backend.js';
import { queryBatcher, type QueryBatcher } from '../inference/query-batcher.js';
import { PIPELINE_VERSION } from '../project.js';
import { loadPromptTemplate } from '../stages/build-prompt.js';
import { DEFAULT_LINK_THRESHOLD } from '../stages/concepts/concept-linker.js';
import { EntityTypes } from '../stages/entity-types.js';
import { Annotator } from './annotator.js';
import { conceptLinker } from './concept-lexicons.js';

/** Everything that decides what a pipeline answers and how fast; plain data, so it can cross a process boundary. */
export interface PipelineSettings {
  /** A model directory, `oracle:GOLD_FILE`, `replay:ANSWERS`, `remote:URL[,URL]` or `openai:URL[,URL]`. */
  model: string;
  /** Canonical or corpus type names asked when a document names none. */
  types: string[];
  /** conv_term, universalner or a template file. */
  template: string;
  /** The type vocabulary file; absent: the shipped one. */
  entityTypesFile?: string;
  /** One corpus guideline for every type; absent: each group of types under the model's corpus that fits it best. */
  guidelines?: string;
  /** Concept lexicons: `default`, `none` or `TYPE=FILE[,TYPE=FILE]` (concept-lexicons.ts). */
  lexicons: string;
  linkThreshold: number;
  /** A long form the model named grounds its short form wherever it occurs. */
  abbreviationGrounding: boolean;
  /** A document that splits into more sentences is refused before inference. */
  maxSentences: number;
  queryBatches: QueryBatchSettings;
  /** The local ONNX engine: threads, weights, speed-ups, constrained answers, answer length. */
  engine: Omit<OnnxEngineOptions, 'modelDir'>;
  /** How `remote:` and `openai:` reach their servers. */
  remote: NonNullable<BackendOptions['remote']>;
  /** Record the model's raw answers here (JSON lines), for `replay:FILE`. */
  saveAnswers?: string;
  /** Keep the answers `saveAnswers` already holds, and ask the model only for the rest. */
  resumeAnswers?: boolean;
}

/** How sentences of many documents are pooled into the backend's calls. */
export interface QueryBatchSettings {
  /** Queries (a sentence and a group of types) per backend call. */
  size: number;
  /** Longest a query waits for its batch to fill. */
  waitMs: number;
  /** Backend calls at once; absent: two per inference thread, so one joins a thread's running batch as the other drains. */
  inFlight?: number;
}

export const PIPELINE_DEFAULTS = {
  template: 'conv_term',
  lexicons: 'default',
  linkThreshold: DEFAULT_LINK_THRESHOLD,
  abbreviationGrounding: true,
  maxSentences: 5_000,
  queryBatches: { size: 8, waitMs: 50 },
} as const satisfies Partial<PipelineSettings>;

/** Told as the pipeline works, for metrics and logs. */
export interface PipelineHooks {
  onBatch?: (size: number, seconds: number) => void;
  /** The (sentence, type) answers of each batch: the unit of the model's work, for progress. */
  onAnswered?: (answers: number) => void;
  warn?: (message: string) => void;
}

export interface Pipeline {
  annotator: Annotator;
  backend: ModelBackend;
  batcher: QueryBatcher;
  entityTypes: EntityTypes;
  template: PromptTemplate;
  /** The canonical types asked when a document names none. */
  types: string[];
  close(): Promise<void>;
}

/**
 * `model`: a backend already running, used instead of loading `settings.model` and left open by
 * `close` (the inference server's own model, for /v1/entities); `settings.model` still names its
 * directory, for the guidelines.
 */
export async function assemblePipeline(settings: PipelineSettings, hooks: PipelineHooks = {}, model?: ModelBackend): Promise<Pipeline> {
  const entityTypes = EntityTypes.load(settings.entityTypesFile);
  const types = entityTypes.canonicalTypes(settings.types);
  const template = loadPromptTemplate(settings.template);
  // Lexicons first: a bad lexicon file is refused before the model loads.
  const concepts = await conceptLinker(settings.lexicons, entityTypes, { threshold: settings.linkThreshold, ...(hooks.warn ? { warn: hooks.warn } : {}) });
  const loaded = model ?? await createBackend(settings.model, { template, entityTypes, engine: settings.engine, remote: settings.remote });
  const backend = settings.saveAnswers ? new RecordingBackend(loaded, settings.saveAnswers, settings.resumeAnswers) : loaded;
  const threads = settings.engine.threads ?? defaultThreadCount();
  const batcher = queryBatcher(backend, {
    batchSize: settings.queryBatches.size,
    batchWaitMs: settings.queryBatches.waitMs,
    concurrency: settings.queryBatches.inFlight ?? 2 * threads,
    ...(hooks.onBatch ? { onBatch: hooks.onBatch } : {}),
    ...(hooks.onAnswered ? { onAnswered: hooks.onAnswered } : {}),
  });
  const annotator = new Annotator({
    batcher, entityTypes, defaultTypes: types,
    guidelines: GuidelinePlan.forModel(settings.model, settings.guidelines),
    provenance: { model_id: backend.modelId, prompt_format: template.name, pipeline_version: PIPELINE_VERSION },
    abbreviations: { groundShortForms: settings.abbreviationGrounding },
    maxSentences: settings.maxSentences,
    ...(concepts ? { concepts } : {}),
  });
  return { annotator, backend, batcher, entityTypes, template, types, close: async () => (model ? undefined : backend.close()) };
}
