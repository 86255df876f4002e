import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { mentionConfidences } from '../src/inference/mention-confidence.js';
import { AnswerGrammar, type GrammarState } from '../src/inference/onnx/answer-grammar.js';
import { loadTokenizer } from '../src/inference/onnx/chat-model.js';
import { ConstrainedPicker } from '../src/inference/onnx/constrained-picker.js';
import { argmax, softmaxDenominator } from '../src/inference/onnx/logits.js';
import { promptLookupDraft } from '../src/inference/onnx/prompt-lookup.js';
import { Vocabulary } from '../src/inference/onnx/vocabulary.js';
import { decodeAnswer } from '../src/stages/decode-answer.js';
import { groundMentions } from '../src/stages/ground-mentions.js';
import { testModelDir } from './support/paths.js';

const SENTENCE = 'BCL6 is expressed in Jurkat cells and "resting" β-globin+ cells .';
const IM_END = 151645;
const ENDOFTEXT = 151643;
const STOP = [IM_END, ENDOFTEXT];
const VOCAB = 151_936;
const utf8 = new TextEncoder();

function accepts(grammar: AnswerGrammar, text: string): GrammarState | null {
  return grammar.run(grammar.start, utf8.encode(text));
}

describe('answer grammar', () => {
  const convTerm = new AnswerGrammar('Answer: ', SENTENCE);

  test('accepts lists of strings from the sentence, with the usual spacing and escapes', () => {
    for (const answer of [
      'Answer: []',
      'Answer: ["BCL6"]',
      'Answer: ["BCL6","Jurkat cells"]',
      'Answer: [ "BCL6" , "Jurkat" ]',
      'Answer: ["\\"resting\\" β-globin+"]',
      'Answer: ["β"]',
      'Answer: ["BCL6", "BCL6"]',
    ]) {
      assert.equal(accepts(convTerm, answer)?.kind, 'done', answer);
    }
    assert.equal(accepts(new AnswerGrammar('', SENTENCE), '["Jurkat cells"]')?.kind, 'done');
  });

  test('accepts every prefix of a valid answer, so it can be generated token by token', () => {
    const answer = utf8.encode('Answer: ["Jurkat cells", "β-globin+"]');
    for (let n = 0; n <= answer.length; n++) assert.notEqual(convTerm.run(convTerm.start, answer.subarray(0, n)), null, `${n}`);
  });

  test('rejects strings not in the sentence, a wrong prefix and anything after the list', () => {
    for (const answer of [
      'Answer: ["BCL7"]',
      'Answer: ["bcl6"]',
      'Answer:["BCL6"]',
      '["BCL6"]',
      'Answer: [""]',
      'Answer: ["BCL6",]',
      'Answer: ["BCL6"] ',
      'Answer: ["BCL6"]]',
      "Answer: ['BCL6']",
      'Answer: [""resting""]', // the sentence's quotes must be escaped
      'Answer: ["Jurkat\ncells"]',
    ]) {
      assert.notEqual(accepts(convTerm, answer)?.kind, 'done', answer);
    }
  });

  test('a string may only close on a whole UTF-8 character', () => {
    const bytes = utf8.encode('Answer: ["β');
    const cut = convTerm.run(convTerm.start, bytes.subarray(0, bytes.length - 1))!; // half of β
    assert.equal(cut.kind, 'string');
    assert.equal(convTerm.step(cut, 0x22), null);
    assert.notEqual(convTerm.step(convTerm.run(convTerm.start, bytes)!, 0x22), null);
  });

  test('repair closes an answer cut off by the token limit, dropping the unfinished string', () => {
    const cases: [string, string][] = [
      ['Answer: ["BCL6", "Jurk', 'Answer: ["BCL6"]'],
      ['Answer: ["BCL6",', 'Answer: ["BCL6"]'],
      ['Answer: ["BCL6" ', 'Answer: ["BCL6" ]'],
      ['Answer: [', 'Answer: []'],
      ['Answ', 'Answer: []'],
      ['', 'Answer: []'],
      ['Answer: ["BCL6"]', 'Answer: ["BCL6"]'],
    ];
    for (const [cut, repaired] of cases) {
      assert.equal(convTerm.repair(cut), repaired, cut);
      assert.equal(decodeAnswer(repaired).status, 'ok');
    }
  });
});

