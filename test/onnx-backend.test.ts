import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import type { Answer, Document, Query } from '../src/domain/types.js';
import { createBackend } from '../src/inference/create-backend.js';
import type { ModelBackend } from '../src/inference/model-backend.js';
import { InferencePool } from '../src/inference/onnx/inference-pool.js';
import { ALL_FEATURES } from '../src/inference/onnx/generation-scheduler.js';
import { OnnxBackend } from '../src/inference/onnx/onnx-backend.js';
import { Annotator } from '../src/pipeline/annotator.js';
import { queryBatcher } from '../src/inference/query-batcher.js';
import { loadPromptTemplate } from '../src/stages/build-prompt.js';
import { EntityTypes } from '../src/stages/entity-types.js';
import { testModelDir } from './support/paths.js';

const template = loadPromptTemplate('conv_term');
const entityTypes = EntityTypes.load();
const TYPES = ['protein', 'cell_line'];
const document: Document = {
  id: 'doc1',
  source: 'pubmed',
  text: 'BCL6 is expressed in Jurkat cells. The IL-2 gene is transcribed in activated T lymphocytes.',
};
const queries: Query[] = [
  { sentence: { docId: 'doc1', index: 0, start: 0, end: 34, text: document.text.slice(0, 34) }, types: TYPES },
  { sentence: { docId: 'doc1', index: 1, start: 35, end: 92, text: document.text.slice(35) }, types: TYPES },
];
const provenance = { model_id: 'm', prompt_format: 'conv_term', pipeline_version: '0' };

function annotator(backend: ModelBackend): Annotator {
  const batcher = queryBatcher(backend, { batchSize: 8, batchWaitMs: 1, concurrency: 1 });
  return new Annotator({ batcher, entityTypes, defaultTypes: TYPES, provenance });
}

test('the ONNX backend answers through its worker pool; naive and reuse agree, and the work is counted', async () => {
  const pool = await InferencePool.start({ modelDir: await testModelDir(), threads: 1, intraOpNumThreads: 1 });
  try {
    const settings = { template, constrained: false, maxNewTokens: 6 };
    const naive = new OnnxBackend(pool, { ...settings, features: { ...ALL_FEATURES, reuse: false, prefixCache: false } });
    const reuse = new OnnxBackend(pool, { ...settings, features: { ...ALL_FEATURES, prefixCache: false } });
    const raws = (answers: Answer[][]) => answers.map((a) => a.map((x) => x.raw));
    assert.deepEqual(raws(await reuse.answer(queries)), raws(await naive.answer(queries)));
    const [n, r] = [naive.stats(), reuse.stats()];
    assert.deepEqual([n.batches, n.answers, n.cachedPromptTokens, n.constraintOverrides], [1, 4, 0, 0]);
    assert.ok(r.promptTokens < n.promptTokens && r.cachedPromptTokens > 0);
    assert.equal(r.promptTokens + r.cachedPromptTokens, n.promptTokens);
    assert.equal(r.generatedTokens, n.generatedTokens);
    assert.ok(n.forwardSeconds > 0);
  } finally {
    await pool.close();
  }
});

test('a crashed inference thread is replaced by exactly one worker; a call made while it starts waits for it and is answered', { timeout: 120_000 }, async () => {
  const pool = await InferencePool.start({ modelDir: await testModelDir(), threads: 1, intraOpNumThreads: 1 });
  try {
    const [crashed] = pool['workers'];
    // A message the thread cannot read throws in its handler: an uncaught exception, so 'error' and then 'exit'.
    const exited = new Promise((resolve) => crashed!.thread.once('exit', resolve));
    crashed!.thread.postMessage(null);
    await exited;
    assert.equal(pool.replacements, 1);
    assert.equal(pool['workers'][0], crashed, 'the replacement is still starting');
    const { completions } = await pool.complete([[{ role: 'user', content: 'Name a protein.' }]], 2);
    assert.equal(completions.length, 1);
    assert.notEqual(pool['workers'][0], crashed);
    assert.equal(pool.size, 1);
    assert.equal(pool.replacements, 1);
  } finally {
    await pool.close();
  }
});

test('by default a model directory gets constrained, cache-reusing inference, and entities carry confidences', async () => {
  const backend = await createBackend(await testModelDir(), { template, entityTypes, engine: { threads: 1, maxNewTokens: 12 } });
  try {
    assert.ok(backend instanceof OnnxBackend);
    assert.deepEqual(backend.settings.features, ALL_FEATURES);
    assert.equal(backend.settings.constrained, true);
    const annotated = await annotator(backend).annotate(document);
    assert.equal(annotated.invalid_answer_count, 0);
    assert.equal(annotated.ungrounded_count, 0);
    assert.ok(annotated.entities.length > 0);
    for (const entity of annotated.entities) {
      assert.ok(entity.confidence !== null && entity.confidence > 0 && entity.confidence <= 1, JSON.stringify(entity));
    }
    const counted = backend.stats!();
    assert.equal(counted.answers, queries.length * TYPES.length);
    assert.ok(counted.constraintOverrides > 0);
  } finally {
    await backend.close();
  }
});

test('an entity takes the confidence its answer gives its string; none when the backend gives none', async () => {
  const stub = (confidences?: Record<string, number>): ModelBackend => ({
    modelId: 'stub',
    answer: async (batch) =>
      batch.map((q) => q.types.map((type) => ({ type, raw: 'Answer: ["BCL6", "Jurkat cells"]', ...(confidences ? { confidences } : {}) }))),
    close: async () => {},
  });
  const sure = await annotator(stub({ BCL6: 0.9, 'Jurkat cells': 0.25 })).annotate(document);
  const byText = new Map(sure.entities.map((e) => [`${e.text}/${e.type}`, e.confidence]));
  assert.equal(byText.get('BCL6/protein'), 0.9);
  assert.equal(byText.get('Jurkat cells/cell_line'), 0.25);
  const unsure = await annotator(stub()).annotate(document);
  assert.ok(unsure.entities.length > 0 && unsure.entities.every((e) => e.confidence === null));
});

test('close() during a call lets the worker finish its pass and exit by itself: the call fails, the process lives on', async () => {
  const pool = await InferencePool.start({ modelDir: await testModelDir(), threads: 1, intraOpNumThreads: 1 });
  const [worker] = pool['workers'];
  const exitCode = once(worker!.thread, 'exit');
  const chats = Array.from({ length: 16 }, (_, i) => [{ role: 'user' as const, content: `Name ${i} proteins and describe each. `.repeat(20) }]);
  const call = pool.complete(chats, 300);
  call.catch(() => {});
  await delay(300);
  // Ending the thread under ONNX Runtime's run would abort this process (and fail the test file).
  await pool.close();
  await assert.rejects(call, /the generation loop has stopped/);
  assert.deepEqual(await exitCode, [0], 'exited by itself, not terminated');
  await assert.rejects(pool.complete(chats, 1), /the inference pool is closed/);
});
