// Answers a batch of queries inside an inference worker. All conversations advance through
// their types in lockstep, one generation per turn for the whole batch, and the KV cache
// spares the model every token it has already seen:
//  - multi-turn (conv_term): each turn feeds only what the cached conversation lacks;
//  - independent (UniversalNER): the prefix a sentence's prompts share is prefilled once and
//    its cache forked across the types, all of which are then generated as one batch.
// Every prompt is rendered and tokenised in full, exactly as the naive way does, and the cache
// is cut back to the longest prefix it shares with that: so the tokens fed are by construction
// those of the full prompt, whatever the chat template or tokenizer does at turn boundaries,
// and anything the prompt does not contain (an end-of-turn token, a repaired answer's tail)
// never stays in a cache that is reused. `naive` mode keeps nothing between turns.
import type { PromptTemplate } from '../../domain/prompt-template.js';
import type { Answer, Query } from '../../domain/types.js';
import { noInference, type InferenceStats } from '../../observability/inference-stats.js';
import { conversationFor } from '../../stages/build-prompt.js';
import { mentionConfidences, type TokenSpan } from '../mention-confidence.js';
import { AnswerGrammar } from './answer-grammar.js';
import type { ChatModel } from './chat-model.js';
import { ConstrainedPicker } from './constrained-picker.js';
import { Forward, generateFrom, type ContinuedRow, type ForwardShape } from './generate.js';
import { KvCache, type CachedRow, type RowSource } from './kv-cache.js';
import { greedyPicker } from './token-picker.js';
import type { Vocabulary } from './vocabulary.js';

/** naive: every turn rendered in full and prefilled from scratch; reuse: only what the cache lacks is fed. */
export type InferenceMode = 'naive' | 'reuse';
export const INFERENCE_MODES: readonly InferenceMode[] = ['naive', 'reuse'];

export interface AnswerSettings {
  template: PromptTemplate;
  inferenceMode: InferenceMode;
  /** Answers limited to the template's answer prefix and a JSON list of strings from the sentence. */
  constrained: boolean;
  maxNewTokens: number;
}

export interface AnsweredBatch {
  answers: Answer[][];
  stats: InferenceStats;
  /** The forward passes it took, in order (the benchmark's roofline replays them). */
  forwards: ForwardShape[];
}

export class ConversationEngine {
  constructor(
    private readonly model: ChatModel,
    /** Most token positions one forward pass may feed (see Forward). */
    private readonly prefillChunkTokens: number,
  ) {}

  async answer(queries: readonly Query[], settings: AnswerSettings): Promise<AnsweredBatch> {
    if (settings.constrained && !this.model.vocabulary) {
      throw new Error('constrained decoding needs a byte-level BPE tokenizer; run this model unconstrained');
    }
    // A Forward per call: its input buffers are reused across the call's steps, never shared between calls.
    const batch = new Batch(this.model, settings, new Forward(this.model.session, this.model.padTokenId, this.prefillChunkTokens));
    const answers = settings.template.multi_turn ? await multiTurn(batch, queries) : await independent(batch, queries);
    return { answers, stats: batch.stats(answers.reduce((n, a) => n + a.length, 0)), forwards: batch.forwards };
  }
}

/** conv_term: turn t of every conversation that has a type t, on top of its cached turns. */
async function multiTurn(batch: Batch, queries: readonly Query[]): Promise<Answer[][]> {
  const answers: Answer[][] = queries.map(() => []);
  const start = KvCache.empty(batch.model.layout, queries.length);
  const cached: CachedRow[] = queries.map((_, row) => ({ cache: start, row }));
  for (let step = 0; ; step++) {
    const asking = queries.flatMap((q, i) => (step < q.types.length ? [i] : []));
    if (asking.length === 0) return answers;
    const prompts = asking.map((i) =>
      batch.prompt(queries[i]!, queries[i]!.types, answers[i]!.map((a) => a.raw)),
    );
    const sources = asking.map((i, k) => ({ ...cached[i]!, keep: batch.reusable(cached[i]!, prompts[k]!) }));
    const rows = await batch.generate(sources, prompts, asking.map((i) => queries[i]!));
    asking.forEach((i, k) => {
      answers[i]!.push({ type: queries[i]!.types[step]!, ...rows[k]!.answer });
      cached[i] = rows[k]!.cache;
    });
  }
}

/** UniversalNER-style: every (sentence, type) prompt at once, forked from its sentence's shared prefix. */
async function independent(batch: Batch, queries: readonly Query[]): Promise<Answer[][]> {
  const asked = queries.flatMap((query, i) => query.types.map((type) => ({ query: i, type })));
  const prompts = asked.map(({ query, type }) => batch.prompt(queries[query]!, [type], []));
  const promptsOf = (i: number) => prompts.filter((_, k) => asked[k]!.query === i);
  // A sentence asked about one type has nothing to share: a prefix pass would only add a step.
  const shared = queries.map((q, i) => (batch.reuses && q.types.length > 1 ? sharedPrefixLength(promptsOf(i)) : 0));

  const prefixed = queries.flatMap((_, i) => (shared[i]! > 0 ? [i] : []));
  const prefixes = KvCache.empty(batch.model.layout, prefixed.length);
  if (prefixed.length > 0) await batch.prefill(prefixes, prefixed.map((i) => promptsOf(i)[0]!.slice(0, shared[i]!)));
  const none: RowSource = { cache: KvCache.empty(batch.model.layout, 1), row: 0, keep: 0 };
  const sources = asked.map(({ query }) =>
    shared[query]! > 0 ? { cache: prefixes, row: prefixed.indexOf(query), keep: shared[query]! } : none,
  );
  const rows = await batch.generate(sources, prompts, asked.map(({ query }) => queries[query]!));

  const answers: Answer[][] = queries.map(() => []);
  asked.forEach(({ query, type }, k) => answers[query]!.push({ type, ...rows[k]!.answer }));
  return answers;
}

