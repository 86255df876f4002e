// `bioner-stream annotate`: a corpus (a file, a folder or standard input) in; EntityRecords (JSON
// lines), PubTator, BioC, IOB or brat out.
import { OUTPUT_FORMATS } from '../corpora/annotation-writers.js';
import { CORPUS_FORMATS, firstDocuments } from '../corpora/index.js';
import type { Document } from '../domain/types.js';
import { annotateInOrder } from '../pipeline/annotate-in-order.js';
import { answersNeeded } from '../pipeline/annotator.js';
import { assemblePipeline, type Pipeline, type PipelineSettings } from '../pipeline/assemble-pipeline.js';
import type { EntityTypes } from '../stages/entity-types.js';
import { checkOutput, openOutput, type AnnotationOutput } from './annotation-output.js';
import { checkPipelineSettings, DOCUMENTS, PIPELINE_OPTIONS, pipelineSettings } from './common-options.js';
import { readInputCorpus } from './corpus-input.js';
import { choice, list, parseCommandLine, text, UsageError } from './options.js';
import { duration, ProgressBar } from './progress.js';
import { Interrupted, nextSignal } from './shutdown.js';

const OPTIONS = {
  input: text('FILE|DIR|-', 'the corpus to annotate: a file, a folder (its files in name order) or - for standard input', { required: true }),
  'input-format': choice(CORPUS_FORMATS, 'how the corpus is written; text: a file is one document, named by the file; ' +
    'lines: each non-blank line is one, named FILE:LINE', { required: true }),
  ...DOCUMENTS,
  types: list('LIST', 'entity types to ask for, e.g. disease,chemical', { required: true }),
  output: text('OUT|DIR|-', 'where the annotations go: a file, - for standard output, or the folder brat writes into', { required: true }),
  'output-format': choice(OUTPUT_FORMATS, 'jsonl: one EntityRecord a line; pubtator: with concept ids, as the BioCreative V ' +
    'CDR evaluator reads it; bioc-xml, bioc-json: BioC collections; iob: token<TAB>tag, sentences as split for the model; ' +
    'brat: ID.txt and ID.ann per document in the folder --output (made if missing)', 'jsonl'),
  ...PIPELINE_OPTIONS,
};

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream annotate --input FILE|DIR|- --input-format FORMAT --model MODEL --types LIST --output OUT|DIR|- [options]',
  options: OPTIONS,
};

export function annotateConfig(argv: string[]) {
  const { values: o } = parseCommandLine(argv, COMMAND_LINE);
  return {
    input: o.input, inputFormat: o['input-format'], documents: o.documents,
    output: o.output, outputFormat: o['output-format'],
    pipeline: pipelineSettings(o, o.types),
  };
}

/** More (sentence, type) answers than this get a warning before the model loads: over ten minutes at about 5 a second. */
export const LONG_RUN_ANSWERS = 3_000;
/** The shipped model's rate on CPU cores, about 5 sentences a second for one type (docs/performance.md). */
const CPU_ANSWERS_PER_SECOND = 5;

/** The config, with what the call names checked as far as it can be without reading the input: a mistake costs no model. */
export function checkedAnnotateConfig(argv: string[]) {
  const config = annotateConfig(argv);
  checkOutput(config.output, config.outputFormat);
  return { ...config, entityTypes: checkPipelineSettings(config.pipeline) };
}

