// bioner-stream as a library: `import { createAnnotator } from 'bioner-stream'`. The annotator is
// the pipeline `run` and `annotate` assemble, with the same defaults; only what the caller names
// differs from them.
import { defaultPipelineSettings } from '../cli/common-options.js';
import type { AnnotatedDocument, Document, EntityRecord } from '../domain/types.js';
import { annotateInOrder } from '../pipeline/annotate-in-order.js';
import { assemblePipeline, type PipelineSettings } from '../pipeline/assemble-pipeline.js';

export type { AnnotatedDocument, Document, EntityRecord } from '../domain/types.js';
export type { PipelineSettings } from '../pipeline/assemble-pipeline.js';

export interface AnnotatorConfig extends Partial<Omit<PipelineSettings, 'engine' | 'queryBatches' | 'remote'>> {
  /** A model directory (`bioner-stream import`, or `npm run model:fetch` for the shipped one), or `remote:URL`/`openai:URL`. */
  model: string;
  /** Entity types asked when a document names none (default: disease). */
  types?: string[];
  engine?: Partial<PipelineSettings['engine']>;
  queryBatches?: Partial<PipelineSettings['queryBatches']>;
  remote?: PipelineSettings['remote'];
}

export interface BionerAnnotator {
  /** The entities of one text or document, in offset order. */
  annotate(input: string | Document): Promise<EntityRecord[]>;
  /** The entities of each document, in input order. */
  annotate(input: Document[]): Promise<EntityRecord[][]>;
  /** Each document with its entities, in input order, several in flight at once. */
  annotateAll(documents: Iterable<Document> | AsyncIterable<Document>): AsyncGenerator<AnnotatedDocument>;
  /** Ends the model's threads; the annotator answers nothing after. */
  close(): Promise<void>;
}

export async function createAnnotator(config: AnnotatorConfig): Promise<BionerAnnotator> {
  const defaults = defaultPipelineSettings(config.model, config.types ?? ['disease']);
  const settings: PipelineSettings = {
    ...defaults,
    ...config,
    types: config.types ?? defaults.types,
    engine: { ...defaults.engine, ...config.engine },
    queryBatches: { ...defaults.queryBatches, ...config.queryBatches },
    remote: { ...defaults.remote, ...config.remote },
  };
  const pipeline = await assemblePipeline(settings);
  let texts = 0;
  const asDocument = (input: string | Document): Document =>
    typeof input === 'string' ? { id: `text-${++texts}`, source: 'other', text: input } : input;
  const entitiesOf = async (input: string | Document) => (await pipeline.annotator.annotate(asDocument(input))).entities;

  async function annotate(input: string | Document): Promise<EntityRecord[]>;
  async function annotate(input: Document[]): Promise<EntityRecord[][]>;
  async function annotate(input: string | Document | Document[]): Promise<EntityRecord[] | EntityRecord[][]> {
    if (!Array.isArray(input)) return entitiesOf(input);
    const all: EntityRecord[][] = [];
    for await (const annotated of annotateInOrder(pipeline.annotator, input)) all.push(annotated.entities);
    return all;
  }
  return {
    annotate,
    annotateAll: (documents) => annotateInOrder(pipeline.annotator, documents),
    close: () => pipeline.close(),
  };
}
