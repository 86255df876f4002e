import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PromptTemplate } from '../src/domain/prompt-template.js';
import type { Query } from '../src/domain/types.js';
import { ChatModel } from '../src/inference/onnx/chat-model.js';
import { ConversationEngine, type AnsweredBatch, type InferenceMode } from '../src/inference/onnx/conversation-engine.js';
import { conversationFor, loadPromptTemplate } from '../src/stages/build-prompt.js';
import { decodeAnswer } from '../src/stages/decode-answer.js';
import { groundMentions } from '../src/stages/ground-mentions.js';
import { testModelDir } from './support/paths.js';
import { buildScriptedModel } from './support/scripted-model.js';

const IM_END = 151645;
const TYPES = ['protein', 'dna', 'rna', 'cell_type', 'cell_line'];
const TEXTS = [
  'Activation of the CD28 surface receptor provides a major costimulatory signal for T cell activation .',
  'BCL6 is expressed in Jurkat cells but not in "resting" T cells .',
  'The IL-2 gene is transcribed in activated human T lymphocytes .',
];
const convTerm = loadPromptTemplate('conv_term');
const universalNer = loadPromptTemplate('universalner');

const queriesOf = (texts: string[], types = TYPES): Query[] =>
  texts.map((text, i) => ({ sentence: { docId: `d${i}`, index: 0, start: 0, end: text.length, text }, types }));
const raws = (batch: AnsweredBatch) => batch.answers.map((answers) => answers.map((a) => a.raw));

let model: ChatModel;
let engine: ConversationEngine;
const runs = new Map<string, Promise<AnsweredBatch>>();

/** Each configuration runs once; tests share the results. */
function run(template: PromptTemplate, inferenceMode: InferenceMode, constrained: boolean, texts = TEXTS): Promise<AnsweredBatch> {
  const key = JSON.stringify([template.name, inferenceMode, constrained, texts]);
  if (!runs.has(key)) runs.set(key, engine.answer(queriesOf(texts), { template, inferenceMode, constrained, maxNewTokens: 8 }));
  return runs.get(key)!;
}

before(async () => {
  model = await ChatModel.load({ modelDir: await testModelDir(), intraOpNumThreads: 1 });
  engine = new ConversationEngine(model, 512);
});
after(() => model?.close());

/** Same answers, same generated tokens, and confidences equal up to float rounding. */
function assertSameAnswers(actual: AnsweredBatch, expected: AnsweredBatch): void {
  assert.deepEqual(raws(actual), raws(expected));
  assert.equal(actual.stats.generatedTokens, expected.stats.generatedTokens);
  actual.answers.flat().forEach((answer, i) => {
    const reference = expected.answers.flat()[i]!.confidences!;
    assert.deepEqual(Object.keys(answer.confidences!), Object.keys(reference));
    for (const [mention, c] of Object.entries(answer.confidences!)) assert.ok(Math.abs(c - reference[mention]!) <= 1e-4 * reference[mention]!);
  });
}

for (const constrained of [false, true]) {
  const label = constrained ? 'constrained' : 'unconstrained';

  test(`multi-turn reuse answers exactly as naive and feeds only what the cache lacks (${label})`, async () => {
    const [naive, reuse] = await Promise.all([run(convTerm, 'naive', constrained), run(convTerm, 'reuse', constrained)]);
    assertSameAnswers(reuse, naive);
    // Naive renders every turn in full: the same count, worked out here from its answers.
    const fullPrompts = raws(naive).flatMap((answers, i) =>
      TYPES.map((_, turn) => model.encode(conversationFor(convTerm, TEXTS[i]!, TYPES, answers.slice(0, turn))).length),
    );
    const total = fullPrompts.reduce((a, b) => a + b, 0);
    assert.equal(naive.stats.promptTokens, total);
    assert.equal(naive.stats.cachedPromptTokens, 0);
    assert.equal(reuse.stats.promptTokens + reuse.stats.cachedPromptTokens, total);
    assert.ok(reuse.stats.promptTokens < total / 2, `${reuse.stats.promptTokens} of ${total} fed`);
  });

  test(`independent prompts share their prefix and answer exactly as naive (${label})`, async () => {
    const [naive, reuse] = await Promise.all([run(universalNer, 'naive', constrained), run(universalNer, 'reuse', constrained)]);
    assertSameAnswers(reuse, naive);
    assert.ok(reuse.stats.promptTokens < naive.stats.promptTokens / 2);
    // Per sentence: the shared prefix once, then each type's own tail.
    assert.ok(reuse.stats.cachedPromptTokens > 4 * reuse.stats.promptTokens / 2);
  });

  test(`a batch answers exactly as its sentences one by one (${label})`, async () => {
    for (const template of [convTerm, universalNer]) {
      const batch = await run(template, 'reuse', constrained);
      for (const [i, text] of TEXTS.entries()) {
        assert.deepEqual(raws(await run(template, 'reuse', constrained, [text])), [raws(batch)[i]], `${template.name} ${i}`);
      }
    }
  });
}