/** The turns of one engine call: prompts, generation and what they cost. */
class Batch {
  private readonly counts = noInference();

  constructor(
    readonly model: ChatModel,
    private readonly settings: AnswerSettings,
    private readonly forward: Forward,
  ) {}

  get reuses(): boolean {
    return this.settings.inferenceMode === 'reuse';
  }

  /** The full prompt asking for `types[answers.length]`, tokenised. */
  prompt(query: Query, types: readonly string[], answers: readonly string[]): number[] {
    return this.model.encode(conversationFor(this.settings.template, query.sentence.text, types, answers));
  }

  /** How many of the row's cached tokens the prompt starts with (at least one prompt token is left to feed). */
  reusable({ cache, row }: CachedRow, prompt: readonly number[]): number {
    return this.reuses ? commonPrefixLength([cache.tokens[row]!, prompt], prompt.length - 1) : 0;
  }

  async prefill(cache: KvCache, pending: number[][]): Promise<void> {
    this.counts.promptTokens += pending.reduce((n, p) => n + p.length, 0);
    await this.forward.prefill(cache, pending);
  }

  /** Feeds each prompt on top of its source row's first `keep` tokens and generates the answers. */
  async generate(
    sources: readonly RowSource[],
    prompts: readonly number[][],
    queries: readonly Query[],
  ): Promise<{ answer: Omit<Answer, 'type'>; cache: CachedRow }[]> {
    const pending = prompts.map((prompt, k) => prompt.slice(sources[k]!.keep));
    this.counts.promptTokens += pending.reduce((n, p) => n + p.length, 0);
    this.counts.cachedPromptTokens += sources.reduce((n, s) => n + s.keep, 0);
    const { model, settings } = this;
    const grammars = queries.map((q) => new AnswerGrammar(settings.template.answer_prefix, q.sentence.text));
    const picker = settings.constrained ? new ConstrainedPicker(model.vocabulary!, grammars, model.stopTokenIds) : greedyPicker;
    const rows = await generateFrom(this.forward, KvCache.gather(model.layout, sources), pending, {
      maxNewTokens: settings.maxNewTokens,
      stopTokenIds: model.stopTokenIds,
      padTokenId: model.padTokenId,
      picker,
    });
    this.counts.generatedTokens += rows.reduce((n, r) => n + r.tokens.length, 0);
    if (picker instanceof ConstrainedPicker) this.counts.constraintOverrides += picker.overrides;
    return rows.map((row, k) => ({ answer: this.answerOf(row, grammars[k]!), cache: row.cache }));
  }

  /** What the batch cost, once its `answers` are in. */
  stats(answers: number): InferenceStats {
    return { ...this.counts, batches: 1, answers, forwardSeconds: this.forward.forwardMs / 1000 };
  }

  get forwards(): ForwardShape[] {
    return this.forward.trace;
  }

  private answerOf(row: ContinuedRow, grammar: AnswerGrammar): Omit<Answer, 'type'> {
    const decoded = this.model.decode(row.tokens);
    // A constrained answer cut off by the token limit is closed rather than left truncated.
    const raw = this.settings.constrained && row.finishReason === 'length' ? grammar.repair(decoded) : decoded;
    const spans = this.model.vocabulary && tokenSpans(this.model.vocabulary, row, decoded);
    return spans ? { raw, confidences: mentionConfidences(raw, spans) } : { raw };
  }
}

/** Where each generated token lies in the decoded text; null if the bytes do not decode to it. */
function tokenSpans(vocabulary: Vocabulary, row: ContinuedRow, decoded: string): TokenSpan[] | null {
  const decoder = new TextDecoder();
  let text = '';
  const spans = row.tokens.map((token, i) => {
    const start = text.length;
    const bytes = vocabulary.bytes(token);
    if (bytes) text += decoder.decode(bytes, { stream: true });
    return { start, end: text.length, probability: row.probabilities[i]! };
  });
  text += decoder.decode();
  return text === decoded ? spans : null;
}

/** The longest prefix common to a sentence's prompts, leaving each at least one token to feed. */
function sharedPrefixLength(prompts: readonly (readonly number[])[]): number {
  return commonPrefixLength(prompts, Math.min(...prompts.map((p) => p.length)) - 1);
}

function commonPrefixLength(sequences: readonly (readonly number[])[], limit: number): number {
  const [first, ...rest] = sequences;
  let n = 0;
  while (n < limit && rest.every((s) => s[n] === first![n])) n++;
  return n;
}
