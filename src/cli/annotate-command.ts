// `bioner-stream annotate`: a corpus file in; EntityRecords (JSON lines), PubTator or BioC out.
import { createWriteStream, existsSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { annotationWriter, OUTPUT_FORMATS } from '../corpora/annotation-writers.js';
import { CORPUS_FORMATS, firstDocuments, readCorpus } from '../corpora/index.js';
import type { AnnotatedDocument, Document } from '../domain/types.js';
import { RecordingBackend } from '../inference/answer-log.js';
import { createBackend } from '../inference/create-backend.js';
import { GuidelinePlan } from '../inference/model-guidelines.js';
import { Annotator } from '../pipeline/annotator.js';
import { conceptLinker, LEXICON_SPEC_HELP } from '../pipeline/concept-lexicons.js';
import { queryBatcher } from '../inference/query-batcher.js';
import { PIPELINE_VERSION, projectPath } from '../project.js';
import { loadPromptTemplate } from '../stages/build-prompt.js';
import { DEFAULT_LINK_THRESHOLD } from '../stages/concepts/concept-linker.js';
import { EntityTypes } from '../stages/entity-types.js';
import { BATCHING, DOCUMENTS, ENGINE, engineFeatures, inferenceWorkers, maxNewTokens } from './common-options.js';
import { choice, fraction, list, parseCommandLine, text, toggle, UsageError } from './options.js';
import { ProgressBar } from './progress.js';

const OPTIONS = {
  input: text('FILE', 'the corpus to annotate', { required: true }),
  'input-format': choice(CORPUS_FORMATS, 'how the corpus is written', { required: true }),
  model: text('DIR|oracle:GOLD_FILE|replay:ANSWERS|remote:URL|openai:URL', 'the model, gold answers, answers saved by ' +
    '--save-answers, or inference servers; the full CLI fills in the shipped fine-tuned model', { required: true }),
  ...DOCUMENTS,
  guidelines: text('NAME', "one corpus guideline for every type (default: each group of types under the model's corpus that fits it best)"),
  types: list('LIST', 'entity types to ask for, e.g. disease,chemical', { required: true }),
  output: text('OUT', 'where the annotations go, written as --output-format says', { required: true }),
  'output-format': choice(OUTPUT_FORMATS, 'jsonl: one EntityRecord a line; pubtator: with concept ids, as the BioCreative V ' +
    'CDR evaluator reads it; bioc-xml, bioc-json: BioC collections', 'jsonl'),
  lexicons: text('SPEC', LEXICON_SPEC_HELP, 'default'),
  'link-threshold': fraction('lowest character-trigram similarity accepted as a concept', DEFAULT_LINK_THRESHOLD),
  'save-answers': text('FILE', "the model's raw answers, JSON lines, for --model replay:FILE"),
  'no-abbreviation-grounding': toggle('a long form the model named does not ground its short form elsewhere'),
  template: text('NAME|FILE', 'prompt template: conv_term, universalner, or a JSON file', 'conv_term'),
  'entity-types': text('FILE', 'type vocabulary and corpus label mapping', projectPath('config', 'entity-types.json'), 'config/entity-types.json'),
  ...BATCHING,
  'inference-workers': inferenceWorkers(),
  'max-new-tokens': maxNewTokens(),
  unconstrained: toggle('let answers be any text (default: a JSON list of strings from the sentence)'),
  ...ENGINE,
};

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream annotate --input FILE --input-format FORMAT --model MODEL --types LIST --output OUT [options]',
  options: OPTIONS,
};

/** Documents annotated at once: enough to keep batches full, few enough to bound memory. */
const DOCUMENTS_IN_FLIGHT = 32;

export async function annotateCommand(argv: string[]): Promise<void> {
  const { values: o } = parseCommandLine(argv, COMMAND_LINE);
  if (!existsSync(o.input)) throw new UsageError(`cannot read input ${o.input}: no such file`);
  const entityTypes = EntityTypes.load(o['entity-types']);
  const types = o.types.map((t) => entityTypes.canonical(t));
  const template = loadPromptTemplate(o.template);
  const corpus = firstDocuments(await readCorpus(o.input, o['input-format']), o.documents);
  for (const warning of corpus.warnings) console.error(`warning: ${warning}`);
  const concepts = await conceptLinker(o.lexicons, entityTypes, { threshold: o['link-threshold'] });
  const workers = o['inference-workers'];
  const model = await createBackend(o.model, {
    template,
    entityTypes,
    engine: {
      workers,
      maxNewTokens: o['max-new-tokens'],
      features: engineFeatures(o['engine-off']),
      constrained: !o.unconstrained,
      dtype: o.dtype,
      executionProvider: o['execution-provider'],
    },
  });
  const backend = o['save-answers'] ? new RecordingBackend(model, o['save-answers']) : model;
  try {
    const batcher = queryBatcher(backend, {
      batchSize: o['batch-size'],
      batchWaitMs: o['batch-wait-ms'],
      // Two batches in flight per worker: one joins the worker's running batch as the other drains.
      concurrency: 2 * workers,
    });
    const annotator = new Annotator({
      batcher,
      entityTypes,
      defaultTypes: types,
      guidelines: GuidelinePlan.forModel(o.model, o.guidelines),
      provenance: { model_id: backend.modelId, prompt_format: template.name, pipeline_version: PIPELINE_VERSION },
      abbreviations: { groundShortForms: !o['no-abbreviation-grounding'] },
      ...(concepts ? { concepts } : {}),
    });
    const out = createWriteStream(o.output);
    const writer = annotationWriter(o['output-format'], (type) => entityTypes.label(type, 'pubtator'));
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
        `${totals.invalid} invalid answers of ${totals.answers} → ${o.output}`,
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
