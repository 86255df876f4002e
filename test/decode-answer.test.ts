import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAnswer } from '../src/stages/decode-answer.js';

const cases: Array<[string, string, string[], string]> = [
  ['empty list', 'Answer: []', [], 'ok'],
  ['one string', 'Answer: ["BCL6"]', ['BCL6'], 'ok'],
  ['brackets inside a name', 'Answer: ["[3H]thymidine", "IL-2"]', ['[3H]thymidine', 'IL-2'], 'ok'],
  ['closing bracket inside a name', 'Answer: ["a]b"]', ['a]b'], 'ok'],
  ['no prefix (UniversalNER)', '["breast cancer"]', ['breast cancer'], 'ok'],
  ['prefix in another case and text after', 'answer: ["x"] Done.', ['x'], 'ok'],
  ['escapes', 'Answer: ["5\\u0027-UTR", "a \\"b\\""]', ["5'-UTR", 'a "b"'], 'ok'],
  ['truncated inside a string', 'Answer: ["ataxia", "breast can', ['ataxia'], 'truncated'],
  ['truncated after a string', 'Answer: ["ataxia", "cancer"', ['ataxia', 'cancer'], 'truncated'],
  ['truncated on an escape', 'Answer: ["a\\', [], 'truncated'],
  ['python quotes', "Answer: ['colon cancer', 'APC']", ['colon cancer', 'APC'], 'ok'],
  ['apostrophe in a python literal', "Answer: ['Crohn's disease']", ["Crohn's disease"], 'ok'],
  ['bare words', 'Answer: [cancer, "tumour"]', ['tumour'], 'malformed'],
  ['duplicates and blanks', 'Answer: ["a", " a ", ""]', ['a'], 'ok'],
  ['no list', 'There are no diseases.', [], 'unparseable'],
  ['empty reply', '', [], 'unparseable'],
];

for (const [name, raw, mentions, status] of cases) {
  test(`decodeAnswer: ${name}`, () => {
    assert.deepEqual(decodeAnswer(raw), { mentions, status });
  });
}
