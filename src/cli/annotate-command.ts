// `bioner-stream annotate`: a corpus file in; EntityRecords (JSON lines), PubTator or BioC out.
import { createWriteStream, existsSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { annotationWriter, OUTPUT_FORMATS } from '../corpora/annotation-writers.js';
import { CORPUS_FORMATS, readCorpus } from '../corpora/index.js';
import type { AnnotatedDocument, Document } from '../domain/types.js';
import { createBackend } from '../inference/create-backend.js';
import { INFERENCE_MODES } from '../inference/onnx/conversation-engine.js';
import { EXECUTION_PROVIDERS, MODEL_DTYPES } from '../inference/onnx/decoder-session.js';
import { defaultWorkerCount } from '../inference/onnx/inference-pool.js';
import { DEFAULT_ENGINE_OPTIONS } from '../inference/onnx/onnx-backend.js';
import { Annotator } from '../pipeline/annotator.js';
import { conceptLinker } from '../pipeline/concept-lexicons.js';
import { queryBatcher } from '../pipeline/query-batcher.js';
import { PIPELINE_VERSION } from '../project.js';
import { loadPromptTemplate } from '../stages/build-prompt.js';
import { DEFAULT_LINK_THRESHOLD } from '../stages/concepts/concept-linker.js';
import { EntityTypes } from '../stages/entity-types.js';
import { fraction, oneOf, parseOptions, positiveInt, required, UsageError } from './args.js';
import { ProgressBar } from './progress.js';

const USAGE = `usage: bioner-stream annotate --input FILE --input-format pubtator|iob|jsonl|text|bioc-xml|bioc-json
                                --model DIR|oracle:GOLD_FILE --types disease,chemical
                                --output OUT [--output-format jsonl|pubtator|bioc-xml|bioc-json] [options]

  --output-format FORMAT  jsonl (default): one EntityRecord a line; pubtator: with concept ids, as the
                          BioCreative V CDR evaluator reads it; bioc-xml, bioc-json: BioC collections
  --lexicons SPEC         concept lexicons: default (built from the training corpora's gold ids),
                          none, or TYPE=FILE[,TYPE=FILE] (CTD_*.tsv[.gz], id/name/synonyms TSV, .obo)
  --link-threshold X      lowest character-trigram similarity accepted as a concept (default ${DEFAULT_LINK_THRESHOLD})
  --no-abbreviation-grounding   a long form the model named does not ground its short form elsewhere

  --template NAME|FILE    prompt template: conv_term (default), universalner, or a JSON file
  --entity-types FILE     type vocabulary and corpus label mapping (default config/entity-types.json)
  --batch-size N          sentences per inference batch (default 8)
  --batch-wait-ms N       longest wait for a batch to fill (default 20)
  --workers N             inference worker threads (default: one per core, up to 4)
  --max-new-tokens N      bound on each answer's length (default 64)
  --inference-mode MODE   reuse (default): feed only what the KV cache lacks; naive: every turn from scratch
  --unconstrained         let answers be any text (default: a JSON list of strings from the sentence)
  --dtype fp32|fp16|q8|q4 which weights under onnx/ to load (default fp32)
  --execution-provider cpu|cuda   (default cpu; cuda needs the CUDA build, see docs/performance.md)`;

const OPTIONS = {
  input: { type: 'string' },
  'input-format': { type: 'string' },
  model: { type: 'string' },
  types: { type: 'string' },
  output: { type: 'string' },
  template: { type: 'string' },
  'entity-types': { type: 'string' },
  'batch-size': { type: 'string' },
  'batch-wait-ms': { type: 'string' },
  workers: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  'inference-mode': { type: 'string' },
  unconstrained: { type: 'boolean' },
  dtype: { type: 'string' },
  'execution-provider': { type: 'string' },
  'output-format': { type: 'string' },
  lexicons: { type: 'string' },
  'link-threshold': { type: 'string' },
  'no-abbreviation-grounding': { type: 'boolean' },
} as const;

/** Documents annotated at once: enough to keep batches full, few enough to bound memory. */
const DOCUMENTS_IN_FLIGHT = 32;

export async function annotateCommand(argv: string[]): Promise<void> {
  const args = parseOptions(argv, OPTIONS, USAGE);
  const input = required(args.input, '--input');
  const format = oneOf(required(args['input-format'], '--input-format'), CORPUS_FORMATS, '--input-format');
  const modelSpec = required(args.model, '--model');
  const output = required(args.output, '--output');
  const outputFormat = oneOf(args['output-format'] ?? 'jsonl', OUTPUT_FORMATS, '--output-format');
  const threshold = fraction(args['link-threshold'], DEFAULT_LINK_THRESHOLD, '--link-threshold');
  if (!existsSync(input)) throw new UsageError(`cannot read input ${input}: no such file`);

  const entityTypes = EntityTypes.load(args['entity-types']);
  const types = required(args.types, '--types').split(',').map((t) => entityTypes.canonical(t.trim()));
  const template = loadPromptTemplate(args.template ?? 'conv_term');
  const corpus = await readCorpus(input, format);
  for (const warning of corpus.warnings) console.error(`warning: ${warning}`);
  const concepts = await conceptLinker(args.lexicons ?? 'default', entityTypes, { threshold });

  const workers = positiveInt(args.workers, defaultWorkerCount(), '--workers');
  const backend = await createBackend(modelSpec, {
    template,
    entityTypes,
    engine: {
      workers,
      maxNewTokens: positiveInt(args['max-new-tokens'], DEFAULT_ENGINE_OPTIONS.maxNewTokens, '--max-new-tokens'),
      inferenceMode: oneOf(args['inference-mode'] ?? DEFAULT_ENGINE_OPTIONS.inferenceMode, INFERENCE_MODES, '--inference-mode'),
      constrained: !args.unconstrained,
      dtype: oneOf(args.dtype ?? 'fp32', MODEL_DTYPES, '--dtype'),
      executionProvider: oneOf(args['execution-provider'] ?? 'cpu', EXECUTION_PROVIDERS, '--execution-provider'),
    },
  });
  try {
    const batcher = queryBatcher(backend, {
      batchSize: positiveInt(args['batch-size'], 8, '--batch-size'),
      batchWaitMs: positiveInt(args['batch-wait-ms'], 20, '--batch-wait-ms'),
      // A batch in flight per worker keeps every worker busy.
      concurrency: workers,
    });
    const annotator = new Annotator({
      batcher,
      entityTypes,
      defaultTypes: types,
      provenance: { model_id: backend.modelId, prompt_format: template.name, pipeline_version: PIPELINE_VERSION },
      abbreviations: { groundShortForms: !args['no-abbreviation-grounding'] },
      ...(concepts ? { concepts } : {}),
    });
    const out = createWriteStream(output);
    const writer = annotationWriter(outputFormat, (type) => entityTypes.label(type, 'pubtator'));
    out.write(writer.start());
    const progress = new ProgressBar(corpus.documents.length, 'docs');
    const totals = { entities: 0, ungrounded: 0, invalid: 0, answers: 0 };
    for await (const annotated of annotateInOrder(annotator, corpus.documents)) {
      out.write(writer.document(annotated));
      totals.entities += annotated.entities.length;
      totals.ungrounded += annotated.ungrounded_count;
      totals.invalid += annotated.invalid_answer_count;
      totals.answers += annotated.sentence_count * types.length;
      progress.tick();
    }
    out.end(writer.end());
    await finished(out);
    console.error(
      `annotated ${corpus.documents.length} documents: ${totals.entities} entities, ${totals.ungrounded} ungrounded, ` +
        `${totals.invalid} invalid answers of ${totals.answers} → ${output}`,
    );
  } finally {
    await backend.close();
  }
}

/** Annotates several documents at once but yields them in input order. */
async function* annotateInOrder(annotator: Annotator, documents: Document[]): AsyncGenerator<AnnotatedDocument> {
  const window: Promise<AnnotatedDocument>[] = [];
  for (const document of documents) {
    window.push(annotator.annotate(document));
    if (window.length >= DOCUMENTS_IN_FLIGHT) yield await window.shift()!;
  }
  while (window.length > 0) yield await window.shift()!;
}