test('constrained answers decode cleanly, every mention grounds and has a confidence', async () => {
  for (const template of [convTerm, universalNer]) {
    const batch = await run(template, 'reuse', true);
    let mentions = 0;
    batch.answers.forEach((answers, i) => {
      const sentence = queriesOf(TEXTS)[i]!.sentence;
      for (const answer of answers) {
        const decoded = decodeAnswer(answer.raw);
        assert.equal(decoded.status, 'ok', answer.raw);
        assert.deepEqual(groundMentions(sentence, decoded.mentions).ungrounded, [], answer.raw);
        for (const mention of decoded.mentions) {
          const confidence = answer.confidences![mention]!;
          assert.ok(confidence > 0 && confidence <= 1, `${mention}: ${confidence}`);
          mentions++;
        }
      }
    });
    assert.ok(mentions > 0, 'some answers should name mentions');
    assert.ok(batch.stats.constraintOverrides > 0, 'random weights are always overridden somewhere');
  }
});

test('turn boundaries fall on special tokens: a cached turn is a prefix of the next prompt', () => {
  const encodeText = (text: string) => model.tokenizer.encode(text, { add_special_tokens: false });
  const answers = ['Answer: ["BCL6"]', 'Answer: []', 'Answer: ["Jurkat cells", "T cells"]', 'Answer: []'];
  const text = TEXTS[1]!;
  for (let turn = 0; turn < answers.length; turn++) {
    const cached = [...model.encode(conversationFor(convTerm, text, TYPES, answers.slice(0, turn))), ...encodeText(answers[turn]!)];
    const next = model.encode(conversationFor(convTerm, text, TYPES, answers.slice(0, turn + 1)));
    assert.deepEqual(next.slice(0, cached.length), cached, `turn ${turn}`);
    assert.equal(next[cached.length], IM_END, 'the new tokens start at the end-of-turn token');
  }
  // Independent prompts differ only after the user turn that asks the question opens.
  const [protein, dna] = ['protein', 'dna'].map((type) => model.encode(conversationFor(universalNer, text, [type], [])));
  const common = protein!.findIndex((token, i) => token !== dna![i]);
  const opening = model.encode(conversationFor(universalNer, text, ['protein'], [])).slice(0, common);
  assert.match(model.tokenizer.decode(opening), /I've read this text\.<\|im_end\|>\n<\|im_start\|>user\nWhat describes$/);
});

describe('a model that answers validly', () => {
  let dir: string;
  let scripted: ChatModel;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bioner-scripted-'));
    const tiny = await testModelDir();
    const tokenizer = (await ChatModel.load({ modelDir: tiny, intraOpNumThreads: 1 })).tokenizer;
    // After the generation prompt's final newline: Answer: ["BCL6"] and the end of the turn.
    const chain = [198, ...tokenizer.encode('Answer: ["BCL6"]', { add_special_tokens: false }), IM_END];
    scripted = await ChatModel.load({ modelDir: await buildScriptedModel(dir, tiny, chain), intraOpNumThreads: 1 });
  });
  after(async () => {
    await scripted?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const answer = (text: string, constrained: boolean) =>
    new ConversationEngine(scripted, 512).answer(queriesOf([text], ['protein', 'dna']), {
      template: convTerm,
      inferenceMode: 'reuse',
      constrained,
      maxNewTokens: 12,
    });

  test('its valid answers come out the same with and without the constraint', async () => {
    const [free, constrained] = await Promise.all([answer(TEXTS[1]!, false), answer(TEXTS[1]!, true)]);
    assert.deepEqual(raws(free), [['Answer: ["BCL6"]', 'Answer: ["BCL6"]']]);
    assert.deepEqual(raws(constrained), raws(free));
    assert.equal(constrained.stats.constraintOverrides, 0);
    assert.ok(constrained.answers[0]![0]!.confidences!.BCL6! > 0.99);
  });

  test('naming what is not in the sentence, it is overridden into an answer that grounds', async () => {
    const [free, constrained] = await Promise.all([answer(TEXTS[2]!, false), answer(TEXTS[2]!, true)]);
    assert.deepEqual(raws(free), [['Answer: ["BCL6"]', 'Answer: ["BCL6"]']]);
    assert.ok(constrained.stats.constraintOverrides > 0);
    for (const { raw } of constrained.answers[0]!) {
      const decoded = decodeAnswer(raw);
      assert.equal(decoded.status, 'ok', raw);
      assert.ok(!decoded.mentions.includes('BCL6'));
      assert.deepEqual(groundMentions(queriesOf([TEXTS[2]!])[0]!.sentence, decoded.mentions).ungrounded, []);
    }
  });
});
