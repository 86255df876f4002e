// Options that several commands share, each row defined once: how the local engine runs
// (`serve` and every pipeline) and what a pipeline is (`run`, `annotate`). A row added here
// reaches every command that spreads the table, and its value reaches the settings through
// one function.
import { EXECUTION_PROVIDERS, MODEL_DTYPES } from '../inference/onnx/decoder-session.js';
import { ALL_FEATURES, type EngineFeatures } from '../inference/onnx/generation-scheduler.js';
import { defaultThreadCount } from '../inference/onnx/inference-pool.js';
import { DEFAULT_ENGINE_OPTIONS, type OnnxEngineOptions } from '../inference/onnx/onnx-backend.js';
import { DEFAULT_POOL_OPTIONS } from '../inference/remote/endpoint-pool.js';
import { GuidelinePlan } from '../inference/model-guidelines.js';
import { PIPELINE_DEFAULTS, type PipelineSettings } from '../pipeline/assemble-pipeline.js';
import { LEXICON_SPEC_HELP } from '../pipeline/concept-lexicons.js';
import { projectPath } from '../project.js';
import { EntityTypes } from '../stages/entity-types.js';
import { choice, fraction, integer, list, onOff, oneOf, parseCommandLine, text, toggle, UsageError, type OptionValues } from './options.js';

/** `annotate` and `eval` take the same slice of a corpus, so a run on part of it scores against that part. */
export const DOCUMENTS = { documents: integer('only the first N documents of the corpus (default: all)') };

/** Threads of the local model, each with its own session and copy of the weights. */
export const inferenceThreads = (fallback?: number) => fallback === undefined
  ? integer('inference threads, each with its own session and share of the cores', defaultThreadCount(), { shown: 'one per 4 cores, up to 4' })
  : integer('inference threads, each with its own session and share of the cores', fallback);

/** The engine's speed-ups by their command-line names. */
const FEATURE_FLAGS: Record<string, keyof EngineFeatures> = {
  reuse: 'reuse',
  'prefix-cache': 'prefixCache',
  'jump-forward': 'jumpForward',
  'prompt-lookup': 'promptLookup',
  'step-batching': 'stepBatching',
  'last-logits-only': 'lastLogitsOnly',
};

/** Every speed-up but those named (all are exact; switching one off measures what it adds). */
export function engineFeatures(off: readonly string[]): EngineFeatures {
  const features = { ...ALL_FEATURES };
  for (const name of off) features[FEATURE_FLAGS[oneOf(name, Object.keys(FEATURE_FLAGS), '--engine-off')]!] = false;
  return features;
}

/** The local ONNX engine, for `serve` and every pipeline. */
export const ENGINE_OPTIONS = {
  'inference-threads': inferenceThreads(),
  'max-new-tokens': integer("bound on each answer's length", DEFAULT_ENGINE_OPTIONS.maxNewTokens),
  constrained: onOff('answers kept to the template\'s answer prefix and a JSON list of strings from the sentence', DEFAULT_ENGINE_OPTIONS.constrained),
  'engine-off': list('LIST', `engine speed-ups to switch off: ${Object.keys(FEATURE_FLAGS).join(', ')} (reuse off is the naive way)`, []),
  dtype: choice(MODEL_DTYPES, 'which weights under onnx/ to load', 'fp32'),
  'execution-provider': choice(EXECUTION_PROVIDERS, 'cuda needs the CUDA install (docs/deployment.md)', 'cpu'),
};

export function engineSettings(o: OptionValues<typeof ENGINE_OPTIONS>): Omit<OnnxEngineOptions, 'modelDir'> {
  return {
    threads: o['inference-threads'],
    maxNewTokens: o['max-new-tokens'],
    constrained: o.constrained,
    features: engineFeatures(o['engine-off']),
    dtype: o.dtype,
    executionProvider: o['execution-provider'],
  };
}

