import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { readCorpus } from '../src/corpora/index.js';
import { baseFingerprint } from '../tools/model-import/base-fingerprint.js';
import { importModel } from '../tools/model-import/import-model.js';
import { ChatModel } from '../src/inference/onnx/chat-model.js';
import { mulberry32 } from '../src/seeded-random.js';
import { answerTurn, conversationFor, loadPromptTemplate } from '../src/stages/build-prompt.js';
import { buildDataset, type DatasetFiles } from '../tools/train/build-dataset.js';
import type { Recipe } from '../tools/train/recipe.js';
import { runPython, TRAINER_DIR, trainerPython } from '../tools/train/trainer-environment.js';
import { corpusConversations, sampleBalanced, tokeniseConversation, trainingSelection, type TrainingConversation } from '../tools/train/training-conversations.js';
import { maxDifference, onnxLogits } from './support/onnx-logits.js';
import { FIXTURES, testModelDir } from './support/paths.js';
import { writeTestModelCheckpoint } from './support/test-model-checkpoint.js';

const run = promisify(execFile);
const scratch = () => mkdtemp(join(tmpdir(), 'bioner-train-'));
const template = { ...loadPromptTemplate('conv_term'), dataset: 'JNLPBA' };
const text = 'IL-2 gene expression requires NF-kappa B in T cells .';
const conversation: TrainingConversation = {
  corpus: 'JNLPBA',
  sentence: { docId: 'd1', index: 0, start: 0, end: text.length, text },
  types: ['protein', 'dna', 'cell_line'],
  answers: [['NF-kappa B'], ['IL-2 gene'], []],
};

describe('training conversations', () => {
  test('the ids trained on are the engine\'s prompts, turn by turn; the loss covers exactly each answer and its end of turn', async () => {
    const model = await ChatModel.load({ modelDir: await testModelDir() });
    try {
      const tokenised = tokeniseConversation(model.tokenizer, model.stopTokenIds, template, conversation);
      const answers = conversation.answers.map((strings) => answerTurn(template, strings));
      assert.deepEqual(answers, ['Answer: ["NF-kappa B"]', 'Answer: ["IL-2 gene"]', 'Answer: []']);
      assert.equal(tokenised.answer_spans.length, 3);
      tokenised.answer_spans.forEach(([start, end], turn) => {
        const prompt = model.encode(conversationFor(template, text, conversation.types, answers.slice(0, turn)));
        assert.deepEqual(tokenised.ids.slice(0, start), prompt, `turn ${turn + 1}: the prompt the engine feeds`);
        const answer = model.tokenizer.encode(answers[turn]!, { add_special_tokens: false });
        assert.deepEqual(tokenised.ids.slice(start, end), [...answer, model.stopTokenIds[0]!], `turn ${turn + 1}: the answer`);
      });
      const masked = tokenised.answer_spans.reduce((n, [s, e]) => n + e - s, 0);
      const expected = answers.reduce((n, a) => n + model.tokenizer.encode(a, { add_special_tokens: false }).length + 1, 0);
      assert.equal(masked, expected, 'nothing but the answers and their end-of-turn tokens is trained on');
      assert.match(model.tokenizer.decode(tokenised.ids), /Follow JNLPBA guidelines\./);
    } finally {
      await model.close();
    }
  });

  test('every sentence asks all of its corpus\'s types, in a shuffled order; absent types are answered []', () => {
    const corpus = {
      documents: [{ id: 'p', source: 'pubmed' as const, text: 'Cisplatin caused nephrotoxicity. Rats were given saline.' }],
      mentions: [
        { docId: 'p', start: 0, end: 9, text: 'Cisplatin', type: 'Chemical' },
        { docId: 'p', start: 17, end: 31, text: 'nephrotoxicity', type: 'Disease' },
      ],
      relations: [],
      warnings: [],
    };
    const labels: Record<string, string> = { Chemical: 'chemical', Disease: 'disease' };
    const { conversations, crossingMentions } = corpusConversations(corpus, 'BC5CDR', ['chemical', 'disease'], (l) => labels[l]!, mulberry32(3));
    assert.equal(crossingMentions, 0);
    const answersOf = (c: TrainingConversation) => Object.fromEntries(c.types.map((t, i) => [t, c.answers[i]]));
    assert.deepEqual(conversations.map(answersOf), [
      { chemical: ['Cisplatin'], disease: ['nephrotoxicity'] },
      { chemical: [], disease: [] },
    ]);
    const orders = new Set(Array.from({ length: 20 }, (_, seed) =>
      corpusConversations(corpus, 'BC5CDR', ['chemical', 'disease'], (l) => labels[l]!, mulberry32(seed)).conversations[0]!.types.join()));
    assert.equal(orders.size, 2, 'both type orders occur');
  });
});

