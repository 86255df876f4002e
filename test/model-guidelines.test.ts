import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GUIDELINES_FILE, modelGuidelines } from '../src/inference/model-guidelines.js';

test('the guidelines asked for are the model corpus whose types fit the request best', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bioner-guidelines-'));
  await writeFile(join(dir, GUIDELINES_FILE), JSON.stringify({
    'NCBI-disease': ['disease'],
    BC5CDR: ['chemical', 'disease'],
    JNLPBA: ['protein', 'dna', 'rna', 'cell_type', 'cell_line'],
    BC2GM: ['gene'],
  }));
  assert.equal(modelGuidelines(dir, ['disease']), 'NCBI-disease');
  assert.equal(modelGuidelines(dir, ['chemical', 'disease']), 'BC5CDR');
  assert.equal(modelGuidelines(dir, ['chemical']), 'BC5CDR');
  assert.equal(modelGuidelines(dir, ['protein', 'dna']), 'JNLPBA');
  assert.equal(modelGuidelines(dir, ['disease', 'gene']), 'NCBI-disease', 'a tie goes to the first listed');
  assert.equal(modelGuidelines(dir, ['species']), undefined, 'no corpus annotates it: the template keeps its own');
  assert.equal(modelGuidelines('oracle:gold.pubtator', ['disease']), undefined);
});