/** What a pipeline is, for every command that builds one; each default is PIPELINE_DEFAULTS'. */
export const PIPELINE_OPTIONS = {
  model: text('DIR|oracle:GOLD_FILE|replay:ANSWERS|remote:URL[,URL]|openai:URL[,URL][?model=NAME]', 'a model directory, ' +
    'gold answers, answers saved by --save-answers, bioner-stream serve servers or OpenAI-compatible servers; the full ' +
    'CLI fills in the shipped fine-tuned model', { required: true }),
  template: text('NAME|FILE', 'prompt template: conv_term, universalner, or a JSON file', PIPELINE_DEFAULTS.template),
  'entity-types': text('FILE', 'type vocabulary and corpus label mapping', projectPath('config', 'entity-types.json'), 'config/entity-types.json'),
  guidelines: text('NAME', "one corpus guideline for every type (default: each group of types under the model's corpus that fits it best)"),
  lexicons: text('SPEC', LEXICON_SPEC_HELP, PIPELINE_DEFAULTS.lexicons),
  'link-threshold': fraction('lowest character-trigram similarity accepted as a concept', PIPELINE_DEFAULTS.linkThreshold),
  'abbreviation-grounding': onOff('a long form the model named grounds its short form elsewhere', PIPELINE_DEFAULTS.abbreviationGrounding),
  'max-sentences': integer('documents that split into more sentences are refused (a dead letter in run)', PIPELINE_DEFAULTS.maxSentences),
  'query-batch-size': integer('queries (a sentence and its types) per call to the model', PIPELINE_DEFAULTS.queryBatches.size),
  'query-batch-wait-ms': integer('longest a query waits for its batch to fill', PIPELINE_DEFAULTS.queryBatches.waitMs),
  'query-batches-in-flight': integer('calls to the model at once', undefined, { shown: 'two per inference thread' }),
  'inference-timeout-ms': integer('bound on each request to an inference server', DEFAULT_POOL_OPTIONS.timeoutMs),
  'inference-token': text('TOKEN', 'the bearer token of bioner-stream serve; set BIONER_INFERENCE_TOKEN from a Secret'),
  'save-answers': text('FILE', "the model's raw answers, JSON lines, for --model replay:FILE"),
  resume: toggle("with --save-answers: keep the answers FILE holds (an interrupted run's) and ask the model only for the rest"),
  ...ENGINE_OPTIONS,
};

/** The settings a command's parsed options give, with the types it asks when a document names none. */
export function pipelineSettings(o: OptionValues<typeof PIPELINE_OPTIONS>, types: string[]): PipelineSettings {
  return {
    model: o.model,
    types,
    template: o.template,
    entityTypesFile: o['entity-types'],
    ...(o.guidelines ? { guidelines: o.guidelines } : {}),
    lexicons: o.lexicons,
    linkThreshold: o['link-threshold'],
    abbreviationGrounding: o['abbreviation-grounding'],
    maxSentences: o['max-sentences'],
    queryBatches: {
      size: o['query-batch-size'],
      waitMs: o['query-batch-wait-ms'],
      ...(o['query-batches-in-flight'] === undefined ? {} : { inFlight: o['query-batches-in-flight'] }),
    },
    engine: engineSettings(o),
    remote: { timeoutMs: o['inference-timeout-ms'], ...(o['inference-token'] ? { token: o['inference-token'] } : {}) },
    ...(o['save-answers'] ? { saveAnswers: o['save-answers'] } : {}),
    ...(o.resume ? { resumeAnswers: true } : {}),
  };
}

/**
 * Refuses, as usage errors, the settings the assembly would refuse only as the model loads: an
 * unknown or repeated type, --resume without its file, guidelines the model does not list. Returns
 * the type vocabulary.
 */
export function checkPipelineSettings(settings: PipelineSettings): EntityTypes {
  const entityTypes = EntityTypes.load(settings.entityTypesFile);
  const problem = entityTypes.typeListProblem(settings.types);
  if (problem !== undefined) throw new UsageError(`--types: ${problem}`);
  if (settings.resumeAnswers && !settings.saveAnswers) throw new UsageError('--resume continues the answers file of --save-answers FILE; name that file');
  try {
    GuidelinePlan.forModel(settings.model, settings.guidelines);
  } catch (error) {
    throw new UsageError(`--guidelines: ${(error as Error).message}`);
  }
  return entityTypes;
}

/** What `run` and `annotate` use when given only the model: the settings a benchmark starts from. */
export function defaultPipelineSettings(model: string, types: string[]): PipelineSettings {
  return pipelineSettings(parseCommandLine(['--model', model], { synopsis: '', options: PIPELINE_OPTIONS }).values, types);
}