export async function annotateCommand(argv: string[]): Promise<void> {
  const { entityTypes, ...config } = checkedAnnotateConfig(argv);
  const corpus = firstDocuments(await readInputCorpus(config.input, config.inputFormat, '--input'), config.documents);
  for (const warning of corpus.warnings) console.error(`warning: ${warning}`);
  checkDocuments(corpus.documents, entityTypes);

  const needed = corpus.documents.reduce((n, d) => n + answersNeeded(d, config.pipeline.types), 0);
  warnIfLong(needed, corpus.documents.length, config.pipeline);
  let progress: ProgressBar | undefined;
  const pipeline = await assemblePipeline(config.pipeline, { onAnswered: (answers) => progress?.advance(answers) });
  let output: AnnotationOutput;
  let run: Awaited<ReturnType<typeof annotateAll>>;
  try {
    output = openOutput(config.output, config.outputFormat, (type) => entityTypes.label(type, 'pubtator'));
    progress = new ProgressBar(needed, 'answers');
    run = await annotateAll(pipeline, corpus.documents, output);
    await output.close();
  } finally {
    // After a signal too: the answers in flight are dropped, once the model's pass under way is over.
    await pipeline.close();
  }
  const leftOut = output.leftOut();
  if (leftOut !== undefined) console.error(`warning: ${leftOut}`);
  const { totals, written, signal } = run;
  const documents = corpus.documents.length;
  if (signal !== undefined) {
    throw new Interrupted(`${signal}: ${written} of ${documents} documents written to ${output.where}, which is complete and closed; ` +
      `missing: the ${documents - written} from document ${corpus.documents[written]!.id} (number ${written + 1}) on; ${answersKept(config.pipeline)}`);
  }
  console.error(
    `annotated ${documents} documents: ${totals.entities} entities, ${totals.ungrounded} ungrounded, ` +
      `${totals.invalid} invalid answers of ${totals.answers} → ${output.where}`,
  );
}

/** Writes the documents in input order until all are done or a signal comes. */
async function annotateAll(pipeline: Pipeline, documents: Document[], output: AnnotationOutput) {
  const totals = { entities: 0, ungrounded: 0, invalid: 0, answers: 0 };
  const interruption = nextSignal();
  const results = annotateInOrder(pipeline.annotator, documents);
  let written = 0;
  try {
    for (;;) {
      const pending = results.next();
      // Abandoned at a signal, its failure no longer matters.
      pending.catch(() => undefined);
      const step = await Promise.race([pending, interruption.signal]);
      if (typeof step === 'string') return { totals, written, signal: step };
      if (step.done) return { totals, written, signal: undefined };
      const annotated = step.value;
      output.write(annotated);
      written++;
      totals.entities += annotated.entities.length;
      totals.ungrounded += annotated.ungrounded_count;
      totals.invalid += annotated.invalid_answer_count;
      totals.answers += annotated.sentence_count * pipeline.types.length;
    }
  } finally {
    interruption.stop();
  }
}

/** Empty documents among others are kept, with no entities, and said; the types a document names are checked as --types is. */
function checkDocuments(documents: Document[], entityTypes: EntityTypes): void {
  const empty = documents.filter((d) => d.text.trim() === '').map((d) => d.id);
  if (empty.length > 0) {
    console.error(`warning: ${empty.length} empty documents, written with no entities: ${empty.slice(0, 5).join(', ')}${empty.length > 5 ? ', ...' : ''}`);
  }
  for (const document of documents) {
    const problem = document.types?.length ? entityTypes.typeListProblem(document.types) : undefined;
    if (problem !== undefined) throw new UsageError(`document ${document.id}: ${problem}`);
  }
}

/** Where the answers of unfinished documents are, or how to keep them next time. */
function answersKept({ saveAnswers }: PipelineSettings): string {
  return saveAnswers
    ? `the model's answers so far are in ${saveAnswers}: the same command with --resume asks only for the rest`
    : 'the answers of unfinished documents are lost (--save-answers FILE keeps them, and --resume continues from it)';
}

/** A warning before a long run on a local model on CPU cores, with a guess of how long. */
function warnIfLong(answers: number, documents: number, settings: PipelineSettings): void {
  const local = !/^(oracle|replay|remote|openai):/.test(settings.model) && settings.engine.executionProvider === 'cpu';
  if (!local || answers <= LONG_RUN_ANSWERS) return;
  console.error(`warning: ${documents} documents need ${answers} answers from the model (sentences × types); at about ` +
    `${CPU_ANSWERS_PER_SECOND} a second on CPU cores that is about ${duration(answers / CPU_ANSWERS_PER_SECOND)}. ` +
    `--documents N annotates the first N${settings.saveAnswers ? '' : '; --save-answers FILE keeps every answer, and --resume continues from it after an interruption'}`);
}
