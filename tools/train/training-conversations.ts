// conv_term training conversations, built by the code that prompts the model at inference: the
// sentence splitter, the prompt template (build-prompt), the model's chat template and its
// tokenizer. So the ids a model is trained on are, turn by turn, the ids the engine feeds it.
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import type { ChatMessage, Corpus, Sentence } from '../../src/domain/types.js';
import { encodeChat } from '../../src/inference/onnx/chat-model.js';
import type { PromptTemplate } from '../../src/domain/prompt-template.js';
import { answerTurn, conversationFor } from '../../src/stages/build-prompt.js';
import { splitSentences } from '../../src/stages/split-sentences.js';
import type { RecipeCorpus } from './recipe.js';

/** One sentence asked about every type of its corpus; `answers[i]` are the gold strings of `types[i]`. */
export interface TrainingConversation {
  corpus: string;
  sentence: Sentence;
  types: string[];
  answers: string[][];
}

/** A conversation as token ids, with the positions the loss is taken on. */
export interface TokenisedConversation {
  corpus: string;
  ids: number[];
  /** [start, end) of each assistant turn: its answer tokens and its end-of-turn token. */
  answer_spans: [number, number][];
  types: string[];
  gold: string[][];
}

/**
 * Every sentence of the corpus as a conversation, its types in a shuffled order (so the model
 * does not learn one order), types absent from the sentence asked too and answered `[]`.
 * `typeOf` maps the corpus's labels to canonical types.
 */
export function corpusConversations(
  corpus: Corpus,
  name: string,
  types: readonly string[],
  typeOf: (label: string) => string,
  random: () => number,
): {
  conversations: TrainingConversation[];
  /** Gold mentions that cross a sentence boundary, so no conversation can ask for them. */
  crossingMentions: number;
} {
  const mentionsOf = new Map<string, Corpus['mentions']>();
  for (const m of corpus.mentions) (mentionsOf.get(m.docId) ?? mentionsOf.set(m.docId, []).get(m.docId)!).push(m);
  const conversations: TrainingConversation[] = [];
  let crossing = 0;
  for (const document of corpus.documents) {
    const mentions = (mentionsOf.get(document.id) ?? []).toSorted((a, b) => a.start - b.start || a.end - b.end);
    const sentences = splitSentences(document);
    const placed = new Set<number>();
    for (const sentence of sentences) {
      const asked = shuffled(types, random);
      const answers = asked.map((type) => {
        const strings = mentions.flatMap((m, i) => {
          if (m.start < sentence.start || m.end > sentence.end || typeOf(m.type) !== type) return [];
          placed.add(i);
          return [m.text];
        });
        return [...new Set(strings)];
      });
      conversations.push({ corpus: name, sentence, types: asked, answers });
    }
    crossing += mentions.length - placed.size;
  }
  return { conversations, crossingMentions: crossing };
}

/**
 * The whole conversation as ids, checked against the engine's rendering: for every turn, the
 * prompt the engine would feed (through `conversationFor` and the chat template, with the
 * earlier answers given) must be a prefix of the transcript; the loss span is what follows it
 * up to and including the end-of-turn token.
 */
export function tokeniseConversation(
  tokenizer: PreTrainedTokenizer,
  stopTokenIds: readonly number[],
  template: PromptTemplate,
  conversation: TrainingConversation,
): TokenisedConversation {
  const { sentence, types } = conversation;
  const answers = conversation.answers.map((strings) => answerTurn(template, strings));
  const transcript: ChatMessage[] = [
    ...conversationFor(template, sentence.text, types, answers.slice(0, -1)),
    { role: 'assistant', content: answers.at(-1)! },
  ];
  const ids = encodeChat(tokenizer, transcript, false);
  const answer_spans = types.map((_, turn): [number, number] => {
    const prompt = encodeChat(tokenizer, conversationFor(template, sentence.text, types, answers.slice(0, turn)));
    if (prompt.some((id, i) => ids[i] !== id)) {
      throw new Error(`${sentence.docId}#${sentence.index}: the chat template renders turn ${turn + 1} differently in the ` +
        'transcript than as a prompt, so training ids would not be the ids the engine feeds');
    }
    const end = ids.findIndex((id, i) => i >= prompt.length && stopTokenIds.includes(id));
    if (end < 0) throw new Error(`${sentence.docId}#${sentence.index}: turn ${turn + 1} has no end-of-turn token`);
    return [prompt.length, end + 1];
  });
  return { corpus: conversation.corpus, ids, answer_spans, types, gold: conversation.answers };
}

/** Fisher–Yates over a copy, from the seeded stream. */
function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** `n` items drawn without replacement, in their original order. */
export function sample<T>(items: readonly T[], n: number, random: () => number): T[] {
  if (items.length <= n) return [...items];
  const picked = new Set(shuffled(items.map((_, i) => i), random).slice(0, n));
  return items.filter((_, i) => picked.has(i));
}

/**
 * At most `n` conversations drawn as `sample` does, but with at most `maxEmptyShare` of them
 * answering `[]` to every type.
 */
export function sampleBalanced(items: readonly TrainingConversation[], n: number, maxEmptyShare: number,
  random: () => number): TrainingConversation[] {
  const isEmpty = (c: TrainingConversation) => c.answers.every((a) => a.length === 0);
  const named = items.filter((c) => !isEmpty(c));
  const empty = items.filter(isEmpty);
  const keptNamed = sample(named, Math.min(named.length, n - Math.min(empty.length, Math.floor(maxEmptyShare * n))), random);
  // e empties among e + k conversations: e / (e + k) <= share  <=>  e <= share * k / (1 - share)
  const room = maxEmptyShare >= 1 ? n : Math.floor((maxEmptyShare * keptNamed.length) / (1 - maxEmptyShare));
  const kept = new Set([...keptNamed, ...sample(empty, Math.min(room, n - keptNamed.length), random)]);
  return items.filter((c) => kept.has(c));
}

/** A corpus's training conversations: at most `cap`, balanced if the recipe says so, each `repeat` times. */
export function trainingSelection(items: readonly TrainingConversation[], spec: Pick<RecipeCorpus, 'cap' | 'max_empty_share' | 'repeat'>,
  random: () => number): TrainingConversation[] {
  const kept = spec.max_empty_share === undefined
    ? sample(items, spec.cap, random)
    : sampleBalanced(items, spec.cap, spec.max_empty_share, random);
  return Array.from({ length: spec.repeat ?? 1 }, () => kept).flat();
}
