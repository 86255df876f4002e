// The conv_term turn loop, written once for every way of running a model: the engine steps it
// from its generation loop, the OpenAI-compatible backend and the benchmark's peers ask through it.
// A multi-turn template asks one conversation through all of a query's types, each turn on top
// of the answers so far; a single-turn template asks one conversation per type.
import type { PromptTemplate } from '../domain/prompt-template.js';
import type { Answer, ChatMessage, Query } from '../domain/types.js';
import { conversationFor, withGuidelines } from './build-prompt.js';

/** One conversation of a query: the chat asking each of its types in turn. */
export class Dialogue {
  private readonly raws: string[] = [];

  constructor(
    private readonly template: PromptTemplate,
    private readonly text: string,
    readonly types: readonly string[],
  ) {}

  /** The type the next chat asks for; undefined once every type has its answer. */
  get asking(): string | undefined {
    return this.types[this.raws.length];
  }

  /** The chat asking for the next type, ending on that user turn; null once every type has its answer. */
  next(): ChatMessage[] | null {
    return this.asking === undefined ? null : conversationFor(this.template, this.text, this.types, this.raws);
  }

  /** The assistant's turn for the type `next` asked. */
  answer(raw: string): void {
    this.raws.push(raw);
  }
}

/** A query's conversations under its guidelines: one through all its types, or one per type. */
export function dialoguesOf(template: PromptTemplate, query: Query): Dialogue[] {
  const asked = withGuidelines(template, query.guidelines);
  const { text } = query.sentence;
  return asked.multi_turn ? [new Dialogue(asked, text, query.types)] : query.types.map((type) => new Dialogue(asked, text, [type]));
}

/**
 * A query's answers, one per type in its order, from a model that completes one chat at a time.
 * The turns of a conversation wait for each other; separate conversations run side by side.
 */
export async function askInTurns(template: PromptTemplate, query: Query, complete: (chat: ChatMessage[]) => Promise<string>): Promise<Answer[]> {
  const answered = await Promise.all(dialoguesOf(template, query).map(async (dialogue) => {
    const answers: Answer[] = [];
    for (let chat = dialogue.next(); chat; chat = dialogue.next()) {
      const type = dialogue.asking!;
      const raw = await complete(chat);
      dialogue.answer(raw);
      answers.push({ type, raw });
    }
    return answers;
  }));
  return answered.flat();
}
