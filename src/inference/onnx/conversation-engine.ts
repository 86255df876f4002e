// Answers queries inside an inference worker. Each query becomes conversations the generation
// loop runs: conv_term asks one conversation for every type in turn; UniversalNER-style
// templates (`multi_turn: false`) ask one single-turn conversation per type, whose shared
// prefix the scheduler feeds once. Calls run at once and share the loop's batch.
import type { PromptTemplate } from '../../domain/prompt-template.js';
import type { Answer, Query } from '../../domain/types.js';
import type { InferenceStats } from '../../observability/inference-stats.js';
import { dialoguesOf, type Dialogue } from '../../stages/conversation-turns.js';
import { mentionConfidences, type TokenSpan } from '../mention-confidence.js';
import { AnswerGrammar } from './answer-grammar.js';
import type { ChatModel } from './chat-model.js';
import { ConstrainedPicker } from './constrained-picker.js';
import { Forward } from './forward.js';
import { GenerationLoop } from './generation-loop.js';
import type { EngineFeatures, GenerationSchedulerOptions } from './generation-scheduler.js';
import type { RunStats } from './run-cost.js';
import type { GeneratedTurn, Sequence, TurnRequest } from './sequence.js';
import { greedyPicker } from './token-picker.js';
import type { Vocabulary } from './vocabulary.js';

export interface AnswerSettings {
  template: PromptTemplate;
  features: EngineFeatures;
  /** Answers limited to the template's answer prefix and a JSON list of strings from the sentence. */
  constrained: boolean;
  maxNewTokens: number;
}

export interface AnsweredBatch {
  answers: Answer[][];
  stats: InferenceStats;
}

export interface EngineOptions extends GenerationSchedulerOptions {
  /** Most token positions one forward pass may feed. */
  prefillChunkTokens: number;
}

export class ConversationEngine {
  readonly loop: GenerationLoop;

  constructor(
    private readonly model: ChatModel,
    options: EngineOptions,
  ) {
    const forward = new Forward(model.session, model.padTokenId, options.prefillChunkTokens);
    this.loop = new GenerationLoop(forward, model.layout, model.stopTokenIds, options);
  }

  async answer(queries: readonly Query[], settings: AnswerSettings): Promise<AnsweredBatch> {
    if (settings.constrained && !this.model.vocabulary) {
      throw new Error('constrained decoding needs a byte-level BPE tokenizer; run this model with --constrained off');
    }
    const byQuery = queries.map((query) =>
      dialoguesOf(settings.template, query).map((dialogue) => new Conversation(this.model, settings, query.sentence.text, dialogue)));
    const run = await this.loop.run(byQuery.flat(), settings.features);
    const answers = byQuery.map((conversations) => conversations.flatMap((c) => c.answers));
    return { answers, stats: inferenceStats(run, answers.reduce((n, a) => n + a.length, 0)) };
  }
}

/** What a run cost, as the metrics count it. */
export function inferenceStats(run: RunStats, answers: number): InferenceStats {
  return { batches: 1, answers, ...run };
}

/** One query's conversation, fed to the generation loop a turn at a time: each prompt the whole chat so far. */
class Conversation implements Sequence {
  readonly answers: Answer[] = [];
  private grammar: AnswerGrammar | null = null;

  constructor(
    private readonly model: ChatModel,
    private readonly settings: AnswerSettings,
    private readonly text: string,
    private readonly dialogue: Dialogue,
  ) {}

  nextTurn(previous: GeneratedTurn | null): TurnRequest | null {
    if (previous) {
      const answer = { type: this.dialogue.asking!, ...this.answerOf(previous) };
      this.dialogue.answer(answer.raw);
      this.answers.push(answer);
    }
    const chat = this.dialogue.next();
    if (!chat) return null;
    const { template, constrained, maxNewTokens } = this.settings;
    this.grammar = new AnswerGrammar(template.answer_prefix, this.text);
    const picker = constrained ? new ConstrainedPicker(this.model.vocabulary!, this.grammar, this.model.stopTokenIds) : greedyPicker;
    return { prompt: this.model.encode(chat), picker, maxNewTokens };
  }

  private answerOf(turn: GeneratedTurn): Omit<Answer, 'type'> {
    const decoded = this.model.decode(turn.tokens);
    // A constrained answer cut off by the token limit is closed rather than left truncated.
    const raw = this.settings.constrained && turn.finishReason === 'length' ? this.grammar!.repair(decoded) : decoded;
    const spans = this.model.vocabulary && tokenSpans(this.model.vocabulary, turn, decoded);
    return spans ? { raw, confidences: mentionConfidences(raw, spans) } : { raw };
  }
}

/** Where each generated token lies in the decoded text; null if the bytes do not decode to it. */
function tokenSpans(vocabulary: Vocabulary, turn: GeneratedTurn, decoded: string): TokenSpan[] | null {
  const decoder = new TextDecoder();
  let text = '';
  const spans = turn.tokens.map((token, i) => {
    const start = text.length;
    const bytes = vocabulary.bytes(token);
    if (bytes) text += decoder.decode(bytes, { stream: true });
    return { start, end: text.length, probability: turn.probabilities[i]! };
  });
  text += decoder.decode();
  return text === decoded ? spans : null;
}
