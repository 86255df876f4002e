// A recipe's corpora → train.jsonl and devel.jsonl of tokenised conv_term conversations, the
// Python trainer's only input. Test splits are never read here: they only report.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCorpus } from '../../src/corpora/index.js';
import type { Corpus } from '../../src/domain/types.js';
import { loadTokenizer, stopTokenIds } from '../../src/inference/onnx/chat-model.js';
import { mulberry32 } from '../../src/seeded-random.js';
import { loadPromptTemplate } from '../../src/stages/build-prompt.js';
import { EntityTypes } from '../../src/stages/entity-types.js';
import type { Recipe, RecipeCorpus, SplitSource } from './recipe.js';
import { corpusConversations, sample, tokeniseConversation, trainingSelection, type TokenisedConversation, type TrainingConversation } from './training-conversations.js';

export interface SplitStats {
  corpus: string;
  split: 'train' | 'devel';
  sentences: number;
  conversations: number;
  tokens: number;
  answer_tokens: number;
  empty_answers: number;
  answers: number;
  crossing_mentions: number;
}

export interface DatasetFiles {
  train: string;
  devel: string;
  stats: SplitStats[];
  /** Each corpus's guideline name → the canonical types it annotates (the model's guidelines.json). */
  guidelines: Record<string, string[]>;
}

/** Writes the dataset into `outDir`, tokenised by the model directory's own tokenizer and chat template. */
export async function buildDataset(recipe: Recipe, modelDir: string, outDir: string): Promise<DatasetFiles> {
  const tokenizer = await loadTokenizer(modelDir);
  const stops = stopTokenIds(modelDir);
  const baseTemplate = loadPromptTemplate(recipe.template);
  const entityTypes = EntityTypes.load();
  const random = mulberry32(recipe.seed);
  const stats: SplitStats[] = [];
  const lines = { train: [] as string[], devel: [] as string[] };
  const guidelines: Record<string, string[]> = {};

  for (const spec of recipe.corpora) {
    const labels = entityTypes.corpusLabels(spec.labels);
    if (!labels) throw new Error(`recipe ${recipe.name}: config/entity-types.json has no corpus "${spec.labels}"`);
    const types = [...new Set(Object.values(labels))];
    guidelines[spec.name] = types;
    const typeOf = (label: string) => {
      const type = labels[label];
      if (type === undefined) throw new Error(`${spec.name}: label "${label}" is not in entity-types.json corpora.${spec.labels}`);
      return type;
    };
    const template = { ...baseTemplate, dataset: spec.name };
    for (const split of ['train', 'devel'] as const) {
      const sources = split === 'train' ? spec.train : [spec.devel];
      const conversations: TrainingConversation[] = [];
      let crossing = 0;
      for (const source of sources) {
        const read = corpusConversations(await readSplit(source), spec.name, types, typeOf, random);
        conversations.push(...read.conversations);
        crossing += read.crossingMentions;
      }
      // Devel keeps the corpus's own share of empty answers: it measures, it does not teach.
      const kept = split === 'train' ? trainingSelection(conversations, spec, random) : sample(conversations, recipe.devel_cap, random);
      const tokenised = kept.map((c) => tokeniseConversation(tokenizer, stops, template, c));
      lines[split].push(...tokenised.map((t) => JSON.stringify(t)));
      stats.push(splitStats(spec, split, conversations.length, crossing, tokenised));
    }
  }
  await mkdir(outDir, { recursive: true });
  const files = { train: join(outDir, 'train.jsonl'), devel: join(outDir, 'devel.jsonl'), stats, guidelines };
  // The trainer shuffles; the file keeps corpora apart so it can be read by eye.
  await writeFile(files.train, `${lines.train.join('\n')}\n`);
  await writeFile(files.devel, `${lines.devel.join('\n')}\n`);
  await writeFile(join(outDir, 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
  return files;
}

async function readSplit(source: SplitSource): Promise<Corpus> {
  const corpus = await readCorpus(source.file, source.format);
  if (source.folds === undefined) return corpus;
  const use = new Set(source.use ?? []);
  const documents = corpus.documents.filter((_, i) => use.has(i % source.folds!));
  const kept = new Set(documents.map((d) => d.id));
  return { ...corpus, documents, mentions: corpus.mentions.filter((m) => kept.has(m.docId)) };
}

function splitStats(spec: RecipeCorpus, split: 'train' | 'devel', sentences: number, crossing: number,
  tokenised: TokenisedConversation[]): SplitStats {
  const answers = tokenised.flatMap((t) => t.gold);
  return {
    corpus: spec.name,
    split,
    sentences,
    conversations: tokenised.length,
    tokens: tokenised.reduce((n, t) => n + t.ids.length, 0),
    answer_tokens: tokenised.reduce((n, t) => n + t.answer_spans.reduce((m, [s, e]) => m + e - s, 0), 0),
    empty_answers: answers.filter((a) => a.length === 0).length,
    answers: answers.length,
    crossing_mentions: crossing,
  };
}
