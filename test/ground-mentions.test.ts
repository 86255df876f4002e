import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sentence } from '../src/domain/types.js';
import { groundMentions, locate } from '../src/stages/ground-mentions.js';

const docText = 'Intro. Breast cancer and ovarian cancer; cancer recurs in BRCA1 carriers (BRCA1+).';
const start = docText.indexOf('Breast');
const sentence: Sentence = { docId: 'd', index: 1, start, end: docText.length, text: docText.slice(start) };

test('grounding gives document offsets that slice back to the text', () => {
  const { grounded, ungrounded } = groundMentions(sentence, ['Breast cancer', 'BRCA1']);
  assert.deepEqual(ungrounded, []);
  for (const g of grounded) assert.equal(docText.slice(g.start, g.end), g.text);
  assert.deepEqual(
    grounded.map((g) => g.text),
    ['Breast cancer', 'BRCA1', 'BRCA1'],
    'a repeated mention is grounded at every occurrence',
  );
});

test('a string that is not in the sentence is ungrounded, not guessed', () => {
  const { grounded, ungrounded } = groundMentions(sentence, ['lung cancer', 'Breast cancer']);
  assert.deepEqual(ungrounded, ['lung cancer']);
  assert.deepEqual(grounded.map((g) => g.mention), ['Breast cancer']);
});

test('case and whitespace differences still ground, to the sentence own text', () => {
  const [g] = groundMentions(sentence, ['breast  CANCER']).grounded;
  assert.equal(g?.text, 'Breast cancer');
  const spaced: Sentence = { docId: 'd', index: 0, start: 0, end: 12, text: 'IL - 2 rises' };
  assert.equal(groundMentions(spaced, ['IL-2']).grounded[0]?.text, 'IL - 2');
});

test('whole-word occurrences win over matches inside words', () => {
  assert.deepEqual(locate('ALL patients with ALLergy', 'ALL'), [[0, 3]]);
  assert.deepEqual(locate('anti-BRCA1antibody', 'BRCA1'), [[5, 10]], 'inside a word only as a last resort');
});

test('a nested mention keeps its standalone occurrences, and stays when it only occurs nested', () => {
  const spans = (mentions: string[]) =>
    groundMentions(sentence, mentions).grounded.map((g) => [g.mention, g.text, g.start - start]);
  assert.deepEqual(spans(['ovarian cancer', 'cancer']), [
    ['ovarian cancer', 'ovarian cancer', 18],
    ['cancer', 'cancer', 7],
    ['cancer', 'cancer', 34],
  ]);
  assert.deepEqual(spans(['BRCA1 carriers', 'carriers']), [
    ['BRCA1 carriers', 'BRCA1 carriers', 51],
    ['carriers', 'carriers', 57],
  ]);
});
