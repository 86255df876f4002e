// `bioner-stream annotate`: a corpus file in; EntityRecords (JSON lines), PubTator or BioC out.
import { createWriteStream, existsSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { annotationWriter, OUTPUT_FORMATS } from '../corpora/annotation-writers.js';
import { CORPUS_FORMATS, firstDocuments, readCorpus } from '../corpora/index.js';
import { annotateInOrder } from '../pipeline/annotate-in-order.js';
import { assemblePipeline } from '../pipeline/assemble-pipeline.js';
import { DOCUMENTS, PIPELINE_OPTIONS, pipelineSettings } from './common-options.js';
import { choice, list, parseCommandLine, text, UsageError } from './options.js';
import { ProgressBar } from './progress.js';

const OPTIONS = {
  input: text('FILE', 'the corpus to annotate', { required: true }),
  'input-format': choice(CORPUS_FORMATS, 'how the corpus is written', { required: true }),
  ...DOCUMENTS,
  types: list('LIST', 'entity types to ask for, e.g. disease,chemical', { required: true }),
  output: text('OUT', 'where the annotations go, written as --output-format says', { required: true }),
  'output-format': choice(OUTPUT_FORMATS, 'jsonl: one EntityRecord a line; pubtator: with concept ids, as the BioCreative V ' +
    'CDR evaluator reads it; bioc-xml, bioc-json: BioC collections', 'jsonl'),
  ...PIPELINE_OPTIONS,
};

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream annotate --input FILE --input-format FORMAT --model MODEL --types LIST --output OUT [options]',
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

export async function annotateCommand(argv: string[]): Promise<void> {
  const config = annotateConfig(argv);
  if (!existsSync(config.input)) throw new UsageError(`cannot read input ${config.input}: no such file`);
  const corpus = firstDocuments(await readCorpus(config.input, config.inputFormat), config.documents);
  for (const warning of corpus.warnings) console.error(`warning: ${warning}`);
  const pipeline = await assemblePipeline(config.pipeline);
  try {
    const { entityTypes, types } = pipeline;
    const out = createWriteStream(config.output);
    const writer = annotationWriter(config.outputFormat, (type) => entityTypes.label(type, 'pubtator'));
    out.write(writer.start());
    const progress = new ProgressBar(corpus.documents.length, 'docs');
    const totals = { entities: 0, ungrounded: 0, invalid: 0, answers: 0 };
    for await (const annotated of annotateInOrder(pipeline.annotator, corpus.documents)) {
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
        `${totals.invalid} invalid answers of ${totals.answers} → ${config.output}`,
    );
  } finally {
    await pipeline.close();
  }
}
