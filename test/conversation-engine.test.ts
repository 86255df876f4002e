import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PromptTemplate } from '../src/domain/prompt-template.js';
import type { Query } from '../src/domain/types.js';
import { ChatModel } from '../src/inference/onnx/chat-model.js';
import { ConversationEngine, type AnsweredBatch, type EngineOptions } from '../src/inference/onnx/conversation-engine.js';
import { ALL_FEATURES, type EngineFeatures } from '../src/inference/onnx/generation-scheduler.js';
import { KvCache } from '../src/inference/onnx/kv-cache.js';
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

/** Every prompt fed in full, one token per pass, the batch in lockstep: the reference. */
const NAIVE: EngineFeatures = {
  reuse: false, prefixCache: false, jumpForward: false, promptLookup: false, stepBatching: false, lastLogitsOnly: false,
};
/** The engine before the prefix cache, jump-forward and step-level batching. */
const REUSE_ONLY: EngineFeatures = { ...NAIVE, reuse: true };
const ENGINE_OPTIONS: EngineOptions = { prefillChunkTokens: 512, maxRows: 16, prefixCacheBytes: 64 * 2 ** 20 };

let model: ChatModel;
const runs = new Map<string, Promise<AnsweredBatch>>();

/** A fresh engine (an empty prefix cache) per configuration; each runs once and tests share the results. */
function run(template: PromptTemplate, features: EngineFeatures, constrained: boolean, texts = TEXTS): Promise<AnsweredBatch> {
  const key = JSON.stringify([template.name, features, constrained, texts]);
  if (!runs.has(key)) runs.set(key, answer(new ConversationEngine(model, ENGINE_OPTIONS), template, features, constrained, texts));
  return runs.get(key)!;
}

const answer = (engine: ConversationEngine, template: PromptTemplate, features: EngineFeatures, constrained: boolean, texts = TEXTS) =>
  engine.answer(queriesOf(texts), { template, features, constrained, maxNewTokens: 8 });

