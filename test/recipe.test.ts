import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CORPUS_FORMATS } from '../src/corpora/index.js';
import { projectPath } from '../src/project.js';
import { DEFAULT_RECIPE } from '../tools/train/train-command.js';
import { loadRecipe } from '../tools/train/recipe.js';

test('the shipped recipe loads: files under the project root, each split in its corpus format unless it names its own', () => {
  const recipe = loadRecipe(DEFAULT_RECIPE);
  const bc5cdr = recipe.corpora.find((c) => c.name === 'BC5CDR')!;
  assert.deepEqual(bc5cdr.train[0], { file: projectPath('..', 'shared', 'data', 'bc5cdr-pubtator', 'train.pubtator'), format: 'pubtator' });
  assert.equal(bc5cdr.test?.format, 'iob');
  assert.deepEqual(recipe.corpora.find((c) => c.name === 'JNLPBA')!.devel.use, [0]);
});

/** `recipe` with the value at `path` replaced, or removed when `value` is undefined. */
function spoiled(recipe: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(recipe) as Record<string | number, unknown>;
  const parent = path.slice(0, -1).reduce((at, key) => at[key] as Record<string | number, unknown>, copy);
  if (value === undefined) delete parent[path.at(-1)!];
  else parent[path.at(-1)!] = value;
  return copy;
}

test('a bad recipe is refused in one line that names the field', async () => {
  const shipped: unknown = JSON.parse(await readFile(DEFAULT_RECIPE, 'utf8'));
  const file = join(await mkdtemp(join(tmpdir(), 'bioner-recipe-')), 'recipe.json');
  const cases: [(string | number)[], unknown, string][] = [
    [['corpora', 0, 'labels'], undefined, `${file} lacks "corpora[0].labels"`],
    [['corpora', 1, 'cap'], 0, `${file}: "corpora[1].cap" must be a positive integer`],
    [['corpora', 2, 'devel'], 5, `${file}: "corpora[2].devel" must be a file or {file, format, folds, use}`],
    [['corpora', 2, 'train', 'format'], 'xml', `${file}: "corpora[2].train[0].format" must be one of ${CORPUS_FORMATS.join(', ')}`],
    [['corpora', 1, 'train'], [], `${file}: "corpora[1].train" must name at least one file`],
    [['corpora', 5, 'max_empty_share'], 2, `${file}: "corpora[5].max_empty_share" must be between 0 and 1`],
    [['corpora', 2, 'repeat'], 1.5, `${file}: "corpora[2].repeat" must be a positive integer`],
    [['corpora'], [], `${file}: "corpora" must list at least one corpus`],
    [['training', 'epochs'], null, `${file}: "training.epochs" must be a number, a string, or true or false`],
  ];
  for (const [path, value, message] of cases) {
    await writeFile(file, JSON.stringify(spoiled(shipped, path, value)));
    assert.throws(() => loadRecipe(file), { message });
  }
});