test('a balanced sample keeps at most the given share of all-empty conversations, and every one that names something if it can', () => {
  const make = (named: boolean, i: number): TrainingConversation => ({ ...conversation, sentence: { ...conversation.sentence, index: i },
    answers: conversation.answers.map((a) => (named ? a : [])) });
  const items = [...Array.from({ length: 30 }, (_, i) => make(true, i)), ...Array.from({ length: 170 }, (_, i) => make(false, 30 + i))];
  const empty = (cs: TrainingConversation[]) => cs.filter((c) => c.answers.every((a) => a.length === 0)).length;
  const kept = sampleBalanced(items, 100, 0.5, mulberry32(7));
  assert.deepEqual([kept.length, empty(kept)], [60, 30], 'all 30 that name something, and as many empty ones');
  const capped = sampleBalanced(items, 20, 0.25, mulberry32(7));
  assert.deepEqual([capped.length, empty(capped)], [20, 5]);
  assert.deepEqual(kept.map((c) => c.sentence.index), kept.map((c) => c.sentence.index).toSorted((a, b) => a - b), 'in corpus order');
});

test('a corpus with repeat N trains each kept conversation N times; the cap and balance apply before it', () => {
  const items = Array.from({ length: 10 }, (_, i): TrainingConversation => ({ ...conversation, sentence: { ...conversation.sentence, index: i } }));
  const once = trainingSelection(items, { cap: 4 }, mulberry32(3));
  const thrice = trainingSelection(items, { cap: 4, repeat: 3 }, mulberry32(3));
  assert.equal(once.length, 4);
  assert.deepEqual(thrice, [...once, ...once, ...once]);
});

test('a corpus with several train sources pools their sentences before the cap; devel reads its one source', async () => {
  const sample = join(FIXTURES, 'ncbi-disease-sample.pubtator');
  const recipe = (train: string[]): Recipe => ({
    name: 'pooled', base: 'default', template: 'conv_term', seed: 1, devel_cap: 1000, training: {},
    corpora: [{ name: 'NCBI-disease', labels: 'ncbi-disease', format: 'pubtator', cap: 10_000,
      train: train.map((file) => ({ file, format: 'pubtator' })), devel: { file: sample, format: 'pubtator' } }],
  });
  const modelDir = await testModelDir();
  const one = await buildDataset(recipe([sample]), modelDir, await scratch());
  const two = await buildDataset(recipe([sample, sample]), modelDir, await scratch());
  const sentences = (files: DatasetFiles, split: 'train' | 'devel') => files.stats.find((s) => s.split === split)!.sentences;
  assert.ok(sentences(one, 'train') > 0);
  assert.equal(sentences(two, 'train'), 2 * sentences(one, 'train'));
  assert.equal((await readFile(two.train, 'utf8')).trim().split('\n').length, 2 * sentences(one, 'train'));
  assert.equal(sentences(two, 'devel'), sentences(one, 'devel'));
});