before(async () => {
  model = await ChatModel.load({ modelDir: await testModelDir(), intraOpNumThreads: 1 });
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
    const [naive, reuse] = await Promise.all([run(convTerm, NAIVE, constrained), run(convTerm, REUSE_ONLY, constrained)]);
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

  test(`every speed-up together answers exactly as naive, in both templates (${label})`, async () => {
    for (const template of [convTerm, universalNer]) {
      const [naive, all] = await Promise.all([run(template, NAIVE, constrained), run(template, ALL_FEATURES, constrained)]);
      assertSameAnswers(all, naive);
      assert.ok(all.stats.promptTokens < naive.stats.promptTokens / 2, `${template.name}: ${all.stats.promptTokens} fed`);
      assert.ok(all.stats.prefixCacheTokens > 0, `${template.name}: the sentences' shared prefix is fed once`);
    }
  });

  test(`a batch answers exactly as its sentences one by one (${label})`, async () => {
    for (const template of [convTerm, universalNer]) {
      const batch = await run(template, ALL_FEATURES, constrained);
      for (const [i, text] of TEXTS.entries()) {
        assert.deepEqual(raws(await run(template, ALL_FEATURES, constrained, [text])), [raws(batch)[i]], `${template.name} ${i}`);
      }
    }
  });
}

test('prefix-cache hits answer exactly as misses, batch and single, in both templates', async () => {
  for (const template of [convTerm, universalNer]) {
    const engine = new ConversationEngine(model, ENGINE_OPTIONS);
    const naive = await run(template, NAIVE, true);
    const first = await answer(engine, template, ALL_FEATURES, true);
    // The same sentences again, then each alone: now their whole first prompts are cached.
    const again = await answer(engine, template, ALL_FEATURES, true);
    assert.ok(again.stats.prefixCacheTokens > first.stats.prefixCacheTokens, `${template.name}: hits the second time`);
    assertSameAnswers(first, naive);
    assertSameAnswers(again, naive);
    for (const [i, text] of TEXTS.entries()) {
      assert.deepEqual(raws(await answer(engine, template, ALL_FEATURES, true, [text])), [raws(naive)[i]], `${template.name} ${i}`);
    }
  }
});

test('a prefix cache bounded to about one prompt evicts and stays exact', async () => {
  const prompt = model.encode(conversationFor(convTerm, TEXTS[0]!, TYPES, [])).length;
  const engine = new ConversationEngine(model, { ...ENGINE_OPTIONS, prefixCacheBytes: 1.5 * prompt * KvCache.bytesPerToken(model.layout) });
  for (let round = 0; round < 2; round++) assertSameAnswers(await answer(engine, convTerm, ALL_FEATURES, true), await run(convTerm, NAIVE, true));
  const { stats, bytes, maxBytes } = engine.loop.prefixes;
  assert.ok(stats.evictions > 0, 'entries were evicted');
  assert.ok(stats.hits > 0, 'and some were still hit');
  assert.ok(bytes <= maxBytes);
});

test('jump-forward and prompt-lookup answers equal step-by-step constrained answers', async () => {
  const stepByStep = { ...ALL_FEATURES, jumpForward: false, promptLookup: false };
  for (const template of [convTerm, universalNer]) {
    const [jumped, stepped] = await Promise.all([run(template, ALL_FEATURES, true), run(template, stepByStep, true)]);
    assertSameAnswers(jumped, stepped);
    assert.ok(jumped.stats.acceptedDraftTokens > 0, `${template.name}: drafts were kept`);
  }
});

test('a conversation that joins a running batch gets the same answers as alone', async () => {
  // Room for two conversations: the third joins when one leaves, while the other is mid-turn.
  const engine = new ConversationEngine(model, { ...ENGINE_OPTIONS, maxRows: 2 });
  const early = answer(engine, convTerm, ALL_FEATURES, true, TEXTS.slice(0, 2));
  await new Promise((resolve) => setTimeout(resolve, 30));
  const late = answer(engine, convTerm, ALL_FEATURES, true, TEXTS.slice(2));
  const joined = [...raws(await early), ...raws(await late)];
  for (const [i, text] of TEXTS.entries()) {
    assert.deepEqual([joined[i]], raws(await run(convTerm, NAIVE, true, [text])), `sentence ${i}`);
  }
});

test('constrained answers decode cleanly, every mention grounds and has a confidence', async () => {
  for (const template of [convTerm, universalNer]) {
    const batch = await run(template, ALL_FEATURES, true);
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

  const answer = (text: string, constrained: boolean, features = ALL_FEATURES) =>
    new ConversationEngine(scripted, ENGINE_OPTIONS).answer(queriesOf([text], ['protein', 'dna']), {
      template: convTerm,
      features,
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

  // Jump-forward: `Answer` and `:` come with each prompt's pass, and the end of turn needs no pass at all.
  // Prompt lookup: after `BCL` the sentence goes on with `6`, fed ahead and kept.
  const drafting = [
    ['jumpForward', 'jump-forward feeds the forced answer prefix with the prompt and ends the turn at the closing bracket', 4],
    ['promptLookup', 'prompt lookup feeds the rest of a mention copied from the sentence ahead', 2],
  ] as const;
  for (const [feature, title, kept] of drafting) {
    test(`${title}, answers unchanged`, async () => {
      const none = { ...ALL_FEATURES, jumpForward: false, promptLookup: false };
      const [drafted, stepped] = await Promise.all([answer(TEXTS[1]!, true, { ...none, [feature]: true }), answer(TEXTS[1]!, true, none)]);
      assert.deepEqual(raws(drafted), raws(stepped));
      assert.ok(drafted.stats.acceptedDraftTokens >= kept, `${drafted.stats.acceptedDraftTokens} draft tokens kept`);
      assert.ok(drafted.stats.forwardPasses < stepped.stats.forwardPasses, `${drafted.stats.forwardPasses} vs ${stepped.stats.forwardPasses} passes`);
    });
  }

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
