import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePromptTemplate } from '../src/domain/prompt-template.js';

test('a bad prompt template is refused in one line that names the field', () => {
  const base = { name: 't', first_turn: 'Text: {text} Type: {type}', next_turn: 'Type: {type}', multi_turn: true };
  assert.deepEqual(parsePromptTemplate(base, 'T'), { ...base, dataset: '', instruction: '', format: '', preamble: [], type_labels: {}, answer_prefix: '' });
  const cases: [unknown, string][] = [
    [[], 'T is not an object'],
    [{ name: 't' }, 'T lacks "first_turn"'],
    [{ ...base, multi_turn: 'yes' }, 'T: "multi_turn" must be true or false'],
    [{ ...base, dataset: 3 }, 'T: "dataset" must be a string'],
    [{ ...base, type_labels: { disease: 1 } }, 'T: "type_labels.disease" Invalid input: expected string, received number'],
  ];
  for (const [value, message] of cases) assert.throws(() => parsePromptTemplate(value, 'T'), { message });
});