/** Conversations from the bundled NCBI-disease sample, tokenised for the test model, as train.jsonl and devel.jsonl. */
async function sampleDataset(dir: string): Promise<void> {
  const model = await ChatModel.load({ modelDir: await testModelDir() });
  try {
    const corpus = await readCorpus(join(FIXTURES, 'ncbi-disease-sample.pubtator'), 'pubtator');
    const { conversations } = corpusConversations(corpus, 'NCBI-disease', ['disease'], () => 'disease', mulberry32(1));
    const lines = conversations.map((c) => JSON.stringify(tokeniseConversation(model.tokenizer, model.stopTokenIds,
      { ...template, dataset: 'NCBI-disease' }, c)));
    await writeFile(join(dir, 'train.jsonl'), `${lines.join('\n')}\n`);
    await writeFile(join(dir, 'devel.jsonl'), `${lines.slice(0, 3).join('\n')}\n`);
  } finally {
    await model.close();
  }
}

/** A scratch folder with the sample dataset and the test model as a checkpoint in base/. */
async function trainingDir(): Promise<string> {
  const dir = await scratch();
  await sampleDataset(dir);
  await writeTestModelCheckpoint(join(dir, 'base'));
  return dir;
}

describe('the trainer (PyTorch, peft) on the generated test model', { timeout: 15 * 60_000 }, () => {
  const trainArgs = async (dir: string, extra: string[]) => {
    const modelDir = await testModelDir();
    return [join(TRAINER_DIR, 'train.py'), '--data', dir, '--base', join(dir, 'base'), '--tokenizer', join(modelDir, 'tokenizer.json'),
      '--stop-ids', '151645,151643', '--out', join(dir, 'out'), '--max-new-tokens', '8', '--threads', '1', ...extra];
  };
  const progress = (dir: string) => JSON.parse(readFileSync(join(dir, 'out', 'checkpoint', 'progress.json'), 'utf8')) as
    { step: number; losses: number[] };
  /** The checkpointed step, 0 while there is none (or it is being swapped for a newer one). */
  const checkpointedStep = (dir: string) => {
    try {
      return progress(dir).step;
    } catch {
      return 0;
    }
  };

  test('a short LoRA run lowers the loss and keeps the best adapter in PEFT format', async () => {
    const python = await trainerPython((line) => console.error(line));
    const dir = await trainingDir();
    await runPython(python, await trainArgs(dir, ['--max-steps', '40', '--epochs', '20', '--learning-rate', '0.01', '--evals-per-run', '1']));
    const { losses, step } = progress(dir);
    assert.equal(step, 40);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(losses.slice(-5)) < 0.7 * mean(losses.slice(0, 5)), `loss ${mean(losses.slice(0, 5))} → ${mean(losses.slice(-5))}`);
    for (const file of ['adapter_config.json', 'adapter_model.safetensors', 'training_state.json']) {
      assert.ok(existsSync(join(dir, 'out', 'best', file)), `best/${file}`);
    }
    assert.ok((await readFile(join(dir, 'out', 'curve.jsonl'), 'utf8')).includes('"devel"'));
  });

  test('shared-prefix batches give the loss and the LoRA gradients of the padded batch (within 1e-6)', async () => {
    const python = await trainerPython((line) => console.error(line));
    const dir = await trainingDir();
    const check = await trainerCheck(python, ['shared-prefix', dir, join(dir, 'base')]);
    assert.ok(check.rows > 1 && check.prefix > 10, `the batch shares a prefix across rows: ${JSON.stringify(check)}`);
    assert.ok(check.loss_difference < 1e-6, `loss differs by ${check.loss_difference}`);
    assert.ok(check.gradient_scale > 1e-3, 'the gradients are not all zero, so the comparison can fail');
    assert.ok(check.gradient_difference < 1e-6, `gradients differ by ${check.gradient_difference} (largest ${check.gradient_scale})`);
  });

  test('devel answers batched with their shared prefix fed once are generate()\'s, prompt by prompt', async () => {
    const python = await trainerPython((line) => console.error(line));
    const dir = await trainingDir();
    const check = await trainerCheck(python, ['greedy', dir, join(dir, 'base')]);
    assert.ok(check.prompts >= 3 && check.lengths.length > 1 && check.tokens > check.prompts, `prompts of several lengths, answers of several tokens: ${JSON.stringify(check)}`);
    assert.equal(check.same, check.prompts);
  });

  test('--precision auto takes the faster of its two timings, fp32 on a tie', async () => {
    const python = await trainerPython((line) => console.error(line));
    assert.deepEqual(await trainerCheck(python, ['precision']), { bf16_faster: 'bf16', fp32_faster: 'fp32', tie: 'fp32' });
  });

  test('--init-adapter continues from the adapter: its first loss is the adapter\'s on that batch; tokens and curve carry over', async () => {
    const python = await trainerPython((line) => console.error(line));
    const dir = await trainingDir();
    const first = await trainArgs(dir, ['--max-steps', '6', '--epochs', '20', '--learning-rate', '0.01', '--lora-dropout', '0', '--evals-per-run', '1']);
    await runPython(python, first);
    const adapter = join(dir, 'adapter');
    await cp(join(dir, 'out', 'best'), adapter, { recursive: true });
    await rm(join(dir, 'out'), { recursive: true });
    // fp32 as the reference loss is: where --precision auto takes bf16, the step's loss moves by about 0.3 %.
    await runPython(python, await trainArgs(dir, ['--init-adapter', adapter, '--max-steps', '1', '--epochs', '20', '--evals-per-run', '1', '--precision', 'fp32']));

    // A continuing run draws its batches with the seed after the last run's (the trainer's default seed is 13).
    const { loss } = await trainerCheck(python, ['adapter-loss', dir, join(dir, 'base'), adapter, '14']);
    const continued = progress(dir).losses[0]!;
    assert.ok(Math.abs(continued - loss) < 1e-4, `first loss ${continued}, the adapter's ${loss}`);
    await rm(join(dir, 'out'), { recursive: true });
    await runPython(python, await trainArgs(dir, ['--max-steps', '1', '--epochs', '20', '--seed', '14', '--evals-per-run', '1']));
    assert.ok(Math.abs(progress(dir).losses[0]! - loss) > 1e-2, 'a fresh adapter starts elsewhere, so the comparison can fail');

    const before = JSON.parse(await readFile(join(adapter, 'training_state.json'), 'utf8'));
    // out/ still holds the fresh run's checkpoint: a run from the adapter must not resume it.
    await runPython(python, await trainArgs(dir, ['--init-adapter', adapter, '--max-steps', '2', '--epochs', '20', '--evals-per-run', '1']));
    const after = JSON.parse(await readFile(join(dir, 'out', 'best', 'training_state.json'), 'utf8'));
    assert.equal(after.runs.length, 2);
    assert.equal(after.runs[1].init_adapter, adapter, 'an adapter outside the project is recorded by its absolute path');
    assert.equal(after.tokens_total, before.tokens_total + after.kept.tokens, 'the tokens in the kept weights');
    assert.deepEqual(after.curve.slice(0, before.curve.length), before.curve, 'the earlier run\'s curve is kept');
    assert.deepEqual(after.curve.slice(before.curve.length).map((p: { run: number; step: number }) => [p.run, p.step]), [[2, 0], [2, 2]],
      'the adapter as it came, scored first, then this run');
  });

  test('--evals-per-run 0 evaluates nothing and keeps the last weights', async () => {
    const python = await trainerPython((line) => console.error(line));
    const dir = await trainingDir();
    await runPython(python, await trainArgs(dir, ['--max-steps', '3', '--epochs', '20', '--evals-per-run', '0']));
    const state = JSON.parse(await readFile(join(dir, 'out', 'best', 'training_state.json'), 'utf8'));
    assert.equal(state.kept.step, 3);
    assert.equal(state.kept.devel, undefined);
    assert.deepEqual(state.curve, []);
  });

  test('full fine-tuning writes a checkpoint directory that imports like any other', async () => {
    const python = await trainerPython((line) => console.error(line));
    const dir = await trainingDir();
    await runPython(python, await trainArgs(dir, ['--method', 'full', '--max-steps', '3', '--evals-per-run', '1']));
    const imported = await importModel(join(dir, 'out', 'best'), join(dir, 'model'));
    assert.equal(imported.format, 'hf-checkpoint');
    assert.equal(imported.config.hidden_size, 64);
  });

  test('a run killed after a checkpoint resumes from it and finishes the same steps', async () => {
    const python = await trainerPython((line) => console.error(line));
    const dir = await trainingDir();
    const args = await trainArgs(dir, ['--max-steps', '400', '--epochs', '100', '--checkpoint-steps', '2', '--evals-per-run', '1']);
    const first = spawn(python, args, { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => first.on('exit', (_, signal) => resolve(signal)));
    while (checkpointedStep(dir) < 4) await sleep(50);
    first.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', 'the first run was still going when it was killed');
    const killedAt = progress(dir).step;
    assert.ok(killedAt < 400);

    const second = spawn(python, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    second.stderr.on('data', (chunk) => { log += chunk; });
    assert.equal(await new Promise((resolve) => second.on('exit', resolve)), 0, log);
    assert.match(log, new RegExp(`resumed from step ${killedAt} `));
    const { step, losses } = progress(dir);
    assert.equal(step, 400);
    assert.equal(losses.length, 400, 'each step trained once, counting from the checkpoint');
  });
});

/** Runs test/support/trainer_checks.py and reads its JSON. */
async function trainerCheck(python: string, args: string[]): Promise<Record<string, any>> {
  const { stdout } = await run(python, [join('test', 'support', 'trainer_checks.py'), ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

describe('adapter merge into ONNX', { timeout: 15 * 60_000 }, () => {
  const TOKENS = [151644, 872, 198, 9707, 11, 1879, 0, 151645, 198, 151644, 77091, 198];

  test('the merged ONNX model gives the logits of PEFT\'s model with the adapter (within 1e-5 of their range)', async () => {
    const python = await trainerPython((line) => console.error(line));
    const dir = await scratch();
    const base = await writeTestModelCheckpoint(join(dir, 'base'));
    await runPython(python, [join('test', 'support', 'peft_reference.py'), base, join(dir, 'adapter'), join(dir, 'peft.f32'), TOKENS.join(',')]);
    const reference = new Float32Array((await readFile(join(dir, 'peft.f32'))).buffer.slice(0));

    const merged = await importModel(base, join(dir, 'merged'), { adapter: join(dir, 'adapter') });
    assert.equal(merged.adapter?.dir, join(dir, 'adapter'));
    const withAdapter = await onnxLogits(join(dir, 'merged', 'onnx', 'model.onnx'), TOKENS);
    // The random test model's logits span about ±40, so float32 rounding alone is ~1e-4 absolute.
    const range = maxDifference(reference, new Float32Array(reference.length));
    const difference = maxDifference(withAdapter, reference);
    assert.ok(difference < 1e-5 * range, `merged logits differ from PEFT's by ${difference} (range ${range})`);
    await importModel(base, join(dir, 'plain'));
    const without = await onnxLogits(join(dir, 'plain', 'onnx', 'model.onnx'), TOKENS);
    assert.ok(maxDifference(without, reference) > 1e-2, 'the adapter changes the logits, so the comparison can fail');

    // Trained on these weights (as `bioner-stream train` records), merged into others of the same shape: refused.
    await writeFile(join(dir, 'adapter', 'bioner_base.json'), JSON.stringify(await baseFingerprint(base)));
    const other = await writeTestModelCheckpoint(join(dir, 'other'), 99);
    await assert.rejects(importModel(other, join(dir, 'wrong'), { adapter: join(dir, 'adapter') }),
      /adapter was trained on base \(sha256 [0-9a-f]{12}…\), not on other/);
    assert.equal(existsSync(join(dir, 'wrong')), false, 'nothing is written for a refused adapter');
  });
});
