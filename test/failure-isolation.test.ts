import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Document, Query } from '../src/domain/types.js';
import { InferenceUnavailableError, type ModelBackend } from '../src/inference/model-backend.js';
import { queryBatcher } from '../src/inference/query-batcher.js';
import { Annotator } from '../src/pipeline/annotator.js';
import { EntityTypes } from '../src/stages/entity-types.js';

const entityTypes = EntityTypes.load();
const provenance = { model_id: 'stub', prompt_format: 'conv_term', pipeline_version: '0' };
const doc = (id: string, text: string): Document => ({ id, source: 'pubmed', text });

/** A backend that fails every batch holding a sentence with `poison` in it, recording each batch's sentences. */
function poisonedBackend(failure: () => Error) {
  const batches: string[][] = [];
  const backend: ModelBackend = {
    modelId: 'stub',
    answer: async (queries: Query[]) => {
      batches.push(queries.map((q) => q.sentence.text));
      if (queries.some((q) => q.sentence.text.includes('poison'))) throw failure();
      return queries.map((q) => q.types.map((type) => ({ type, raw: 'Answer: ["BCL6"]' })));
    },
    close: async () => {},
  };
  return { backend, batches };
}

function annotator(backend: ModelBackend): Annotator {
  // Long enough a wait that both documents' sentences share the first batch.
  const batcher = queryBatcher(backend, { batchSize: 8, batchWaitMs: 20, concurrency: 1 });
  return new Annotator({ batcher, entityTypes, defaultTypes: ['protein'], provenance });
}

test('a document whose sentence breaks the batch fails alone; its neighbour in the batch is annotated', async () => {
  const { backend, batches } = poisonedBackend(() => new Error('the model choked'));
  const annotate = annotator(backend);
  const [good, bad] = await Promise.allSettled([
    annotate.annotate(doc('good', 'BCL6 is expressed. BCL6 binds DNA.')),
    annotate.annotate(doc('bad', 'This sentence is poison.')),
  ]);
  assert.equal(bad.status, 'rejected');
  assert.equal(good.status, 'fulfilled');
  assert.deepEqual(good.value.entities.map((e) => e.text), ['BCL6', 'BCL6']);
  assert.equal(batches[0]!.length, 3, 'the two documents shared the batch that failed');
  assert.ok(batches.slice(1).every((b) => b.length < 3), 'then went apart');
});

test('unavailable inference is nobody\'s fault: the batch fails whole, without being split', async () => {
  const { backend, batches } = poisonedBackend(() => new InferenceUnavailableError('no server answers'));
  const annotate = annotator(backend);
  const results = await Promise.allSettled([
    annotate.annotate(doc('good', 'BCL6 is expressed.')),
    annotate.annotate(doc('bad', 'This sentence is poison.')),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  assert.equal(batches.length, 1);
});