describe('constrained picker over the Qwen vocabulary', () => {
  let vocabulary: Vocabulary;
  let tokenizer: PreTrainedTokenizer;
  const encode = (text: string) => tokenizer.encode(text, { add_special_tokens: false });

  before(async () => {
    const dir = await testModelDir();
    vocabulary = Vocabulary.load(join(dir, 'tokenizer.json'), VOCAB)!;
    tokenizer = await loadTokenizer(dir);
  });

  /** Logits with the given tokens ranked first, in order, over seeded noise. */
  function logitsFavouring(tokens: number[], seed: number): Float32Array {
    const logits = new Float32Array(VOCAB);
    let state = seed;
    for (let i = 0; i < VOCAB; i++) {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      logits[i] = (state / 2 ** 31) * 10;
    }
    tokens.forEach((token, rank) => (logits[token] = 30 - rank));
    return logits;
  }

  /** The oracle: every token of the vocabulary tried against the grammar. */
  function bestAllowedByBruteForce(grammar: AnswerGrammar, state: GrammarState, logits: Float32Array): number {
    let best = -1;
    for (let token = 0; token < VOCAB; token++) {
      const bytes = vocabulary.bytes(token);
      const allowed = STOP.includes(token) ? state.kind === 'done' : state.kind !== 'done' && !!bytes && grammar.run(state, bytes) !== null;
      if (allowed && (best < 0 || logits[token]! > logits[best]!)) best = token;
    }
    return best;
  }

  test('byte-level vocabulary: every ordinary token decodes to its bytes', () => {
    for (const text of ['Answer: ["β-globin", "IL-2"]', ' cells', '\n']) {
      const bytes = encode(text).flatMap((t) => [...vocabulary.bytes(t)!]);
      assert.equal(new TextDecoder().decode(Uint8Array.from(bytes)), text);
    }
    assert.equal(vocabulary.bytes(IM_END), undefined);
  });

  test('a valid answer the model prefers comes out unchanged, with no override', () => {
    const grammar = new AnswerGrammar('Answer: ', SENTENCE);
    const target = [...encode('Answer: ["Jurkat cells", "\\"resting\\""]'), IM_END];
    const picker = new ConstrainedPicker(vocabulary, grammar, STOP);
    const picked = target.map((token, step) => picker.pick(logitsFavouring([token], step), 0, VOCAB).token);
    assert.deepEqual(picked, target);
    assert.equal(picker.overrides, 0);
  });

  test('an invalid argmax is replaced by the best allowed token, as a full search of the vocabulary finds it', () => {
    const grammar = new AnswerGrammar('Answer: ', SENTENCE);
    const picker = new ConstrainedPicker(vocabulary, grammar, STOP);
    // The model wants `Answer: ["BCL7"]`: valid up to "BCL", then not.
    const wanted = [...encode('Answer: ["BCL7", "T cells"]'), IM_END];
    let state = grammar.start;
    const chosen: number[] = [];
    for (let step = 0; step < 24 && state.kind !== 'done'; step++) {
      const logits = logitsFavouring(wanted.slice(step, step + 1), 1000 + step);
      const expected = bestAllowedByBruteForce(grammar, state, logits);
      const { token } = picker.pick(logits, 0, VOCAB);
      assert.equal(token, expected, `step ${step}`);
      chosen.push(token);
      state = grammar.run(state, vocabulary.bytes(token) ?? new Uint8Array())!;
    }
    assert.ok(picker.overrides > 0);
    const raw = tokenizer.decode(chosen, { skip_special_tokens: true });
    assert.match(raw, /^Answer: \["BCL/);
  });

  test("the draft spells the rest of the answer prefix in longest-match tokens, and nothing once it is spelt", () => {
    const grammar = new AnswerGrammar('Answer: ', SENTENCE);
    const picker = new ConstrainedPicker(vocabulary, grammar, STOP);
    const draft = picker.draft();
    assert.equal(tokenizer.decode(draft), 'Answer: [');
    for (const token of draft) picker.pick(logitsFavouring([token], token), 0, VOCAB);
    assert.deepEqual(picker.draft(), []);
    assert.equal(picker.closed, false);
    picker.pick(logitsFavouring(encode(']'), 5), 0, VOCAB);
    assert.equal(picker.closed, true, 'after the closing bracket only the end of turn may follow');
  });

  test('prompt lookup drafts what follows the answer in the prompt, cut where the grammar refuses it', () => {
    const prompt = encode(`Text: ${SENTENCE}\nType: cell_line`);
    const admitted = (answer: string) => {
      const tokens = encode(answer);
      const picker = new ConstrainedPicker(vocabulary, new AnswerGrammar('Answer: ', SENTENCE), STOP);
      for (const token of tokens) picker.pick(logitsFavouring([token], token), 0, VOCAB);
      const draft = promptLookupDraft(prompt, tokens, 4);
      const text = (tokens: number[]) => (tokens.length > 0 ? tokenizer.decode(tokens) : '');
      return { draft: text(draft), admitted: text(draft.slice(0, picker.admissible(draft))) };
    };
    // ` "` may close the string, but `rest` may not follow a closed one.
    assert.deepEqual(admitted('Answer: ["Jurkat'), { draft: ' cells and "rest', admitted: ' cells and "' });
    // At the sentence's end the prompt goes on with ` .\n`, a token no string may hold.
    assert.deepEqual(admitted('Answer: ["β-globin+ cells'), { draft: ' .\nType: cell', admitted: '' });
    assert.deepEqual(promptLookupDraft(prompt, encode('Answer: ["nowhere'), 4), []);
  });

  test('whatever the logits, constrained answers decode cleanly and every mention grounds', () => {
    const sentences = [SENTENCE, 'Activation of the CD28 surface receptor provides a major costimulatory signal .', 'x'];
    for (const [i, text] of sentences.entries()) {
      for (const prefix of ['Answer: ', '']) {
        const grammar = new AnswerGrammar(prefix, text);
        const picker = new ConstrainedPicker(vocabulary, grammar, STOP);
        const tokens: number[] = [];
        for (let step = 0; step < 40; step++) {
          const { token } = picker.pick(logitsFavouring([], 77 * i + step), 0, VOCAB);
          if (STOP.includes(token)) break;
          tokens.push(token);
        }
        const raw = grammar.repair(tokenizer.decode(tokens, { skip_special_tokens: true }));
        const decoded = decodeAnswer(raw);
        assert.equal(decoded.status, 'ok', raw);
        const sentence = { docId: 'd', index: 0, start: 0, end: text.length, text };
        assert.deepEqual(groundMentions(sentence, decoded.mentions).ungrounded, [], raw);
      }
    }
  });
});

describe('logits', () => {
  test('the softmax denominator matches Math.exp over narrow and wide logits', () => {
    for (const spread of [1, 30, 200]) {
      const logits = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i * 12.9898) * spread);
      const best = argmax(logits, 0, logits.length);
      const max = logits[best]!;
      const exact = logits.reduce((sum, l) => sum + Math.exp(l - max), 0);
      const fast = softmaxDenominator(logits, 0, logits.length, max);
      assert.ok(Math.abs(fast - exact) / exact < 1e-9, `spread ${spread}: ${fast} vs ${exact}`);
      assert.ok(logits.every((l) => l <= max));
    }
  });
});

describe('mention confidence', () => {
  test('the geometric mean of the probabilities of the tokens spelling each string', () => {
    // Answer: ["BCL6", "T cells"] as tokens: `Answer: ["` `BC` `L6` `", "` `T` ` cells` `"]`
    const raw = 'Answer: ["BCL6", "T cells"]';
    const spans = [
      { start: 0, end: 10, probability: 0.9 },
      { start: 10, end: 12, probability: 0.5 },
      { start: 12, end: 14, probability: 0.8 },
      { start: 14, end: 18, probability: 0.9 },
      { start: 18, end: 19, probability: 0.4 },
      { start: 19, end: 25, probability: 0.9 },
      { start: 25, end: 27, probability: 0.99 },
    ];
    const confidences = mentionConfidences(raw, spans);
    assert.deepEqual(Object.keys(confidences), ['BCL6', 'T cells']);
    assert.ok(Math.abs(confidences.BCL6! - Math.sqrt(0.5 * 0.8)) < 1e-12);
    assert.ok(Math.abs(confidences['T cells']! - Math.sqrt(0.4 * 0.9)) < 1e-12);
  });
});
