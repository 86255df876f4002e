import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conversationFor, loadPromptTemplate } from '../src/stages/build-prompt.js';

const text = 'BCL6 is expressed in Jurkat cells.';
const convTerm = loadPromptTemplate('conv_term');
const universalNer = loadPromptTemplate('universalner');

test('conv_term: the first user turn holds instruction, format, text and first type', () => {
  const [first, ...rest] = conversationFor(convTerm, text, ['cell_line', 'protein'], []);
  assert.equal(rest.length, 0);
  assert.equal(first!.role, 'user');
  assert.equal(
    first!.content,
    'The task you need to complete is named entity recognition. Follow BioNER guidelines.\n' +
      `${convTerm.format}\nText: ${text}\nType: cell_line`,
  );
});

test('conv_term: each later turn asks one more type after the earlier answers', () => {
  const conversation = conversationFor(convTerm, text, ['cell_line', 'protein', 'dna'], ['Answer: []', 'Answer: ["BCL6"]']);
  assert.deepEqual(conversation.slice(1), [
    { role: 'assistant', content: 'Answer: []' },
    { role: 'user', content: 'Type: protein' },
    { role: 'assistant', content: 'Answer: ["BCL6"]' },
    { role: 'user', content: 'Type: DNA' },
  ]);
});

test('UniversalNER: text read once, each type asked on its own right after it', () => {
  const conversation = conversationFor(universalNer, text, ['cell_line', 'protein'], ['["Jurkat"]']);
  assert.deepEqual(conversation, [
    { role: 'system', content: 'A virtual assistant answers questions from a user based on the provided text.' },
    { role: 'user', content: `Text: ${text}` },
    { role: 'assistant', content: "I've read this text." },
    { role: 'user', content: 'What describes protein in the text?' },
  ]);
});

test('placeholders in the text are left alone', () => {
  const [first] = conversationFor(convTerm, 'a {type} b {text}', ['disease'], []);
  assert.match(first!.content, /Text: a \{type\} b \{text\}\nType: disease$/);
});

test('asking past the last type is an error', () => {
  assert.throws(() => conversationFor(convTerm, text, ['disease'], ['Answer: []']), /no type left/);
});
